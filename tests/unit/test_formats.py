"""What a body's first bytes say it is, against the declared fileType."""

from __future__ import annotations

import pytest

from app.importing.formats import FileType, contradiction
from tests.factories import contract_csv, make_xlsx


def test_csv_and_xlsx_bodies_match_their_declared_types() -> None:
    assert contradiction(FileType.CSV, contract_csv()) is None
    assert contradiction(FileType.XLSX, make_xlsx([["1"]])) is None


@pytest.mark.parametrize(
    ("declared", "body", "message"),
    [
        (FileType.CSV, make_xlsx([["1"]]), "fileType is CSV but the body is a ZIP archive (XLSX or ZIP)"),
        (FileType.XLSX, b"SKU Number,Product Title\n", "fileType is XLSX but the body is text"),
        (FileType.CSV, b"%PDF-1.7 ...", "fileType is CSV but the body is a PDF document"),
        (FileType.CSV, b"\x89PNG\r\n\x1a\n", "fileType is CSV but the body is an image"),
        (FileType.CSV, b'[{"SKU Number": "1"}]', "fileType is CSV but the body is JSON"),
        (FileType.CSV, b"a,b\x00\x01", "fileType is CSV but the body is binary data"),
        (
            FileType.CSV,
            "SKU Number\tProduct Title\r\n".encode("utf-16"),
            "fileType is CSV but the body is UTF-16 text (as Excel's 'Unicode Text' saves it; save it as 'CSV UTF-8')",
        ),
    ],
)
def test_a_body_that_contradicts_its_file_type_is_named(declared: FileType, body: bytes, message: str) -> None:
    assert contradiction(declared, body) == message
