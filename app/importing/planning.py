"""Planning: read an upload once, check its header, count its records and cut them into chunks.

CSV chunks are byte ranges of the upload itself. Other formats are read once into normalized
rows (see normalized.py) beside the upload, and chunks are byte ranges of those.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from functools import partial
from typing import BinaryIO, Protocol

from app.errors import UnreadableFile
from app.importing.chunking import ChunkLayout, Cutter, Heartbeat, no_heartbeat
from app.importing.csv_cutting import CsvCutting
from app.importing.header import HeaderMap, resolve_header
from app.importing.limits import ReadLimits
from app.importing.normalized import read_normalized
from app.importing.readers.delimited import ENCODINGS, SourceRow, detect_delimiter, read_records, refuse_utf16
from app.storage import UploadStorage
from specifications.model import Specification


@dataclass(frozen=True)
class ReadOptions:
    """How to read, when the request says so rather than leaving it to detection."""

    encoding: str | None = None
    delimiter: str | None = None
    sheet_name: str | None = None


@dataclass(frozen=True)
class PieceRows:
    """What a piece of a sheet read, once the plan takes it: its chunks (each naming its rows file) and
    how many records they hold, or the damage it found and the records it read before (sheet_split.py)."""

    chunks: list[ChunkLayout]
    records: int
    error: str | None = None


class Split(Protocol):
    """The plan's side of a sheet read in two at once (sheet_pieces.py keeps it in the database)."""

    def begin(self, sheet_bytes: int) -> int | None:
        """Start a piece for a sheet part of this size; the byte it reads from, or None for no piece."""
        ...

    def piece_at(self, start: int, first_row: int) -> PieceRows | None:
        """What the piece read if it began at byte `start` with row `first_row`, else None (the plan reads
        on, and the piece stops)."""
        ...

    def release(self) -> None:
        """The plan ends without the piece's rows: stop the piece, and drop what it wrote."""
        ...


@dataclass(frozen=True)
class Plan:
    """What planning one upload needs: where it is, what it should hold, and how to read it."""

    storage: UploadStorage
    key: str
    spec: Specification
    chunk_rows: int
    limits: ReadLimits
    options: ReadOptions = ReadOptions()
    heartbeat: Heartbeat = no_heartbeat
    # Given the layout so far (header, encoding, no chunks yet) and each chunk as it is cut, while the
    # reading goes on. A CSV uses it when its encoding is known (a detected one may still change), a
    # sheet once its chunk's normalized rows are readable; JSON and ZIPs, whose header grows, do not.
    publish: Callable[[Layout, ChunkLayout], None] | None = None
    # A large sheet may be read in two at once (see sheet_split.py).
    split: Split | None = None


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

    @property
    def rows_bytes(self) -> int:
        """The bytes of the rows the chunks hold (for a sheet, its rows as normalized, not its zipped XML)."""
        return sum(chunk.end_offset - chunk.start_offset for chunk in self.chunks)


def rows_key_for(key: str) -> str:
    return f"{key}.rows-{uuid.uuid4().hex[:12]}.csv"


def seekable_copy(storage: UploadStorage, key: str) -> BinaryIO:
    """A seekable copy of the upload (ZIP readers need to seek), spooled to a temporary file."""
    spool = tempfile.TemporaryFile()  # noqa: SIM115 (closed by the caller)
    with storage.open(key) as stream:
        shutil.copyfileobj(stream, spool, 1 << 20)
    spool.seek(0)
    return spool


def _plan_csv(plan: Plan, encoding: str) -> Layout:
    with plan.storage.open(plan.key) as stream:
        first_line = stream.readline(1 << 20).removeprefix(b"\xef\xbb\xbf")
    refuse_utf16(first_line)
    delimiter = plan.options.delimiter or detect_delimiter(first_line.decode(encoding))
    limits = plan.limits
    with plan.storage.open(plan.key) as stream:
        records = read_records(
            stream, encoding=encoding, delimiter=delimiter, first_row=1, skip_bom=True,
            max_line_bytes=limits.max_line_bytes,
        )  # fmt: skip
        header_row = next(records, None)
        if header_row is None:
            raise UnreadableFile("the file is empty: it has no header row")
        if wide := limits.too_many_columns(len(header_row.cells)):
            raise UnreadableFile(wide)
        header = resolve_header(plan.spec, header_row.cells)
        layout = Layout(header, encoding, delimiter, rows_key=None)
        if header.problems:
            return layout
        publish = plan.publish if plan.options.encoding else None
        on_close = partial(publish, layout) if publish else None
        cutter = Cutter(header, plan.chunk_rows, header_row.end_offset, 2, plan.heartbeat, limits.max_rows, on_close)
        cutting = CsvCutting(
            cutter, encoding=encoding, delimiter=delimiter, max_field_bytes=limits.max_field_bytes,
            max_line_bytes=limits.max_line_bytes,
        )  # fmt: skip
        cutting.cut(stream, header_row.end_offset, header_row.number + 1)  # the header's lines are read
        layout.chunks = cutter.finish()
    return layout


def plan_csv(plan: Plan) -> Layout:
    """A CSV is read where it lies: its chunks are byte ranges of the upload."""
    given = plan.options.encoding
    for encoding in (given,) if given else ENCODINGS:
        try:
            return _plan_csv(plan, encoding)
        except UnicodeDecodeError as error:
            if given:
                raise UnreadableFile(f"the file is not {given} text: {error.reason} at byte {error.start}") from None
    raise UnreadableFile("the file's text encoding is neither UTF-8 nor Windows-1252")


def chunk_bytes(storage: UploadStorage, key: str, rows_key: str | None, chunk: ChunkLayout) -> bytes:
    """One chunk's bytes: a range of the upload (CSV) or of its normalized rows."""
    return storage.read_range(rows_key or key, chunk.start_offset, chunk.end_offset)


def chunk_rows(data: bytes, normalized: bool, encoding: str, delimiter: str, first_row: int) -> Iterator[SourceRow]:
    """The records of a chunk's bytes with their spreadsheet row numbers: normalized rows carry their
    own; a CSV's are counted from `first_row`."""
    if normalized:
        return read_normalized(io.BytesIO(data))
    return read_records(
        io.BytesIO(data), encoding=encoding, delimiter=delimiter, first_row=first_row, max_line_bytes=len(data) + 1
    )
