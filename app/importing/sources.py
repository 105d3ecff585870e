"""Row sources for the normalizer: every format read as (row number, problem, header names, values)."""

from __future__ import annotations

import codecs
from collections.abc import Iterator
from typing import IO, BinaryIO, cast

from app.errors import UnreadableFile
from app.importing.formats import FileType
from app.importing.limits import ReadLimits
from app.importing.problems import column_letter, row_problem_text
from app.importing.readers.delimited import ENCODINGS, detect_delimiter, read_records, refuse_utf16
from app.importing.readers.keyed import read_json_array, read_json_lines
from app.importing.readers.sheet_rows import RecordRun, RecordRuns
from app.importing.readers.sheet_xml import RowPlace, read_sheet_runs
from app.importing.readers.workbook import SheetCell, cell_text

# (row number, the reader's problem with it, header names, values); values None for the header row itself,
# which a source with a header row gives first, so that a file of a header alone still has one.
NamedRow = tuple[int, str | None, list[str], list[SheetCell] | None]


def _checked_width(names: list[str], limits: ReadLimits, counted: bool = True) -> list[str]:
    if wide := limits.too_many_columns(len(names), counted):
        raise UnreadableFile(wide)
    return names


def xlsx_rows(
    source: IO[bytes],
    sheet_name: str | None,
    limits: ReadLimits,
    skip_to: int = 0,
    place: RowPlace | None = None,
    runs: RecordRuns | None = None,
) -> Iterator[NamedRow | RecordRun]:
    """The sheet's rows after its header row (see read_sheet_runs for `skip_to`, `place` and `runs`).

    A row is read up to one cell past max_columns, never filled with empty cells up to a far one (a cell
    at column XFD would cost 16,383 of them): a value that far is the row's problem."""
    width = limits.max_columns + 1
    rows = read_sheet_runs(source, sheet_name, limits.zip, skip_to=skip_to, place=place, width=width, runs=runs)
    first = next(rows, None)
    if first is None:
        raise UnreadableFile("the sheet is empty: it has no header row")
    if isinstance(first, RecordRun):  # runs are asked for once the header row is known, never before
        raise AssertionError("a run of records before the header row")
    names = _checked_width([cell_text(value, None) for value in first[1]], limits, counted=False)
    yield first[0], None, names, None
    far = row_problem_text(
        f"a value stands past column {column_letter(limits.max_columns - 1)}, beyond the last header and the "
        f"limit of {limits.max_columns} columns (IMPORTER_MAX_COLUMNS)",
        column_letter(limits.max_columns),
    )
    for row in rows:
        if isinstance(row, RecordRun):
            yield row
            continue
        number, cells = row
        # each row's list is the reader's own, new for it: handed on as it is, not copied
        yield number, far if len(cells) == width else None, names, cast(list[SheetCell], cells)


def keyed_rows(stream: BinaryIO, file_type: FileType, limits: ReadLimits) -> Iterator[NamedRow]:
    reader = read_json_array if file_type is FileType.JSON else read_json_lines
    for record in reader(stream, limits.max_line_bytes):
        yield record.number, record.problem, _checked_width(list(record.values), limits), list(record.values.values())


def detect_encoding(stream: BinaryIO) -> str:
    """UTF-8 when every byte decodes as UTF-8, else Windows-1252; the stream is read once and rewound."""
    decoder = codecs.getincrementaldecoder("utf-8")()
    try:
        for block in iter(lambda: stream.read(1 << 20), b""):
            decoder.decode(block)
        decoder.decode(b"", final=True)
        encoding = ENCODINGS[0]
    except UnicodeDecodeError:
        encoding = ENCODINGS[1]
    stream.seek(0)
    return encoding


def csv_rows(stream: BinaryIO, encoding: str | None, delimiter: str | None, limits: ReadLimits) -> Iterator[NamedRow]:
    refuse_utf16(stream.read(2))
    stream.seek(0)
    encoding = encoding or detect_encoding(stream)
    first_line = stream.readline(limits.max_line_bytes).removeprefix(b"\xef\xbb\xbf")
    stream.seek(0)
    delimiter = delimiter or detect_delimiter(first_line.decode(encoding, errors="replace"))
    records = read_records(
        stream, encoding=encoding, delimiter=delimiter, first_row=1, skip_bom=True, max_line_bytes=limits.max_line_bytes
    )
    header = next(records, None)
    if header is None:
        raise UnreadableFile("the file is empty: it has no header row")
    names = _checked_width(header.cells, limits)
    yield header.number, None, names, None
    for row in records:
        yield row.number, None, names, list(row.cells)
