"""Planning: read an upload once, check its header, count its records and cut them into chunks.

CSV chunks are byte ranges of the upload itself. Other formats are read once into normalized
rows (see normalized.py) beside the upload, and chunks are byte ranges of those.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from app.errors import UnreadableFile
from app.importing.chunking import ChunkLayout, Cutter, Heartbeat, no_heartbeat
from app.importing.formats import FileType
from app.importing.header import HeaderMap, resolve_header
from app.importing.limits import ReadLimits
from app.importing.normalized import NormalizedWriter, read_normalized
from app.importing.readers.delimited import ENCODINGS, SourceRow, detect_delimiter, read_records
from app.importing.readers.keyed import KeyedRecord, read_json_array, read_json_lines
from app.importing.readers.workbook import cell_text, iter_sheet
from app.storage import UploadStorage
from specifications.model import ColumnKind, Specification


@dataclass(frozen=True)
class ReadOptions:
    """How to read, when the request says so rather than leaving it to detection."""

    encoding: str | None = None
    delimiter: str | None = None
    sheet_name: str | None = None


@dataclass
class Layout:
    """What planning found: the header, how to read the records, and the chunks they fall into."""

    header: HeaderMap
    encoding: str
    delimiter: str
    rows_key: str | None  # where normalized rows live, when the upload is not CSV
    chunks: list[ChunkLayout] = field(default_factory=list)

    @property
    def total_records(self) -> int:
        return sum(chunk.record_count for chunk in self.chunks)


def rows_key_for(key: str) -> str:
    return f"{key}.rows-{uuid.uuid4().hex[:12]}.csv"


def _kinds(header: HeaderMap) -> dict[int, ColumnKind]:
    return {slot.index: slot.column.kind for slot in header.slots if slot.column is not None}


# --- CSV -------------------------------------------------------------------------------------


def _plan_csv(
    storage: UploadStorage,
    key: str,
    spec: Specification,
    size: int,
    encoding: str,
    limits: ReadLimits,
    options: ReadOptions,
    heartbeat: Heartbeat,
) -> Layout:
    with storage.open(key) as stream:
        first_line = stream.readline(1 << 20).removeprefix(b"\xef\xbb\xbf")
    delimiter = options.delimiter or detect_delimiter(first_line.decode(encoding))
    with storage.open(key) as stream:
        records = read_records(
            stream, encoding=encoding, delimiter=delimiter, first_row=1, skip_bom=True,
            max_line_bytes=limits.max_line_bytes,
        )  # fmt: skip
        header_row = next(records, None)
        if header_row is None:
            raise UnreadableFile("the file is empty: it has no header row")
        if wide := limits.too_many_columns(len(header_row.cells)):
            raise UnreadableFile(wide)
        header = resolve_header(spec, header_row.cells)
        layout = Layout(header, encoding, delimiter, rows_key=None)
        if header.problems:
            return layout
        cutter = Cutter(header, size, header_row.end_offset, 2, heartbeat, limits.max_rows)
        for row in records:
            cutter.add(row.number, row.cells, row.is_blank, row.end_offset)
        layout.chunks = cutter.finish()
    return layout


def plan_csv(
    storage: UploadStorage,
    key: str,
    spec: Specification,
    chunk_rows: int,
    limits: ReadLimits,
    options: ReadOptions = ReadOptions(),
    heartbeat: Heartbeat = no_heartbeat,
) -> Layout:
    for encoding in (options.encoding,) if options.encoding else ENCODINGS:
        try:
            return _plan_csv(storage, key, spec, chunk_rows, encoding, limits, options, heartbeat)
        except UnicodeDecodeError as error:
            if options.encoding:
                raise UnreadableFile(
                    f"the file is not {options.encoding} text: {error.reason} at byte {error.start}"
                ) from None
            continue
    raise UnreadableFile("the file's text encoding is neither UTF-8 nor Windows-1252")


# --- XLSX ------------------------------------------------------------------------------------


def seekable_copy(storage: UploadStorage, key: str) -> BinaryIO:
    """A seekable copy of the upload (ZIP readers need to seek), spooled to a temporary file."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the caller)
    with storage.open(key) as stream:
        shutil.copyfileobj(stream, spool, 1 << 20)
    spool.seek(0)
    return spool


