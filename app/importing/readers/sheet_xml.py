"""XLSX read straight from its XML, streaming: rows in flat memory. The plain rows and shared strings that
spreadsheet programs write are scanned (sheet_rows.py, shared_strings.py: runs of plain rows in compiled code
where it is built, _rowscan.c, and with regular expressions otherwise), and expat reads everything else.

Memory holds the shared-strings table (the distinct texts of the workbook) and one block of rows.
Cells are typed as the spreadsheet typed them: shared and inline strings, numbers (whole numbers
as int), booleans, errors as their text, and numbers in a date style as datetimes. Formula cells
give their cached value. No DTD, entity or external reference is accepted in any part.
"""

from __future__ import annotations

import posixpath
import sys
import zipfile
import zlib
from collections.abc import Callable, Iterator, Sized
from dataclasses import dataclass
from typing import IO, Any, cast
from xml.parsers import expat

from app.errors import UnreadableFile
from app.importing.archives import ZipLimits, open_archive
from app.importing.readers.serial_dates import format_shows_date
from app.importing.readers.shared_strings import SharedStrings, TextTable, item_blocks
from app.importing.readers.sheet_rows import RecordRun, RecordRuns, SheetRow, SheetRows, pieces, row_units
from app.importing.readers.xml_text import MAX_TOKEN_BYTES, TooLong, local_name

_BLOCK = 1 << 16
# Rows read as rows after a run stopped at one that must be (see _Reading.run): enough that a sheet whose every
# row is so (a date in each) costs no more than a call per few rows.
_ROWS_BETWEEN_RUNS = 16
# The most cell formats, number formats, sheets or relationships a workbook's part may list: four times what
# Excel allows of cell formats (64,000). Each is held while the sheet is read, and a few megabytes of XLSX
# could list tens of millions of them (gigabytes of a worker's memory, minutes of its time).
MAX_LISTED = 1 << 18


class _Refused(Exception):
    pass


def _count(listed: Sized, part: str, what: str) -> None:
    """Refuse the part once it lists more than MAX_LISTED of `what`."""
    if len(listed) >= MAX_LISTED:
        raise _Refused(f"{part} lists more than {MAX_LISTED} {what}, more than any spreadsheet program writes")


def _refuse(*_: object) -> Any:
    raise _Refused("its XML declares entities, which are refused (a DTD, entity expansion, external entities)")


def _parser(start: Callable[..., None], end: Callable[..., None], text: Callable[..., None]) -> Any:
    """An expat parser with these handlers, which refuses DTDs and entities."""
    parser = expat.ParserCreate()
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    # Expat 2.6+ may put off reading an unfinished token until much more has come; the scans need every
    # Parse to read all it is given, and MAX_TOKEN_BYTES bounds the cost deferral would save.
    if hasattr(parser, "SetReparseDeferralEnabled"):
        parser.SetReparseDeferralEnabled(False)
    return parser


class _Malformed(ValueError):
    """A part's XML is not well-formed, at a byte of the part as stored (not of what expat was given)."""


class _Feeder:
    """Gives expat a part's bytes, but for those scanned without it, in pieces of at least a block: a
    token cut into many small pieces would be read again from its start for each (see MAX_TOKEN_BYTES)."""

    def __init__(self, parser: Any, part: str) -> None:
        self.parser, self.part = parser, part
        self.fed = 0  # bytes expat has read
        self.scanned = 0  # bytes read without it
        self._pending: list[bytes] = []
        self._pending_bytes = 0

    def feed(self, data: bytes, now: bool = False) -> bool:
        """Give expat `data`, now or once a block has gathered; whether expat has read what it was given."""
        self._pending.append(data)
        self._pending_bytes += len(data)
        if not now and self._pending_bytes < _BLOCK:
            return False
        self._parse(b"".join(self._pending), final=False)
        self._pending, self._pending_bytes = [], 0
        return True

    def finish(self) -> None:
        self._parse(b"".join(self._pending), final=True)

    def _parse(self, data: bytes, final: bool) -> None:
        """Parse `data` in parts that end where the part as stored reaches a multiple of _BLOCK, and check
        there that expat is not that far into one token (the same places whether rows were scanned)."""
        at = 0
        while True:
            end = at + _BLOCK - (self.fed + self.scanned) % _BLOCK
            self._parse_piece(data[at:end], final and end >= len(data))
            if end <= len(data) and self.fed - self.parser.CurrentByteIndex > MAX_TOKEN_BYTES:
                # at a multiple of _BLOCK, the last event began that far back
                raise TooLong(f"{self.part} holds a comment or tag longer than {MAX_TOKEN_BYTES} bytes")
            if end >= len(data):
                return
            at = end

    def _parse_piece(self, data: bytes, final: bool) -> None:
        try:
            self.parser.Parse(data, final)
        except expat.ExpatError as error:
            where = self.parser.ErrorByteIndex + self.scanned
            raise _Malformed(f"{expat.ErrorString(error.code)} at byte {where} of {self.part}") from None
        self.fed += len(data)


