"""Planning: read an upload once, check its header, count its records and cut them into chunks.

CSV chunks are byte ranges of the upload itself. Other formats are read once into normalized
rows (see normalized.py) beside the upload, and chunks are byte ranges of those.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import uuid
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import BinaryIO

from app.errors import UnreadableFile
from app.importing.archives import open_archive, read_entry
from app.importing.chunking import ChunkLayout, Cutter, Heartbeat, no_heartbeat
from app.importing.formats import FileType
from app.importing.header import HeaderMap, resolve_header
from app.importing.limits import ReadLimits
from app.importing.normalized import NormalizedWriter, read_normalized
from app.importing.normalizer import HeaderFailed, Normalizer
from app.importing.readers.delimited import ENCODINGS, SourceRow, detect_delimiter, read_records
from app.importing.sources import NamedRow, csv_rows, keyed_rows, xlsx_rows
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
    files: list[dict[str, object]] = field(default_factory=list)  # a ZIP's data files, in the order read

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


def _normalized(
    storage: UploadStorage,
    key: str,
    spec: Specification,
    chunk_rows: int,
    limits: ReadLimits,
    heartbeat: Heartbeat,
    write: Callable[[Normalizer], list[dict[str, object]]],
) -> Layout:
    """Run `write` over a normalizer writing rows beside the upload; the layout of what it wrote."""
    rows_key = rows_key_for(key)
    writer = NormalizedWriter(storage, rows_key)
    normalizer = Normalizer(spec, writer, limits, chunk_rows, heartbeat)
    try:
        files = write(normalizer)
        writer.close()
    except HeaderFailed:
        writer.discard()
        return Layout(normalizer.header, "utf-8", ",", rows_key=None)
    except BaseException:
        writer.discard()
        raise
    layout = Layout(normalizer.header, "utf-8", ",", rows_key=rows_key, files=files)
    if normalizer.records and not normalizer.header.problems:
        layout.chunks = normalizer.finish()
    return layout


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

    def write(normalizer: Normalizer) -> list[dict[str, object]]:
        with seekable_copy(storage, key) as source:
            normalizer.add(xlsx_rows(source, options.sheet_name, limits))
        return []

    return _normalized(storage, key, spec, chunk_rows, limits, heartbeat, write)


def plan_keyed(
    storage: UploadStorage,
    key: str,
    spec: Specification,
    chunk_rows: int,
    file_type: FileType,
    limits: ReadLimits,
    heartbeat: Heartbeat = no_heartbeat,
) -> Layout:
    def write(normalizer: Normalizer) -> list[dict[str, object]]:
        with storage.open(key) as stream:
            normalizer.add(keyed_rows(stream, file_type, limits))
        return []

    return _normalized(storage, key, spec, chunk_rows, limits, heartbeat, write)


# --- ZIP of data files ----------------------------------------------------------------------

DATA_SUFFIXES = {".csv": FileType.CSV, ".tsv": FileType.CSV, ".txt": FileType.CSV, ".xlsx": FileType.XLSX,
                 ".json": FileType.JSON, ".jsonl": FileType.JSONL, ".ndjson": FileType.JSONL}  # fmt: skip
_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db")


def data_entries(entries: list[zipfile.ZipInfo]) -> list[tuple[zipfile.ZipInfo, FileType]]:
    """The archive's data files in name order; anything else in it is refused by name."""
    found = []
    for info in entries:
        if info.filename.startswith(_JUNK) or info.filename.endswith(_JUNK):
            continue
        suffix = PurePosixPath(info.filename.lower()).suffix
        if suffix in (".zip", ".gz", ".7z", ".rar", ".tar"):
            raise UnreadableFile(f"the ZIP holds another archive, '{info.filename}': nested archives are not imported")
        if suffix not in DATA_SUFFIXES:
            raise UnreadableFile(f"the ZIP holds '{info.filename}', which is not a data file (CSV, XLSX, JSON, JSONL)")
        found.append((info, DATA_SUFFIXES[suffix]))
    if not found:
        raise UnreadableFile("the ZIP holds no data file (CSV, XLSX, JSON, JSONL)")
    return found


def _entry_rows(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, kind: FileType, limits: ReadLimits, options: ReadOptions
) -> Iterator[NamedRow]:
    with tempfile.TemporaryFile() as spool:
        for block in read_entry(archive, info):
            spool.write(block)
        spool.seek(0)
        if kind is FileType.XLSX:
            yield from xlsx_rows(spool, options.sheet_name, limits)
        elif kind in (FileType.JSON, FileType.JSONL):
            yield from keyed_rows(spool, kind, limits)
        else:
            yield from csv_rows(spool, options.encoding, options.delimiter, limits)


def plan_zip(
    storage: UploadStorage,
    key: str,
    spec: Specification,
    chunk_rows: int,
    limits: ReadLimits,
    options: ReadOptions = ReadOptions(),
    heartbeat: Heartbeat = no_heartbeat,
) -> Layout:
    """Every data file of the archive, in name order, as one import: rows are numbered on across files
    (`files` says where each file starts), so that every row of the job has a number of its own."""

    def write(normalizer: Normalizer) -> list[dict[str, object]]:
        files: list[dict[str, object]] = []
        with seekable_copy(storage, key) as source:
            archive, entries = open_archive(source, limits.zip)
            with archive:
                base = 0
                for info, kind in data_entries(entries):
                    before = normalizer.records
                    try:
                        last = normalizer.add(_entry_rows(archive, info, kind, limits, options), base)
                    except UnreadableFile as error:
                        raise UnreadableFile(f"{info.filename}: {error}") from None
                    files.append({"name": info.filename, "fileType": kind.value, "offset": base,
                                  "lastRow": last - base, "totalRecords": normalizer.records - before})  # fmt: skip
                    base = last
        return files

    return _normalized(storage, key, spec, chunk_rows, limits, heartbeat, write)


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
    if file_type is FileType.ZIP:
        return plan_zip(storage, key, spec, chunk_rows, limits, options, heartbeat)
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
