"""Normalized rows (what a spreadsheet's or a JSON file's plan writes for its chunks) are CSV records that
Python's CSV reader reads as they were written, each at the offset the writer reported, and that the compiled
record writer writes byte for byte as the csv module does."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.importing import normalized
from app.importing.normalized import NormalizedWriter, read_normalized
from app.importing.problems import row_problem, row_problem_text
from app.importing.readers.delimited import set_field_limit
from app.storage import LocalUploadStorage

CELL = st.one_of(
    st.sampled_from(["", " ", "plain", "a,b", 'say "hi"', "two\nlines", "cr\rhere", "crlf\r\n", "é — 日本", ",", '"']),
    st.text(alphabet=st.sampled_from('ab ,"\n\ré'), max_size=6),
)
ROWS = st.lists(
    st.tuples(st.one_of(st.none(), st.sampled_from(["a problem", 'a "quoted", problem'])), st.lists(CELL, max_size=5)),
    max_size=12,
)


def _records(rows: list[tuple[int, str | None, list[str]]]) -> list[list[str]]:
    return [[str(number), problem or "", *cells] for number, problem, cells in rows]


@settings(max_examples=300, deadline=None)
@given(ROWS)
def test_records_read_back_as_written(drawn: list[tuple[str | None, list[str]]]) -> None:
    rows = [(number, problem, cells) for number, (problem, cells) in enumerate(drawn, start=2)]
    with tempfile.TemporaryDirectory() as folder:
        storage = LocalUploadStorage(Path(folder))
        writer = NormalizedWriter(storage, "rows")
        ends = [writer.write(number, problem, cells) for number, problem, cells in rows]
        writer.close()
        with storage.open("rows") as stored:
            data = stored.read()
    assert list(csv.reader(io.StringIO(data.decode("utf-8"), newline=""))) == _records(rows)
    if rows:
        assert data.endswith(b"\n") and not data.endswith(b"\r\n")  # each record ends in "\n"
    read = list(read_normalized(io.BytesIO(data)))
    assert [(row.number, row.problem, row.cells) for row in read] == [
        (number, problem, cells) for number, problem, cells in rows
    ]
    assert ends == [row.end_offset for row in read]


ANY_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)


@settings(max_examples=1500, deadline=None)
@given(
    number=st.integers(-(10**20), 10**20),
    problem=st.one_of(st.none(), ANY_TEXT),
    cells=st.lists(st.one_of(CELL, ANY_TEXT), max_size=8),
)
def test_a_record_is_written_in_compiled_code_byte_for_byte_as_the_csv_module_writes_it(
    number: int, problem: str | None, cells: list[str]
) -> None:
    assert normalized.COMPILED, "the compiled record writer is not built: pip install -e . builds it"
    with tempfile.TemporaryDirectory() as folder:
        compiled = NormalizedWriter(LocalUploadStorage(Path(folder)), "compiled")
        with mock.patch.object(normalized, "_records", None):
            by_csv = NormalizedWriter(LocalUploadStorage(Path(folder)), "csv")
            by_csv.write(number, problem, cells)
        compiled.write(number, problem, cells)
        compiled.close()
        by_csv.close()
        stored = LocalUploadStorage(Path(folder))
        with stored.open("compiled") as one, stored.open("csv") as other:
            assert one.read() == other.read()


def test_a_cell_utf8_cannot_hold_fails_the_record_as_the_csv_module_fails_it() -> None:
    with tempfile.TemporaryDirectory() as folder:
        writer = NormalizedWriter(LocalUploadStorage(Path(folder)), "rows")
        with pytest.raises(UnicodeEncodeError):
            writer.write(2, None, ["fine", "lone \udc80 surrogate"])
        writer.discard()


def test_a_problem_naming_long_texts_reads_back_under_the_smallest_field_limit() -> None:
    # A ZIP entry's name can be 65,535 bytes; a problem naming it twice must still be read back whole.
    name = "\x01" + "n" * 60_000
    text = row_problem_text(f"manifest.csv line 2 names '{name}' again (first on line 1)", "A", "File Name", name)
    with tempfile.TemporaryDirectory() as folder:
        storage = LocalUploadStorage(Path(folder))
        writer = NormalizedWriter(storage, "rows")
        writer.write(2, text, [])
        writer.close()
        with storage.open("rows") as stored:
            data = stored.read()
    limit = csv.field_size_limit()
    set_field_limit(4096)
    try:
        (row,) = read_normalized(io.BytesIO(data))
    finally:
        csv.field_size_limit(limit)

    assert row.problem is not None
    problem = row_problem(row.number, row.problem)
    assert (problem.row, problem.column, problem.field_name) == (2, "A", "File Name")
    assert problem.value == "\x01" + "n" * 198 + "\u2026"
    assert problem.message == "manifest.csv line 2 names '\x01" + "n" * 971 + "\u2026"
