"""Reading CSV records from bytes: row numbers, offsets, quoting, delimiters, BOM."""

from __future__ import annotations

import io

import pytest

from app.errors import UnreadableFile
from app.importing.readers.delimited import detect_delimiter, read_records


def records(data: bytes, delimiter: str = ",") -> list[tuple[int, list[str], int]]:
    rows = read_records(io.BytesIO(data), encoding="utf-8", delimiter=delimiter, first_row=1, skip_bom=True)
    return [(row.number, row.cells, row.end_offset) for row in rows]


def test_rows_are_numbered_as_a_spreadsheet_shows_them_with_a_quoted_newline_inside_one_row() -> None:
    data = b'a,b\r\n1,"two\nlines"\r\n3,4'

    found = records(data)

    assert found == [(1, ["a", "b"], 5), (2, ["1", "two\nlines"], 20), (3, ["3", "4"], 23)]


def test_offsets_let_a_byte_range_be_read_again_as_the_same_records() -> None:
    data = "h1,h2\nx,ü\n\ny,z\n".encode()
    found = records(data)
    start, end = found[0][2], found[-1][2]

    again = read_records(io.BytesIO(data[start:end]), encoding="utf-8", delimiter=",", first_row=2)

    assert [(row.number, row.cells) for row in again] == [(2, ["x", "ü"]), (3, []), (4, ["y", "z"])]


def test_a_utf8_byte_order_mark_is_not_part_of_the_first_header() -> None:
    found = records(b"\xef\xbb\xbfSKU Number,Title\n1,A\n")

    assert found[0][1] == ["SKU Number", "Title"]
    assert found[0][2] == len(b"\xef\xbb\xbfSKU Number,Title\n")


@pytest.mark.parametrize(
    ("line", "delimiter"), [("a,b,c", ","), ("a;b;c", ";"), ("a\tb\tc", "\t"), ("a|b|c", "|"), ("abc", ",")]
)
def test_the_delimiter_is_detected_from_the_header_line(line: str, delimiter: str) -> None:
    assert detect_delimiter(line) == delimiter


def test_a_field_over_the_size_limit_is_a_clear_error_naming_the_row() -> None:
    import csv

    previous = csv.field_size_limit(1024)
    try:
        with pytest.raises(UnreadableFile, match="row 2"):
            records(b"a\n" + b"x" * 5000 + b"\n")
    finally:
        csv.field_size_limit(previous)
