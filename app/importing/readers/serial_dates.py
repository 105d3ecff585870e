"""Dates in a spreadsheet: which cell styles show a date, and the moment a serial number stands for.

A spreadsheet stores a date as a number of days since its epoch (1899-12-30 in the 1900 date system
every program writes by default), the time of day as the fraction, and tells it is a date only by the
cell's number format. These are the rules spreadsheet readers agree on (openpyxl's among them, which
the tests compare against), kept here so that reading a sheet does not import a whole workbook library
(0.14 s and 6 MB in each worker process).
"""

from __future__ import annotations

import re
from datetime import datetime, time, timedelta

# The number formats built into the file format (ECMA-376, 18.8.30) that show a date or a time: a style
# naming one of these ids needs no formatCode of its own.
BUILTIN_DATE_FORMATS = frozenset({14, 15, 16, 17, 18, 19, 20, 21, 22, 45, 46, 47})

# What a format code shows literally: quoted text, and bracketed parts (a colour, a locale, a condition),
# but for the elapsed-time parts [h], [hh], [m], [mm], [s] and [ss].
_LITERAL = re.compile(r'"[^"\n]*"|\[(?!(?:hh?|mm?|ss?)\])[^\]]*\]')
# A day, month, year, hour, minute or second part, not written as a literal (after _ or \).
_DATE_PART = re.compile(r"(?<![_\\])[dmyhs]", re.IGNORECASE)

_EPOCH = datetime(1899, 12, 30)
_MILLISECONDS_PER_DAY = 86_400_000


def shows_date(format_code: str) -> bool:
    """Whether a number format shows its number as a date or time (only its first section, for positive
    numbers, counts)."""
    first = format_code.split(";", 1)[0]
    return _DATE_PART.search(_LITERAL.sub("", first)) is not None


def format_shows_date(format_id: int, custom: dict[int, str]) -> bool:
    """Whether the style's number format (its own code, or a built-in one) shows a date."""
    code = custom.get(format_id)
    if code is None:
        return format_id in BUILTIN_DATE_FORMATS
    return shows_date(code)


def serial_moment(number: float) -> datetime | time:
    """The moment a serial number stands for, to the millisecond: a time of day alone for a number under 1.

    Day 60 is 1900-02-29, a day that never was (kept for the first spreadsheet programs' sake), so the
    days before it are one later than their count from the epoch. A number too large for a date raises
    OverflowError, a NaN ValueError."""
    days, fraction = divmod(number, 1)
    clock = timedelta(milliseconds=round(fraction * _MILLISECONDS_PER_DAY))
    if 0 <= number < 1 and clock.days == 0:
        minutes, seconds = divmod(clock.seconds, 60)
        hours, minutes = divmod(minutes, 60)
        return time(hours, minutes, seconds, clock.microseconds)
    if 0 < number < 60:
        days += 1
    return _EPOCH + timedelta(days=days) + clock
