"""XLSX: the rows of one sheet, streamed, with cells typed by the spreadsheet."""

from __future__ import annotations

import zipfile
import zlib
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO, Any
from xml.etree.ElementTree import ParseError

import openpyxl
from defusedxml import DefusedXmlException
from openpyxl import load_workbook
from openpyxl.utils.datetime import from_excel
from openpyxl.utils.exceptions import InvalidFileException

from app.errors import UnreadableFile
from app.importing.archives import ZipLimits, check_workbook
from specifications.model import ColumnKind

# What a damaged workbook makes openpyxl raise: ZIP and XML errors, and its own surprise at odd content.
_DAMAGE = (
    zipfile.BadZipFile, zlib.error, ParseError, KeyError, ValueError, TypeError, AttributeError, IndexError, OSError,
    EOFError,
)  # fmt: skip
SheetCell = str | int | float | bool | datetime | date | time | Decimal | None
_WHOLE_NUMBER_KINDS = frozenset({ColumnKind.IDENTIFIER, ColumnKind.CODE, ColumnKind.INTEGER})


def iter_sheet(
    source: IO[bytes], sheet_name: str | None = None, limits: ZipLimits | None = None
) -> Iterator[tuple[int, tuple[SheetCell, ...]]]:
    """(row number, cells) for every row of the sheet that the file stores, in order.

    The file is checked as a ZIP first; openpyxl parses its XML with defusedxml, which refuses
    entity expansion and external entities.
    """
    if not openpyxl.DEFUSEDXML:
        raise UnreadableFile("XLSX files cannot be read safely here: the defusedxml package is missing")
    check_workbook(source, limits or ZipLimits())
    try:
        workbook = load_workbook(source, read_only=True, data_only=True)
    except (InvalidFileException, *_DAMAGE) as error:
        raise UnreadableFile(_reason(error, "the XLSX file cannot be opened")) from None
    try:
        if sheet_name is not None and sheet_name not in workbook.sheetnames:
            raise UnreadableFile(f"the workbook has no sheet named '{sheet_name}' (it has {workbook.sheetnames})")
        sheet: Any = workbook[sheet_name] if sheet_name else workbook.worksheets[0]
        sheet.reset_dimensions()  # a stated dimension may promise a million phantom rows
        for row in sheet.iter_rows():
            cells = tuple(cell.value for cell in row)
            number = next((cell.row for cell in row if getattr(cell, "row", None)), None)
            if number is not None:
                yield int(number), cells
    except _DAMAGE as error:
        raise UnreadableFile(_reason(error, "the XLSX file is damaged")) from None
    finally:
        workbook.close()


def _reason(error: BaseException, what: str) -> str:
    cause: BaseException | None = error
    while cause is not None:
        if isinstance(cause, DefusedXmlException):
            return f"{what}: its XML declares entities, which are refused (entity expansion, external entities)"
        cause = cause.__cause__ or cause.__context__
    first_line = str(error).splitlines()[0] if str(error) else type(error).__name__
    return f"{what}: {first_line}"


def _float_text(value: float, kind: ColumnKind | None) -> str:
    if value.is_integer() and (kind in _WHOLE_NUMBER_KINDS or abs(value) < 1e15):
        return str(int(value))
    return format(Decimal(repr(value)), "f")


def _serial_date(value: float) -> str:
    """A spreadsheet serial date left bare (45352 is 2024-03-01)."""
    try:
        moment = from_excel(value)
    except (ValueError, OverflowError, TypeError):
        return str(value)
    if isinstance(moment, datetime):
        return (
            moment.isoformat()
            if (moment.hour, moment.minute, moment.second) != (0, 0, 0)
            else moment.date().isoformat()
        )
    return str(moment)


def cell_text(value: SheetCell, kind: ColumnKind | None) -> str:
    """A typed spreadsheet cell as the text its column's kind expects (2007.0 -> '2007')."""
    if value is None:
        return ""
    if isinstance(value, bool):
        if kind is ColumnKind.FLAG:
            return "Y" if value else "N"
        return "TRUE" if value else "FALSE"
    if kind is ColumnKind.DATE and isinstance(value, int | float):
        return _serial_date(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float_text(value, kind)
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    return str(value)
