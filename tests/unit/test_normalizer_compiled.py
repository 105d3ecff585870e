"""A sheet's rows normalized in compiled code (sheet_record, _records.c) come out as the Python normalizer makes
them: the same records byte for byte, the same cells and blank rows seen, the same chunks, the same problems."""

from __future__ import annotations

import tempfile
from datetime import datetime
from pathlib import Path
from unittest import mock

from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.importing import normalized, normalizer
from app.importing.chunking import ChunkLayout
from app.importing.limits import ReadLimits
from app.importing.normalized import NormalizedWriter
from app.importing.normalizer import Normalizer
from app.importing.readers.sheet_rows import UNSAVED_FORMULA
from app.importing.sources import NamedRow
from app.storage import LocalUploadStorage
from specifications import find_specification
from specifications.model import ImportType, Specification


def _product_specification() -> Specification:
    found = find_specification(ImportType.PRODUCT, "DefaultProductImportSpecification")
    assert found is not None
    return found


SPEC = _product_specification()
# Every kind cell_text tells apart: identifier, flag, decimal, code, integer, text; and names of no column.
NAMES = ["SKU Number", "SKU Indicator", "Retail Price", "UPC", "Available Quantity", "Product Title",
         "ProductAttribute[Colour]", ""]  # fmt: skip
SPACES = " \t\n\r\x0b\x0c\x1c\x1f\xa0\u2003\u3000"
TEXT = st.one_of(
    st.text(alphabet=st.sampled_from(SPACES + 'ab,"é日'), max_size=6),
    st.sampled_from(["", " ", "Y", "yes", "\xa0", "\u2003 ", "x" * 50]),
)
FLOATS = st.one_of(
    st.floats(),
    st.sampled_from([-0.0, 0.1, 3 * 1.1, 623.16, 1e-7, 1e15, 2.0**53, 123456789012345.5, 999999999999999.9]),
)
VALUE = st.one_of(
    TEXT,
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    FLOATS,
    st.just(datetime(2024, 3, 1, 12, 30)),
    st.just(UNSAVED_FORMULA),
)
ROWS = st.lists(st.lists(VALUE, max_size=len(NAMES) + 2), max_size=10)


def _normalize(
    rows: list[list[object]], compiled: bool
) -> tuple[bytes, list[tuple[int, list[str], bool]], list[ChunkLayout]]:
    seen: list[tuple[int, list[str], bool]] = []

    def watch(number: int, cells: list[str], blank: bool) -> normalizer.Seen:
        seen.append((number, list(cells), blank))
        return "write"

    named: list[NamedRow] = [(1, None, NAMES, None)]
    named += [(number, None, NAMES, values) for number, values in enumerate(rows, start=2)]  # type: ignore[misc]
    with tempfile.TemporaryDirectory() as folder:
        storage = LocalUploadStorage(Path(folder))
        writer = NormalizedWriter(storage, "rows")
        limits = ReadLimits(max_field_bytes=40)
        with mock.patch.object(normalizer, "sheet_record", normalized.sheet_record if compiled else None):
            rows_normalizer = Normalizer(SPEC, writer, limits, 3, lambda: None)
            rows_normalizer.add(iter(named), watch=watch)
        chunks = rows_normalizer.finish()
        writer.close()
        with storage.open("rows") as stored:
            return stored.read(), seen, chunks


@settings(max_examples=600, deadline=None)
@given(ROWS)
@example([["1001", "N", 19.5, 12345, 3, "Mug", "blue", None], ["1001", True, 2.0, None, 7.0, "Mug, large"]])
@example([[" \xa0 "], [None, None], [], ["\u2003"]])  # rows of white space Python's strip() knows
def test_compiled_rows_are_the_rows_python_makes(rows: list[list[object]]) -> None:
    assert normalized.COMPILED, "the compiled record writer is not built: pip install -e . builds it"
    assert _normalize(rows, compiled=True) == _normalize(rows, compiled=False)


def test_a_sheets_typed_cells_are_written_as_their_columns_expect() -> None:
    data, seen, chunks = _normalize([["00123", True, 19.5, 12345.0, 3.0, 3 * 1.1, False]], compiled=True)
    assert data == b"2,,00123,Y,19.5,12345,3,3.3,FALSE,\n"
    assert seen == [(2, ["00123", "Y", "19.5", "12345", "3", "3.3", "FALSE", ""], False)]
    assert [chunk.record_count for chunk in chunks] == [1]
