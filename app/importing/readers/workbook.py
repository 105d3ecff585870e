"""XLSX: the rows of one sheet, and each cell as the text its column's kind expects."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from datetime import date, datetime, time
from decimal import Decimal
from typing import IO

from app.importing.archives import ZipLimits
from app.importing.readers.serial_dates import serial_moment
from app.importing.readers.sheet_rows import SheetRow, UnsavedFormula
from app.importing.readers.sheet_xml import RowPlace, read_sheet
from specifications.model import ColumnKind

SheetCell = str | int | float | bool | datetime | date | time | Decimal | UnsavedFormula | None
_WHOLE_NUMBER_KINDS = frozenset({ColumnKind.IDENTIFIER, ColumnKind.CODE, ColumnKind.INTEGER})


def iter_sheet(
    source: IO[bytes],
    sheet_name: str | None = None,
    limits: ZipLimits | None = None,
    *,
    skip_to: int = 0,
    place: RowPlace | None = None,
    width: int = sys.maxsize,
) -> Iterator[SheetRow]:
    """(row number, cells) for every row of the sheet that the file stores, in order, each of at most
    `width` cells.

    The file is checked as a ZIP first, then its XML is streamed (see sheet_xml.py): plain rows and
    shared strings scanned, the rest read by expat, which refuses DTDs, entity expansion and external
    entities; markup tokens and texts past their limits are refused (xml_text.py).
    """
    return read_sheet(source, sheet_name, limits, skip_to=skip_to, place=place, width=width)


# Whole numbers a float holds exactly, every one below it: written digit for digit in whole-number columns.
_EXACT_WHOLE = 2.0**53


def _float_text(value: float, kind: ColumnKind | None) -> str:
    """The float as a spreadsheet program shows it, to 15 significant digits, never with an exponent
    (1e-07 -> 0.0000001).

    Excel keeps 15 digits of what is typed, and shows and exports to CSV 15 digits of what it computes:
    a price of =3*1.1 is stored as 3.3000000000000003 and shown as 3.3, an 18-digit code typed in as
    123456789012345678 is stored as 1.23456789012345E+17 and shown as 123456789012345000. The float's
    further digits were never the user's."""
    if value.is_integer() and (abs(value) < 1e15 or (kind in _WHOLE_NUMBER_KINDS and abs(value) < _EXACT_WHOLE)):
        return str(int(value))
    text = f"{value:.15g}"
    # Most prices are written as they are (623.16): a third of the time of formatting them again through
    # Decimal, which only an exponent, inf or nan needs.
    return format(Decimal(text), "f") if "e" in text or "n" in text else text


def _serial_date(value: float) -> str:
    """A spreadsheet serial date left bare (45352 is 2024-03-01)."""
    try:
        moment = serial_moment(value)
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
    if type(value) is str:  # most cells: asked first, this is a third of a large sheet's plan
        return value
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
    if isinstance(value, UnsavedFormula):
        return ""  # the row has a problem for it (see Normalizer.add): this is what a header makes of it
    return str(value)