def _parse(
    stream: IO[bytes], part: str, start: Callable[..., None], end: Callable[..., None], text: Callable[..., None]
) -> None:
    parser = _parser(start, end, text)
    feeder = _Feeder(parser, part)
    for block in iter(lambda: stream.read(_BLOCK), b""):
        feeder.feed(block)
    feeder.finish()


def _sheet_path(archive: zipfile.ZipFile, sheet_name: str | None) -> str:
    """The path of the sheet named, or of the first one a spreadsheet program shows (the first of all when
    every one is hidden): a hidden first tab of notes is not what the user sees as the first sheet."""
    sheets: list[tuple[str, str]] = []
    visible: list[tuple[str, str]] = []
    targets: dict[str, str] = {}

    def workbook_start(name: str, attrs: dict[str, str]) -> None:
        if local_name(name) == "sheet":
            _count(sheets, "xl/workbook.xml", "sheets")
            relation = next((value for key, value in attrs.items() if key.endswith(":id")), "")
            sheets.append((attrs.get("name", ""), relation))
            if attrs.get("state", "visible") == "visible":
                visible.append(sheets[-1])

    def rels_start(name: str, attrs: dict[str, str]) -> None:
        if local_name(name) == "Relationship":
            _count(targets, "xl/_rels/workbook.xml.rels", "relationships")
            targets[attrs.get("Id", "")] = attrs.get("Target", "")

    with archive.open("xl/workbook.xml") as stream:
        _parse(stream, "xl/workbook.xml", workbook_start, lambda *_: None, lambda *_: None)
    with archive.open("xl/_rels/workbook.xml.rels") as stream:
        _parse(stream, "xl/_rels/workbook.xml.rels", rels_start, lambda *_: None, lambda *_: None)
    if not sheets:
        raise UnreadableFile("the workbook has no sheet")
    first = (visible or sheets)[0]
    chosen = first if sheet_name is None else next((s for s in sheets if s[0] == sheet_name), None)
    if chosen is None:
        raise UnreadableFile(f"the workbook has no sheet named '{sheet_name}' (it has {[s[0] for s in sheets]})")
    target = targets.get(chosen[1], "")
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def _shared_strings(archive: zipfile.ZipFile, scan: bool) -> TextTable:
    """The shared-strings table: blocks of plain items scanned where expat stands between items (see
    shared_strings.py), expat for the rest."""
    table = SharedStrings()
    if "xl/sharedStrings.xml" not in archive.namelist():
        return table.strings
    parser = table.parser = _parser(table.start, table.end, table.text)
    with archive.open("xl/sharedStrings.xml") as stream:
        blocks = iter(lambda: stream.read(_BLOCK), b"")
        feeder, between = _Feeder(parser, "xl/sharedStrings.xml"), False
        for whole, piece in item_blocks(blocks) if scan else ((False, block) for block in blocks):
            if between and whole and table.take(piece):
                feeder.scanned += len(piece)
            elif feeder.feed(piece):
                between = table.between_items(feeder.fed)
            else:
                between = False  # the block waits with others for expat
        feeder.finish()
    return table.strings


