"""A sheet's rows from its XML: expat's events for any XML, and a direct scan for the plain rows most files hold.

Spreadsheet programs write nearly every row in one plain form, `<row r="2"><c r="A2" t="s"><v>7</v></c>...
</row>`: no comments, no rich text, no formulas, attributes in a fixed order. Such a row is read with two
regular expressions, about twice as fast as expat's seven callbacks per cell. Anything else (a row with an
entity the scan does not know, a formula, a prefix, whitespace between cells, a comment) goes to expat, which
sees the document minus the scanned rows: a well-formed document still, since a scanned row is a whole
element with nothing but cells in it. The scan takes a row only where expat stands between two rows of
sheetData (see `SheetRows.between_rows`), so that a row-like text inside a comment is never taken for a row.

Where the compiled scan is built (_rowscan.c), `SheetRows.take_run` reads a run of plain rows at once, several
times faster than `take`: it reads a row only when it is sure take would read it, and to the same cells,
and leaves any other row to take (and so to expat), stopping before it.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from app.importing.readers.serial_dates import serial_moment
from app.importing.readers.shared_strings import TextTable
from app.importing.readers.xml_text import (
    MAX_TEXT,
    TEXT,
    NotPlain,
    TooLong,
    local_name,
    plain_head,
    plain_markup,
    xml_text,
)

try:
    from app.importing.readers import _rowscan
except ImportError:  # built without a C compiler: every plain row is read by SheetRows.take
    _rowscan = None  # type: ignore[assignment]
COMPILED = _rowscan is not None


class UnsavedFormula:
    """A formula cell with no value saved beside it (what a program that writes formulas without computing
    them leaves): nothing to import until a spreadsheet program computes and saves it."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "UNSAVED_FORMULA"


UNSAVED_FORMULA = UnsavedFormula()
SheetValue = str | int | float | bool | datetime | UnsavedFormula | None
SheetRow = tuple[int, list[SheetValue]]

_DIGITS = "0123456789"
_LETTERS = re.compile(r"[A-Z]{1,3}")  # a column's letters, up to ZZZ (spreadsheet programs stop at XFD)
_ROW_END = b"</row>"
_SHEET_DATA = b"<sheetData>"
# A longer row is left to expat, which reads it in pieces: a row of 256 KiB of empty cells costs the scan
# about 7 MB of match tuples while it lasts.
MAX_SCANNED_ROW = 1 << 18

# One plain cell (an empty one may end ` />`, as openpyxl writes it), or (last group) anything else, up to
# the next tag.
_CELL = re.compile(
    r'<c(?: r="([A-Z]{1,3})[0-9]+")?(?: s="([0-9]+)")?(?: t="([a-zA-Z]+)")?'
    rf"(?: ?/>|>(?:<v>({TEXT})</v>|<is><t>({TEXT})</t></is>)?</c>)|([\s\S][^<]*)"
)
# A row's other attributes: names as XML allows them in ASCII, values of characters XML allows but '<' and
# '&' (whose meaning expat would have to give). One pattern for both, so that the names found are the names.
_ATTRIBUTE = r' ([a-zA-Z_][a-zA-Z0-9_.:-]*)="[^"<&\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*"'
_ROW_START = re.compile(rf'[ \t\r\n]*<row(?: r="([0-9]+)")?((?:{_ATTRIBUTE})*)>')
_ATTRIBUTE_NAME = re.compile(_ATTRIBUTE)


class RecordRuns:
    """What a reader's consumer asks of it (see Normalizer): that runs of plain rows come as the records it
    would write for them (RecordRun), not as rows. Set between the rows the consumer takes; `max_records` 0
    asks for rows."""

    def __init__(self) -> None:
        self.kinds = b""  # each column's kind, as sheet_record codes them
        self.count = 0  # the header's columns
        self.max_chars = 0  # the characters a row may hold in all before the consumer must look at its cells
        self.max_records = 0  # records (rows that are not blank) a run may hold
        self.limit = 0  # a run's rows end before this byte of the sheet's part

    def wanted(self) -> bool:
        return COMPILED and self.max_records > 0 and self.limit > 0 and self.count > 0