def plan_xlsx(
    storage: UploadStorage,
    key: str,
    spec: Specification,
    chunk_rows: int,
    limits: ReadLimits,
    options: ReadOptions = ReadOptions(),
    heartbeat: Heartbeat = no_heartbeat,
) -> Layout:
    """Reads the first sheet (or the one named) once, writing its rows as text typed by each column's kind."""
    with seekable_copy(storage, key) as source:
        rows = iter_sheet(source, options.sheet_name, limits=limits.zip)
        first = next(rows, None)
        if first is None:
            raise UnreadableFile("the sheet is empty: it has no header row")
        number, header_cells = first
        if wide := limits.too_many_columns(len(header_cells)):
            raise UnreadableFile(wide)
        header = resolve_header(spec, [cell_text(value, None) for value in header_cells])
        layout = Layout(header, "utf-8", ",", rows_key=rows_key_for(key))
        if header.problems:
            return layout
        kinds = _kinds(header)
        writer = NormalizedWriter(storage, layout.rows_key or "")
        try:
            cutter = Cutter(header, chunk_rows, 0, number + 1, heartbeat, limits.max_rows)
            for row_number, cells in rows:
                texts = [cell_text(value, kinds.get(index)) for index, value in enumerate(cells[: limits.max_columns])]
                too_long = limits.long_cell(texts, header.cells)
                end = writer.write(row_number, too_long, [] if too_long else texts)
                cutter.add(row_number, texts, all(not text.strip() for text in texts), end)
            writer.close()
        except BaseException:
            writer.discard()
            raise
        layout.chunks = cutter.finish()
    return layout


# --- JSON and JSONL --------------------------------------------------------------------------


class _KeyedHeader:
    """The header of keyed records: every key in the order it first appears."""

    def __init__(self, spec: Specification) -> None:
        self.spec = spec
        self.keys: list[str] = []
        self.index: dict[str, int] = {}
        self.map = resolve_header(spec, [])
        self.kinds: dict[int, ColumnKind] = {}

    def take(self, record: KeyedRecord) -> bool:
        """Learn the record's new keys; True when the header grew."""
        new = [key for key in record.values if key not in self.index]
        for key in new:
            self.index[key] = len(self.keys)
            self.keys.append(key)
        if new:
            self.map = resolve_header(self.spec, self.keys)
            self.kinds = _kinds(self.map)
        return bool(new)

    def cells(self, record: KeyedRecord) -> list[str]:
        cells = [""] * len(self.keys)
        for key, value in record.values.items():
            position = self.index[key]
            cells[position] = cell_text(value, self.kinds.get(position))
        return cells


def plan_keyed(
    storage: UploadStorage,
    key: str,
    spec: Specification,
    chunk_rows: int,
    file_type: FileType,
    limits: ReadLimits,
    heartbeat: Heartbeat = no_heartbeat,
) -> Layout:
    header = _KeyedHeader(spec)
    rows_key = rows_key_for(key)
    writer = NormalizedWriter(storage, rows_key)
    cutter: Cutter | None = None
    try:
        with storage.open(key) as stream:
            reader = read_json_array if file_type is FileType.JSON else read_json_lines
            for record in reader(stream, limits.max_line_bytes):
                if header.take(record) and cutter is not None:
                    cutter.follow(header.map)
                if wide := limits.too_many_columns(len(header.keys)):
                    raise UnreadableFile(wide)
                cutter = cutter or Cutter(header.map, chunk_rows, 0, record.line, heartbeat, limits.max_rows)
                cells = header.cells(record)
                problem = record.problem or limits.long_cell(cells, header.keys)
                end = writer.write(record.line, problem, [] if problem else cells)
                cutter.add(record.line, cells, not record.values and record.problem is None, end)
        writer.close()
    except BaseException:
        writer.discard()
        raise
    layout = Layout(header.map, "utf-8", ",", rows_key=rows_key)
    if cutter is not None and not header.map.problems:
        layout.chunks = cutter.finish()
    return layout


# --- all formats -----------------------------------------------------------------------------


def plan_upload(
    storage: UploadStorage,
    key: str,
    file_type: FileType,
    spec: Specification,
    chunk_rows: int,
    limits: ReadLimits,
    options: ReadOptions = ReadOptions(),
    heartbeat: Heartbeat = no_heartbeat,
) -> Layout:
    if file_type is FileType.XLSX:
        return plan_xlsx(storage, key, spec, chunk_rows, limits, options, heartbeat)
    if file_type in (FileType.JSON, FileType.JSONL):
        return plan_keyed(storage, key, spec, chunk_rows, file_type, limits, heartbeat)
    return plan_csv(storage, key, spec, chunk_rows, limits, options, heartbeat)


def chunk_rows_of(
    storage: UploadStorage, key: str, rows_key: str | None, encoding: str, delimiter: str, chunk: ChunkLayout
) -> Iterator[SourceRow]:
    """The records of one chunk, read back from storage with their spreadsheet row numbers."""
    if rows_key is not None:
        yield from read_normalized(io.BytesIO(storage.read_range(rows_key, chunk.start_offset, chunk.end_offset)))
        return
    data = storage.read_range(key, chunk.start_offset, chunk.end_offset)
    stream = io.BytesIO(data)
    yield from read_records(
        stream, encoding=encoding, delimiter=delimiter, first_row=chunk.first_row, max_line_bytes=len(data) + 1
    )
