"""XLSX read straight from its XML with expat, streaming: rows in flat memory, at the speed of the parser.

Memory holds the shared-strings table (the distinct texts of the workbook) and one block of rows.
Cells are typed as the spreadsheet typed them: shared and inline strings, numbers (whole numbers
as int), booleans, errors as their text, and numbers in a date style as datetimes. Formula cells
give their cached value. No DTD, entity or external reference is accepted in any part.

openpyxl, whose tables of date formats and serial dates this uses, is imported when a workbook is read:
a worker that only ever reads CSV does not hold it (6 MB of memory).
"""

from __future__ import annotations

import posixpath
import zipfile
import zlib
from collections.abc import Callable, Iterator
from datetime import datetime
from typing import IO, Any
from xml.parsers import expat

from app.errors import UnreadableFile
from app.importing.archives import ZipLimits, open_archive

SheetValue = str | int | float | bool | datetime | None
_BLOCK = 1 << 16


class _Refused(Exception):
    pass


def _refuse(*_: object) -> Any:
    raise _Refused("its XML declares entities, which are refused (a DTD, entity expansion, external entities)")


def _parser() -> Any:
    parser = expat.ParserCreate()
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    parser.UnparsedEntityDeclHandler = _refuse
    parser.ExternalEntityRefHandler = _refuse
    parser.SetParamEntityParsing(expat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.buffer_text = True
    return parser


def _parse(stream: IO[bytes], start: Callable[..., None], end: Callable[..., None], text: Callable[..., None]) -> None:
    parser = _parser()
    parser.StartElementHandler, parser.EndElementHandler, parser.CharacterDataHandler = start, end, text
    for block in iter(lambda: stream.read(_BLOCK), b""):
        parser.Parse(block, False)
    parser.Parse(b"", True)


def _local(name: str) -> str:
    """The tag without a namespace prefix (x:c -> c); parts are read without namespace processing."""
    return name.rsplit(":", 1)[-1] if ":" in name else name


def _sheet_path(archive: zipfile.ZipFile, sheet_name: str | None) -> str:
    sheets: list[tuple[str, str]] = []
    targets: dict[str, str] = {}

    def workbook_start(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "sheet":
            relation = next((value for key, value in attrs.items() if key.endswith(":id")), "")
            sheets.append((attrs.get("name", ""), relation))

    def rels_start(name: str, attrs: dict[str, str]) -> None:
        if _local(name) == "Relationship":
            targets[attrs.get("Id", "")] = attrs.get("Target", "")

    with archive.open("xl/workbook.xml") as stream:
        _parse(stream, workbook_start, lambda *_: None, lambda *_: None)
    with archive.open("xl/_rels/workbook.xml.rels") as stream:
        _parse(stream, rels_start, lambda *_: None, lambda *_: None)
    if not sheets:
        raise UnreadableFile("the workbook has no sheet")
    chosen = sheets[0] if sheet_name is None else next((s for s in sheets if s[0] == sheet_name), None)
    if chosen is None:
        raise UnreadableFile(f"the workbook has no sheet named '{sheet_name}' (it has {[s[0] for s in sheets]})")
    target = targets.get(chosen[1], "")
    return target.lstrip("/") if target.startswith("/") else posixpath.normpath(posixpath.join("xl", target))


def _shared_strings(archive: zipfile.ZipFile) -> list[str]:
    strings: list[str] = []
    parts: list[str] = []
    state = {"in_t": False, "phonetic": False}

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "si":
            parts.clear()
        elif tag == "rPh":
            state["phonetic"] = True
        elif tag == "t" and not state["phonetic"]:
            state["in_t"] = True

    def end(name: str) -> None:
        tag = _local(name)
        if tag == "t":
            state["in_t"] = False
        elif tag == "rPh":
            state["phonetic"] = False
        elif tag == "si":
            strings.append("".join(parts))

    def text(data: str) -> None:
        if state["in_t"]:
            parts.append(data)

    if "xl/sharedStrings.xml" in archive.namelist():
        with archive.open("xl/sharedStrings.xml") as stream:
            _parse(stream, start, end, text)
    return strings


def _date_styles(archive: zipfile.ZipFile) -> set[int]:
    """Indexes of the cell styles whose number format shows a date."""
    from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format  # see the module's text

    custom: dict[int, str] = {}
    formats: list[int] = []
    state = {"in_xfs": False}

    def start(name: str, attrs: dict[str, str]) -> None:
        tag = _local(name)
        if tag == "numFmt":
            custom[int(attrs.get("numFmtId", "0"))] = attrs.get("formatCode", "")
        elif tag == "cellXfs":
            state["in_xfs"] = True
        elif tag == "xf" and state["in_xfs"]:
            formats.append(int(attrs.get("numFmtId", "0")))

    def end(name: str) -> None:
        if _local(name) == "cellXfs":
            state["in_xfs"] = False

    if "xl/styles.xml" in archive.namelist():
        with archive.open("xl/styles.xml") as stream:
            _parse(stream, start, end, lambda *_: None)
    dated = set()
    for index, format_id in enumerate(formats):
        code = custom.get(format_id, BUILTIN_FORMATS.get(format_id, "General"))
        if is_date_format(code):
            dated.add(index)
    return dated


def serial_date(number: float) -> object:
    """A spreadsheet serial number as the date, time or datetime it stands for (openpyxl's reading)."""
    from openpyxl.utils.datetime import from_excel  # see the module's text

    return from_excel(number)


_DIGITS = "0123456789"


def _column_of(letters: str) -> int:
    number = 0
    for letter in letters:
        number = number * 26 + ord(letter) - 64
    return number - 1


class _SheetRows:
    """expat handlers that turn sheet XML into (row number, cells) as it streams."""

    def __init__(self, shared: list[str], dated: set[int]) -> None:
        self.shared = shared
        self.dated = {str(index) for index in dated}
        self.columns: dict[str, int] = {}
        self.done: list[tuple[int, list[SheetValue]]] = []
        self.row_number = 0
        self.cells: list[SheetValue] = []
        self.column, self.kind, self.style = 0, "n", "0"
        self.text = ""  # the first piece of the cell's text (expat buffers, so usually all of it)
        self.more: list[str] = []
        self.collecting = False

    # The handlers run for every element of the sheet (three per text cell), so the usual unprefixed
    # names are tested first and a prefixed one (x:c) is looked at again without its prefix.
    def start(self, name: str, attrs: dict[str, str]) -> None:
        if name == "c":
            reference = attrs.get("r")
            if reference is None:
                self.column = len(self.cells)
            else:
                letters = reference.rstrip(_DIGITS)
                column = self.columns.get(letters)
                if column is None:
                    column = self.columns[letters] = _column_of(letters)
                self.column = column
            self.kind = attrs.get("t", "n")
            self.style = attrs.get("s", "0")
            self.text = ""
            if self.more:
                self.more = []
        elif name == "t" or name == "v":
            self.collecting = True
        elif name == "is":
            return
        elif name == "row":
            number = attrs.get("r")
            self.row_number = int(number) if number else self.row_number + 1
            self.cells = []
        elif ":" in name:
            self.start(_local(name), attrs)

    def end(self, name: str) -> None:
        if name == "c":
            if self.text:
                cells = self.cells
                while len(cells) < self.column:
                    cells.append(None)
                text = self.text + "".join(self.more) if self.more else self.text
                cells.append(text if self.kind == "inlineStr" else self._value(text))
        elif name == "t" or name == "v":
            self.collecting = False
        elif name == "is":
            return
        elif name == "row":
            self.done.append((self.row_number, self.cells))
        elif ":" in name:
            self.end(_local(name))

    def data(self, text: str) -> None:
        if self.collecting:
            if self.text:  # a long text comes in pieces: kept in a list, never copied piece by piece
                self.more.append(text)
            else:
                self.text = text

    def _value(self, text: str) -> SheetValue:
        kind = self.kind
        if kind == "s":
            return self.shared[int(text)]
        if kind == "inlineStr" or kind == "str" or kind == "e":
            return text
        if kind == "b":
            return text.strip() == "1"
        if kind == "d":
            return datetime.fromisoformat(text.strip())
        number: int | float = int(text) if text.lstrip("-").isdigit() else float(text)
        if self.style in self.dated:
            moment = serial_date(number)
            return moment if isinstance(moment, datetime) else number
        return number


def read_sheet(
    source: IO[bytes], sheet_name: str | None = None, limits: ZipLimits | None = None
) -> Iterator[tuple[int, list[SheetValue]]]:
    """(row number, cells) for every row the sheet stores, in order; UnreadableFile if it is damaged."""
    archive, _ = open_archive(source, limits or ZipLimits(), "the XLSX file")
    with archive:
        try:
            shared, dated = _shared_strings(archive), _date_styles(archive)
            rows = _SheetRows(shared, dated)
            parser = _parser()
            parser.StartElementHandler, parser.EndElementHandler = rows.start, rows.end
            parser.CharacterDataHandler = rows.data
            with archive.open(_sheet_path(archive, sheet_name)) as stream:
                for block in iter(lambda: stream.read(_BLOCK), b""):
                    parser.Parse(block, False)
                    yield from rows.done
                    rows.done.clear()
                parser.Parse(b"", True)
                yield from rows.done
        except _Refused as refusal:
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