@dataclass(frozen=True, slots=True)
class RecordRun:
    """Rows written as records (`data`): `rows` of them, `record_count` not blank, the last numbered
    `last_row`."""

    data: bytes
    rows: int
    record_count: int
    last_row: int


def _column_of(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


class SheetRows:
    """Turns sheet XML into (row number, cells): expat's handlers, and `take` for a plain row."""

    def __init__(self, shared: TextTable, dated: set[int], width: int = sys.maxsize) -> None:
        self.shared = shared
        # Cells kept of a row: those further on are read but not kept, and no row is filled with empty
        # cells past it (a cell at column XFD would otherwise cost 16,383 of them).
        self.width = width
        self.dated = {str(index) for index in dated}
        self._dated_flags = bytes(index in dated for index in range(max(dated, default=-1) + 1))
        self.columns: dict[str, int] = {}
        self.done: list[SheetRow | RecordRun] = []
        self.ends: list[int] = []  # where each row of `done` ends in the part: -1 for a row expat read
        self.row_number = 0
        self.cells: list[SheetValue] = []
        self.column, self.kind, self.style = 0, "n", "0"
        self.text = ""  # the first piece of the cell's text (expat buffers, so usually all of it)
        self.more: list[str] = []
        self.held = 0  # the cell's text so far: characters, and 64 for each piece (see MAX_TEXT)
        self.collecting = False
        self.in_cell = False  # text is collected only inside a cell: elsewhere it is never used
        self.formula = self.valued = False  # the cell holds a formula; a value (<v>, perhaps empty)
        self.phonetic = False  # inside a phonetic reading (<rPh>) of an inline string: not the cell's text
        self.depth = 0  # elements open in what expat has read
        self.rows_depth = -1  # the depth inside sheetData, once expat has read its start tag
        self.boundary = -1  # the byte (of what expat read) just past `<sheetData>` or a row's end tag in it
        # Once sheetData (or anything around it) has ended, the rows that follow are not where a reading
        # from the middle would assume them: their places are not told (see sheet_split.py).
        self.past_sheet_data = False
        self.parser: Any = None  # the expat parser these handlers belong to

    # The handlers run for every element of the sheet (three per text cell), so the usual unprefixed
    # names are tested first and a prefixed one (x:c) is looked at again without its prefix.
    def start(self, name: str, attrs: dict[str, str]) -> None:
        self.depth += 1
        if name == "c":
            reference = attrs.get("r")
            self.column = self._column(reference.rstrip(_DIGITS)) if reference else len(self.cells)
            self.kind = attrs.get("t", "n")
            self.style = attrs.get("s", "0")
            self.in_cell = True
            self.text = ""
            self.formula = self.valued = False
            if self.more:
                self.more = []
        elif name == "t" or name == "v":
            self.collecting = self.in_cell and not self.phonetic
            self.valued = self.valued or name == "v"
        elif name == "is":
            return
        elif name == "row":
            number = attrs.get("r")
            self.row_number = int(number) if number else self.row_number + 1
            self.cells = []
        elif name == "f":
            self.formula = self.in_cell
        elif name == "rPh":
            self.phonetic = True
        elif name == "sheetData":
            if self.rows_depth >= 0:  # another, inside: the rows in it are not the sheet's rows' siblings
                self.past_sheet_data = True
            self.rows_depth = self.depth
            self.boundary = self.parser.CurrentByteIndex + len(_SHEET_DATA)
        elif ":" in name:
            self.depth -= 1  # counted again as the unprefixed name
            self.start(local_name(name), attrs)

    def end(self, name: str) -> None:
        self.depth -= 1
        if self.depth < self.rows_depth:
            self.past_sheet_data = True
        if name == "c":
            self.in_cell = False
            if self.text:
                text = self.text + "".join(self.more) if self.more else self.text
                self._put(text if self.kind == "inlineStr" else self._value(self.kind, self.style, text))
            elif self.formula and not (self.valued and self.kind == "str"):
                # only a text formula's saved value may be empty: openpyxl writes an empty <v/> for none
                self._put(UNSAVED_FORMULA)
        elif name == "t" or name == "v":
            self.collecting = False
        elif name == "is":
            return
        elif name == "rPh":
            self.phonetic = False
        elif name == "row":
            self.done.append((self.row_number, self.cells))
            self.ends.append(-1)
            if self.depth == self.rows_depth:
                self.boundary = self.parser.CurrentByteIndex + len(_ROW_END)
        elif ":" in name:
            self.depth += 1
            self.end(local_name(name))

    def data(self, text: str) -> None:
        if self.collecting:
            if self.text:  # a long text comes in pieces: kept in a list, never copied piece by piece
                self.more.append(text)
                self.held += len(text) + 64
            else:
                self.text = text
                self.held = len(text) + 64
            if self.held > MAX_TEXT:
                raise TooLong(f"a cell's text is longer than {MAX_TEXT} characters")

    def _put(self, value: SheetValue) -> None:
        """The cell's value at its column, after empty cells up to it (none past the width)."""
        cells, width = self.cells, self.width
        while len(cells) < self.column and len(cells) < width:
            cells.append(None)
        if len(cells) < width:
            cells.append(value)

    def between_rows(self, fed: int) -> bool:
        """Whether expat, having read `fed` bytes, stands in sheetData with no row open: what it read ends
        with the `<sheetData>` start tag or with the end tag of one of its rows (not inside a comment)."""
        return self.depth == self.rows_depth and self.boundary == fed

    def take(self, unit: bytes, end: int) -> bool:
        """Read one row in the plain form, which ends at byte `end` of the part; False, having read nothing,
        when `unit` is not one."""
        text = plain_markup(unit)
        if text is None:
            return False
        start = _ROW_START.match(text)
        if start is None or (start.group(2) and not _other_attributes_plain(start.group(2))):
            return False
        content = text[start.end() : -len(_ROW_END)]
        if content.count("<") > 6 * content.count("<c"):  # more tags than plain cells have: not one
            return False
        found = _CELL.findall(content)  # as many as the cells, given the check above
        cells: list[SheetValue] = []
        append, columns, shared, width = cells.append, self.columns, self.shared, self.width
        try:
            for letters, style, kind, value, inline, other in found:
                if other:  # something between or inside the cells
                    return False
                raw = value or inline
                if not raw:
                    continue
                if letters:
                    column = columns.get(letters)
                    if column is None:
                        column = self._column(letters)
                    while len(cells) < column and len(cells) < width:
                        append(None)
                if "&" in raw or "\r" in raw:
                    raw = xml_text(raw)
                if kind == "inlineStr":
                    cell: SheetValue = raw
                elif kind == "s":  # as _value reads it, without the call
                    cell = shared[int(raw)]
                else:
                    cell = self._value(kind or "n", style or "0", raw)
                if len(cells) < width:
                    append(cell)
        except NotPlain:
            return False
        number = start.group(1)
        self.row_number = int(number) if number else self.row_number + 1
        self.done.append((self.row_number, cells))
        self.ends.append(-1 if self.past_sheet_data else end)
        self.cells = cells  # as expat leaves it: what stray cells after this row would be added to
        return True

    def take_run(self, data: bytes, at: int, offset: int, max_rows: int = sys.maxsize) -> int:
        """Read the plain rows of `data` from byte `at` on, in compiled code, up to the first that is not plain
        (or the end, or `max_rows` rows); where they end. `offset` is where `data` begins in the part."""
        if _rowscan is None:
            return at
        table, bounds = self.shared.buffers()
        stop, number, done, ends = _rowscan.scan(
            data,
            at,
            self.row_number,
            table,
            bounds,
            self._dated_flags,
            dated_value,
            offset,
            self.past_sheet_data,
            self.width,
            max_rows,
        )
        if done:
            self.done += done
            self.ends += ends
            self.row_number = number
            self.cells = done[-1][1]
        return stop

    def take_records(self, data: bytes, at: int, offset: int, runs: RecordRuns) -> int:
        """Write the plain rows of `data` from byte `at` on as `runs` asks, in compiled code, up to the first
        that the compiled code cannot write (or its limits); where they end. One RecordRun is added to `done`
        for them all."""
        if _rowscan is None or self.past_sheet_data or not runs.wanted():
            return at
        table, bounds = self.shared.buffers()
        stop, number, data_written, count, record_count, end = _rowscan.scan_records(
            data,
            at,
            self.row_number,
            table,
            bounds,
            self._dated_flags,
            offset,
            self.width,
            runs.kinds,
            runs.count,
            runs.max_chars,
            runs.max_records,
            runs.limit,
        )
        if count:
            self.done.append(RecordRun(data_written, count, record_count, number))
            self.ends.append(end)
            self.row_number = number
            self.cells = []  # as expat would leave it: stray cells after these rows are in no row given
        return stop

    def _column(self, letters: str) -> int:
        column = self.columns.get(letters)
        if column is None:
            if not _LETTERS.fullmatch(letters):  # r="AAAAAAA1" would stand 8 billion columns to the right
                raise ValueError(f"a cell's reference names the column '{letters[:16]}', which no sheet has")
            column = self.columns[letters] = _column_of(letters)
        return column

    def _value(self, kind: str, style: str, text: str) -> SheetValue:
        if kind == "s":
            return self.shared[int(text)]
        if kind == "inlineStr" or kind == "str" or kind == "e":
            return text
        if kind == "b":
            return text.strip() == "1"
        if kind == "d":
            return datetime.fromisoformat(text.strip())
        number: int | float = int(text) if text.lstrip("-").isdigit() else float(text)
        return dated_value(number) if style in self.dated else number


def dated_value(number: int | float) -> SheetValue:
    """A number in a date style: the datetime it stands for, or the number when it stands for a bare time."""
    moment = serial_moment(number)
    return moment if isinstance(moment, datetime) else number


def row_units(rows: bytes, at: int) -> tuple[bytes, int]:
    """The part of a "rows" piece from `at` up to and with the next `</row>`, and where it ends."""
    end = rows.index(_ROW_END, at) + len(_ROW_END)
    return rows[at:end], end


def _other_attributes_plain(attributes: str) -> bool:
    """A row's attributes after r: none of them r, none twice (expat refuses a repeated attribute)."""
    names = _ATTRIBUTE_NAME.findall(attributes)
    return "r" not in names and len(set(names)) == len(names)


Piece = tuple[Literal["xml", "rows"], bytes]


def pieces(blocks: Iterable[bytes]) -> Iterator[Piece]:
    """The sheet's bytes cut for reading: ("xml", up to and with `<sheetData>`), then ("rows", up to and with
    the last `</row>` of what has been read so far: each part ending in `</row>` may be a row, which `take`
    checks), and ("xml", the rest).

    Only a UTF-8 sheet whose head holds no comment, CDATA or processing instruction is cut into rows:
    in such a head the first `<sheetData>` is the element's start tag. Any other sheet, or one whose
    elements carry a prefix, is handed on in "xml" pieces as it comes.
    """
    buffer = b""
    cutting: bool | None = None  # None: the head is still being read
    for block in blocks:
        buffer += block
        at = 0
        if cutting is None:
            head_end = buffer.find(_SHEET_DATA)
            if head_end >= 0:
                at = head_end + len(_SHEET_DATA)
                cutting = plain_head(buffer[:at]) is not False
            elif plain_head(buffer) is False or len(buffer) > MAX_SCANNED_ROW:
                cutting = False
            else:
                continue
        if not cutting:
            yield "xml", buffer
            buffer = b""
            continue
        if at:
            yield "xml", buffer[:at]
        if (end := buffer.rfind(_ROW_END, at)) >= 0:
            end += len(_ROW_END)
            yield "rows", buffer[at:end]
            at = end
        if len(buffer) - at > MAX_SCANNED_ROW:
            yield "xml", buffer[at:]
            at = len(buffer)
        buffer = buffer[at:]
    if buffer:
        yield "xml", buffer
