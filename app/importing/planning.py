"""Planning: read an upload once, check its header, count its records and cut them into chunks."""

from __future__ import annotations

import csv
import io
import shutil
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from app.errors import UnreadableFile
from app.importing.cells import TRUE_WORDS
from app.importing.formats import FileType
from app.importing.header import HeaderMap, resolve_header
from app.importing.readers.delimited import ENCODINGS, SourceRow, detect_delimiter, read_records
from app.importing.readers.workbook import cell_text, iter_sheet
from app.storage import UploadStorage
from specifications.model import Specification

HEARTBEAT_SECONDS = 5.0
Heartbeat = Callable[[], None]


def _no_heartbeat() -> None:
    return None


@dataclass(frozen=True)
class ChunkLayout:
    first_row: int
    record_count: int
    start_offset: int
    end_offset: int


@dataclass
class Layout:
    """What planning found: the header, how to read the records, and the chunks they fall into."""

    header: HeaderMap
    encoding: str
    delimiter: str
    rows_key: str | None  # where rows re-written as UTF-8 CSV live, when the upload is not CSV
    chunks: list[ChunkLayout] = field(default_factory=list)

    @property
    def total_records(self) -> int:
        return sum(chunk.record_count for chunk in self.chunks)


class _Cutter:
    """Cuts records into chunks of about `size`, never separating a child row from its parent."""

    def __init__(
        self, header: HeaderMap, size: int, start: int, first_row: int, heartbeat: Heartbeat = _no_heartbeat
    ) -> None:
        self._heartbeat = heartbeat
        self._beat_at = time.monotonic()
        flag = header.slot_for(header.spec.child_flag) if header.spec.child_flag else None
        self._flag_index = flag.index if flag else None
        self._size = size
        self._start = start
        self._end = start
        self._first_row = first_row
        self._count = 0
        self.chunks: list[ChunkLayout] = []

    def _is_child(self, cells: list[str]) -> bool:
        index = self._flag_index
        return index is not None and index < len(cells) and cells[index].strip().lower() in TRUE_WORDS

    def add(self, number: int, cells: list[str], blank: bool, end_offset: int) -> None:
        if number % 4096 == 0 and time.monotonic() - self._beat_at > HEARTBEAT_SECONDS:
            self._heartbeat()
            self._beat_at = time.monotonic()
        if not blank:
            if self._count >= self._size and not self._is_child(cells):
                self._close()
                self._first_row = number
            self._count += 1
        self._end = end_offset

    def _close(self) -> None:
        if self._count:
            self.chunks.append(ChunkLayout(self._first_row, self._count, self._start, self._end))
        self._start = self._end
        self._count = 0

    def finish(self) -> list[ChunkLayout]:
        self._close()
        return self.chunks


def _read_header_line(storage: UploadStorage, key: str) -> bytes:
    with storage.open(key) as stream:
        return stream.readline(1 << 20)


def _plan_csv(
    storage: UploadStorage, key: str, spec: Specification, size: int, encoding: str, heartbeat: Heartbeat
) -> Layout:
    first_line = _read_header_line(storage, key).removeprefix(b"\xef\xbb\xbf")
    delimiter = detect_delimiter(first_line.decode(encoding))
    with storage.open(key) as stream:
        records = read_records(stream, encoding=encoding, delimiter=delimiter, first_row=1, skip_bom=True)
        header_row = next(records, None)
        if header_row is None:
            raise UnreadableFile("the file is empty: it has no header row")
        header = resolve_header(spec, header_row.cells)
        layout = Layout(header, encoding, delimiter, rows_key=None)
        if header.problems:
            return layout
        cutter = _Cutter(header, size, header_row.end_offset, 2, heartbeat)
        for row in records:
            cutter.add(row.number, row.cells, row.is_blank, row.end_offset)
        layout.chunks = cutter.finish()
    return layout


