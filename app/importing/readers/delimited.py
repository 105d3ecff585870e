"""CSV: records read from a byte stream, each with the byte offset where it ends."""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO, NamedTuple

from app.errors import UnreadableFile

UTF8_BOM = b"\xef\xbb\xbf"
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")  # UTF-32's little-endian mark starts as UTF-16's does
DELIMITERS = (",", ";", "\t", "|")
ENCODINGS = ("utf-8", "cp1252")


class SourceRow(NamedTuple):
    """One record of an upload: its spreadsheet row number (header = 1), cells and end offset.

    A named tuple, one per row: half the cost of making a frozen dataclass."""

    number: int
    cells: list[str]
    end_offset: int
    problem: str | None = None  # damage the reader found in this record (a malformed JSON line, say)

    @property
    def is_blank(self) -> bool:
        return cells_blank(self.cells)


def cells_blank(cells: list[str]) -> bool:
    """Whether a record holds nothing but white space (a blank row is not a record of the import)."""
    if cells and cells[0] and not cells[0].isspace():  # the common case, decided by the first cell
        return False
    return all(not cell.strip() for cell in cells)


def refuse_utf16(head: bytes) -> None:
    """A CSV is read as UTF-8 or Windows-1252: a UTF-16 one would be read as text with a NUL between its
    letters, and fail for its line ends."""
    if head.startswith(UTF16_BOMS):
        raise UnreadableFile(
            "the file is UTF-16 text (as Excel's 'Unicode Text' saves it), which is not read: "
            "save it as 'CSV UTF-8' and upload that"
        )


def detect_delimiter(header_line: str) -> str:
    counts = {delimiter: header_line.count(delimiter) for delimiter in DELIMITERS}
    best = max(DELIMITERS, key=lambda delimiter: counts[delimiter])
    return best if counts[best] > 0 else ","


def set_field_limit(max_field_bytes: int) -> None:
    csv.field_size_limit(max(max_field_bytes, 16))


def read_records(
    stream: BinaryIO,
    *,
    encoding: str,
    delimiter: str,
    first_row: int,
    start_offset: int = 0,
    skip_bom: bool = False,
    max_line_bytes: int = 16 * 1024**2,
) -> Iterator[SourceRow]:
    """Yield the records of a CSV byte stream; a quoted newline stays inside its record.

    No line is read whole past `max_line_bytes`: a longer one stops the reading with an error.
    """
    offset = start_offset

    def lines() -> Iterator[str]:
        nonlocal offset
        first = skip_bom
        while raw := stream.readline(max_line_bytes + 1):
            if len(raw) > max_line_bytes and not raw.endswith(b"\n"):
                limit = f"the limit of {max_line_bytes} bytes (IMPORTER_MAX_LINE_BYTES)"
                raise UnreadableFile(f"a line of row {number} is longer than {limit}")
            offset += len(raw)
            if first and raw.startswith(UTF8_BOM):
                raw = raw[len(UTF8_BOM) :]
            first = False
            yield raw.decode(encoding)

    reader = csv.reader(lines(), delimiter=delimiter, strict=False)
    number = first_row
    try:
        for cells in reader:
            # csv.reader pulls whole lines only while a record is open, so `offset` ends this record.
            yield SourceRow(number, cells, offset)
            number += 1
    except csv.Error as error:
        if "field larger than field limit" in str(error):
            limit = csv.field_size_limit()
            message = (
                f"a value in row {number} is longer than the limit of {limit} characters (IMPORTER_MAX_FIELD_BYTES)"
            )
            raise UnreadableFile(message) from None
        if "new-line character seen in unquoted field" in str(error):
            message = (
                f"row {number} holds a carriage return alone outside quotes (as 'CSV (Macintosh)' ends its lines): "
                "quote a value that holds one, or save the file with Windows or Unix line ends (CSV UTF-8)"
            )
            raise UnreadableFile(message) from None
        raise UnreadableFile(f"the CSV cannot be read at row {number}: {error}") from None
