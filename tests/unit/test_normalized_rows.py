"""Normalized rows (what a spreadsheet's or a JSON file's plan writes for its chunks) are CSV records that
Python's CSV reader reads as they were written, each at the offset the writer reported."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from app.importing.normalized import NormalizedWriter, read_normalized
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