def plan_csv(
    storage: UploadStorage,
    key: str,
    spec: Specification,
    chunk_rows: int,
    heartbeat: Heartbeat = _no_heartbeat,
) -> Layout:
    for encoding in ENCODINGS:
        try:
            return _plan_csv(storage, key, spec, chunk_rows, encoding, heartbeat)
        except UnicodeDecodeError:
            continue
    raise UnreadableFile("the file's text encoding is neither UTF-8 nor Windows-1252")


def _seekable_copy(storage: UploadStorage, key: str) -> BinaryIO:
    """A seekable copy of the upload (ZIP readers need to seek), spooled to a temporary file."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the caller)
    with storage.open(key) as stream:
        shutil.copyfileobj(stream, spool, 1 << 20)
    spool.seek(0)
    return spool


def _normalized_rows(header: HeaderMap, rows: Iterator[tuple[int, tuple[object, ...]]]) -> Iterator[list[str]]:
    kinds = {slot.index: slot.column.kind for slot in header.slots if slot.column is not None}
    for number, cells in rows:
        texts = [cell_text(value, kinds.get(index)) for index, value in enumerate(cells)]  # type: ignore[arg-type]
        yield [str(number), *texts]


def plan_xlsx(
    storage: UploadStorage,
    key: str,
    spec: Specification,
    chunk_rows: int,
    heartbeat: Heartbeat = _no_heartbeat,
) -> Layout:
    """Reads the first sheet and writes its rows, typed by column kind, as a UTF-8 CSV beside the upload."""
    with _seekable_copy(storage, key) as source:
        rows = iter_sheet(source)
        first = next(rows, None)
        if first is None:
            raise UnreadableFile("the sheet is empty: it has no header row")
        number, header_cells = first
        header = resolve_header(spec, [cell_text(value, None) for value in header_cells])
        layout = Layout(header, "utf-8", ",", rows_key=f"{key}.rows-{uuid.uuid4().hex[:12]}.csv")
        if header.problems:
            return layout
        assert layout.rows_key is not None
        writer = storage.create(layout.rows_key)
        try:
            cutter = _Cutter(header, chunk_rows, 0, number + 1, heartbeat)
            offset = 0
            line = io.StringIO()
            out = csv.writer(line, lineterminator="\n")
            for values in _normalized_rows(header, rows):
                line.seek(0)
                line.truncate()
                out.writerow(values)
                data = line.getvalue().encode("utf-8")
                writer.write(data)
                offset += len(data)
                row = SourceRow(int(values[0]), values[1:], offset)
                cutter.add(row.number, row.cells, row.is_blank, offset)
            writer.close()
        except BaseException:
            writer.discard()
            raise
        layout.chunks = cutter.finish()
    return layout


def plan_upload(
    storage: UploadStorage,
    key: str,
    file_type: FileType,
    spec: Specification,
    chunk_rows: int,
    heartbeat: Heartbeat = _no_heartbeat,
) -> Layout:
    if file_type is FileType.XLSX:
        return plan_xlsx(storage, key, spec, chunk_rows, heartbeat)
    return plan_csv(storage, key, spec, chunk_rows, heartbeat)


def chunk_rows_of(
    storage: UploadStorage, key: str, rows_key: str | None, encoding: str, delimiter: str, chunk: ChunkLayout
) -> Iterator[SourceRow]:
    """The records of one chunk, read back from storage with their spreadsheet row numbers."""
    if rows_key is not None:
        data = storage.read_range(rows_key, chunk.start_offset, chunk.end_offset)
        for row in read_records(io.BytesIO(data), encoding="utf-8", delimiter=",", first_row=0):
            yield SourceRow(int(row.cells[0]), row.cells[1:], row.end_offset)
        return
    data = storage.read_range(key, chunk.start_offset, chunk.end_offset)
    yield from read_records(io.BytesIO(data), encoding=encoding, delimiter=delimiter, first_row=chunk.first_row)