def _date_styles(archive: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles whose number format shows a date."""
    custom: dict[int, str] = {}
    formats: list[int] = []
    state = {"in_xfs": False}

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = local_name(name)
        if tag == "numFmt":
            _count(custom, "xl/styles.xml", "number formats")
            custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif tag == "cellXfs":
            state["in_xfs"] = True
        elif tag == "xf" and state["in_xfs"]:
            _count(formats, "xl/styles.xml", "cell formats")
            formats.append(int(attrs.get("numFmtId", "0")))

    def end(name: str) -> None:
        if local_name(name) == "cellXfs":
            state["in_xfs"] = False

    if "xl/styles.xml" in archive.namelist():
        with archive.open("xl/styles.xml") as stream:
            _parse(stream, "xl/styles.xml", start, end, lambda *_: None)
    return {index for index, format_id in enumerate(formats) if format_shows_date(format_id, custom)}


@dataclass
class RowPlace:
    """Where the row a reader last gave ends in the sheet's part: -1 when expat read it (only a scanned
    row's place is known)."""

    end: int = -1


class NoPieceStart(Exception):
    """A sheet cannot be read from the middle: its start or the rows where the reading would begin are
    not in the plain form, so what stands before them is not known without reading it."""


def sheet_part_size(source: IO[bytes], sheet_name: str | None = None, limits: ZipLimits | None = None) -> int:
    """The size of the sheet's XML as the ZIP declares it; 0 when that cannot be told (the reading says
    what is wrong). The stream is rewound."""
    try:
        archive, _ = open_archive(source, limits or ZipLimits(), "the XLSX file")
        with archive:
            return archive.getinfo(_sheet_path(archive, sheet_name)).file_size
    except Exception:  # only a hint: the reading that follows refuses what is damaged
        return 0
    finally:
        source.seek(0)


def read_sheet(
    source: IO[bytes],
    sheet_name: str | None = None,
    limits: ZipLimits | None = None,
    scan: bool = True,
    *,
    skip_to: int = 0,
    place: RowPlace | None = None,
    width: int = sys.maxsize,
) -> Iterator[SheetRow]:
    """read_sheet_runs asking for no run: only rows."""
    rows = read_sheet_runs(source, sheet_name, limits, scan, skip_to=skip_to, place=place, width=width)
    return cast(Iterator[SheetRow], rows)


def read_sheet_runs(
    source: IO[bytes],
    sheet_name: str | None = None,
    limits: ZipLimits | None = None,
    scan: bool = True,
    *,
    skip_to: int = 0,
    place: RowPlace | None = None,
    width: int = sys.maxsize,
    runs: RecordRuns | None = None,
) -> Iterator[SheetRow | RecordRun]:
    """(row number, cells) for every row the sheet stores, in order; UnreadableFile if it is damaged.
    A row's cells past the first `width` are read (and may make it damaged) but not given. Where `runs`
    asks for them, runs of plain rows come as the records its consumer writes (RecordRun), not as rows.

    Plain rows and shared strings are scanned and the rest read with expat (see sheet_rows.py and
    shared_strings.py); `scan=False` reads all of the workbook with expat.

    `skip_to` reads the first row, then leaves out, unread, every row up to the first that ends at or
    after that byte of the sheet's part, and reads on from there as if they had been scanned (see
    sheet_pieces.py: what it reads is right only once a reading from the start confirms where it began).
    `place` is kept at the end of the row last given."""
    archive, _ = open_archive(source, limits or ZipLimits(), "the XLSX file")
    with archive:
        try:
            rows = SheetRows(_shared_strings(archive, scan), _date_styles(archive), width)
            path = _sheet_path(archive, sheet_name)
            with archive.open(path) as stream:
                yield from _rows(stream, rows, scan, path, skip_to, place or RowPlace(), runs)
        except (_Refused, TooLong) as refusal:
            raise UnreadableFile(f"the XLSX file is refused: {refusal}") from None
        except (
            expat.ExpatError,
            KeyError,
            ValueError,
            IndexError,
            OverflowError,
            zipfile.BadZipFile,
            zlib.error,
            EOFError,
            OSError,
        ) as error:
            raise UnreadableFile(
                f"the XLSX file is damaged: {str(error).splitlines()[0] if str(error) else type(error).__name__}"
            ) from None


class _Reading:
    """Where a reading of the sheet's rows stands: what expat has read, and whether it stands between rows
    of sheetData, where a row may be scanned."""

    def __init__(self, rows: SheetRows, feeder: _Feeder, skip_to: int, runs: RecordRuns | None) -> None:
        self.rows, self.feeder, self.skip_to, self.runs = rows, feeder, skip_to, runs
        self.between = False
        self.first = self.leaving_out = skip_to > 0  # the first row is to be scanned, then rows left out

    def leave_out(self, piece: bytes) -> bool:
        """Leave out a whole "rows" piece that ends before `skip_to`, as `unit` would leave out each of its
        rows; whether it did."""
        feeder = self.feeder
        if not (self.leaving_out and not self.first and self.between):
            return False
        if feeder.fed + feeder.scanned + len(piece) >= self.skip_to:
            return False  # a row in it crosses skip_to: `unit` finds it
        feeder.scanned += len(piece)
        return True

    def run(self, piece: bytes, at: int) -> int:
        """Plain rows of a "rows" piece from byte `at` on, read at once (SheetRows.take_run), or written as
        records where `runs` asks for them (SheetRows.take_records); where they end."""
        if not self.between or self.leaving_out:
            return at
        offset = self.feeder.fed + self.feeder.scanned - at
        if self.runs is not None and not self.first:
            stop = self.rows.take_records(piece, at, offset, self.runs)
            if stop == at:  # the next rows are the consumer's to see: a few as rows (the header row alone,
                # before the consumer knows its columns), then ask again
                rows = _ROWS_BETWEEN_RUNS if self.runs.count else 1
                stop = self.rows.take_run(piece, at, offset, max_rows=rows)
        else:
            stop = self.rows.take_run(piece, at, offset)
        if stop > at:
            self.feeder.scanned += stop - at
            self.first = False
        return stop

    def unit(self, kind: str, piece: bytes) -> None:
        """One piece: a row (that may be plain) or other XML."""
        rows, feeder = self.rows, self.feeder
        end = feeder.fed + feeder.scanned + len(piece)
        if self.leaving_out and not self.first:
            if not (self.between and kind == "row"):
                raise NoPieceStart
            feeder.scanned += len(piece)
            if end >= self.skip_to:
                self.leaving_out, rows.row_number = False, -1  # unknown: the next row must say its number
        elif self.between and kind == "row" and rows.take(piece, end):
            feeder.scanned += len(piece)
            self.first = False
        elif self.first and (kind == "row" or rows.rows_depth >= 0):
            raise NoPieceStart  # the first row is not plain, or the sheet is not cut into rows
        elif feeder.feed(piece, now=kind == "xml"):
            self.between = rows.between_rows(feeder.fed)
        else:
            self.between = False  # the row waits with others for expat

    def read(self, place: RowPlace, last: bool = False) -> Iterator[SheetRow | RecordRun]:
        """The rows read so far, each with its place."""
        rows = self.rows
        if rows.done and self.first and not last:
            raise NoPieceStart  # rows expat read before the first row was scanned
        for row, place.end in zip(rows.done, rows.ends, strict=True):
            yield row
        rows.done.clear()
        rows.ends.clear()


def _rows(
    stream: IO[bytes], rows: SheetRows, scan: bool, path: str, skip_to: int, place: RowPlace, runs: RecordRuns | None
) -> Iterator[SheetRow | RecordRun]:
    """The sheet's rows: runs of plain rows where expat stands between rows are scanned, and expat reads
    everything else."""
    rows.parser = _parser(rows.start, rows.end, rows.data)
    blocks = iter(lambda: stream.read(_BLOCK), b"")
    reading = _Reading(rows, _Feeder(rows.parser, path), skip_to, runs)
    for kind, piece in pieces(blocks) if scan else (("xml", block) for block in blocks):
        if kind == "xml":
            reading.unit("xml", piece)
            yield from reading.read(place)
            continue
        if reading.leave_out(piece):
            continue
        at = 0
        while at < len(piece):
            stop = reading.run(piece, at)
            if stop == at:  # not a row the scan reads, or not where it may: the next row, as it is
                row, stop = row_units(piece, at)
                reading.unit("row", row)
            at = stop
            yield from reading.read(place)
    reading.feeder.finish()
    yield from reading.read(place, last=True)
