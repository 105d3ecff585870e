"""Cell readers, one per column kind: text in, a typed value out, or a message naming the rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

from specifications.codes import COUNTRIES, CURRENCIES
from specifications.model import ColumnKind

CellValue = str | int | bool | datetime | list[dict[str, str | None]] | None
CellReader = Callable[[str, str], CellValue]

TRUE_WORDS = frozenset({"y", "yes", "true", "1"})
FALSE_WORDS = frozenset({"", "n", "no", "false", "0"})
_WHOLE_FLOAT = re.compile(r"^-?\d+\.0+$")


class CellError(ValueError):
    """A cell breaks its column's rule; the message says which."""


def read_text(value: str, header: str) -> CellValue:
    return value or None


def read_identifier(value: str, header: str) -> CellValue:
    if _WHOLE_FLOAT.match(value):
        return value.split(".", 1)[0]
    return value or None


# Digits a decimal may have on each side of its point: more than any amount of money needs, and far
# fewer than a database refuses (PostgreSQL's numeric holds 131,072 before the point). Without a bound,
# a cell of eleven bytes, 1e100000000, would be written out as a hundred million digits.
MAX_DECIMAL_DIGITS = 30
# A whole number is stored in 64 bits, in every database.
SMALLEST_INTEGER, LARGEST_INTEGER = -(2**63), 2**63 - 1


def read_decimal(value: str, header: str) -> CellValue:
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise CellError(f"{header} must be a decimal number, got '{value}'") from None
    if not number.is_finite():
        raise CellError(f"{header} must be a decimal number, got '{value}'")
    _, digits, exponent = number.as_tuple()
    assert isinstance(exponent, int)  # a finite number's is
    if len(digits) + exponent > MAX_DECIMAL_DIGITS or -exponent > MAX_DECIMAL_DIGITS:
        raise CellError(
            f"{header} must have at most {MAX_DECIMAL_DIGITS} digits before its decimal point and "
            f"{MAX_DECIMAL_DIGITS} after, got '{value}'"
        )
    # -0 is 0: PostgreSQL's NUMERIC has no negative zero, and SQLite's text would keep the sign.
    return format(number.copy_abs() if number.is_zero() else number, "f")


def read_integer(value: str, header: str) -> CellValue:
    if not value:
        return None
    whole = value.split(".", 1)[0] if _WHOLE_FLOAT.match(value) else value
    try:
        number = int(whole) if len(whole) <= 40 else None  # longer: past the range, whatever its digits
    except ValueError:
        raise CellError(f"{header} must be a whole number, got '{value}'") from None
    if number is None or not SMALLEST_INTEGER <= number <= LARGEST_INTEGER:
        raise CellError(f"{header} must be a whole number from {SMALLEST_INTEGER} to {LARGEST_INTEGER}, got '{value}'")
    return number


def read_flag(value: str, header: str) -> CellValue:
    lowered = value.lower()
    if lowered in TRUE_WORDS:
        return True
    if lowered in FALSE_WORDS:
        return False
    raise CellError(f"{header} must be Y or N (or Yes/No, True/False, 1/0), got '{value}'")


def split_image(item: str) -> dict[str, str | None]:
    """`key:url` or `url`: split at the first ':' only when what precedes it is not a URL scheme."""
    head, sep, rest = item.partition(":")
    if sep and not rest.startswith("//") and head.lower() not in _URL_SCHEMES:
        return {"key": head.strip(), "url": rest.strip()}
    return {"key": None, "url": item.strip()}


_URL_SCHEMES = frozenset({"http", "https", "ftp", "file", "data"})


def read_url_list(value: str, header: str) -> CellValue:
    images = []
    for item in value.split("|"):
        if item and not item.isspace():
            image = split_image(item.strip())
            if not image["url"]:
                raise CellError(f"{header} has an image with no URL in '{value}'")
            images.append(image)
    return images or None


_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
_DATE_FORMATS = ("%Y.%m.%d %H:%M:%S", "%Y.%m.%d")


def read_date(value: str, header: str) -> CellValue:
    """ISO 8601 (2024-03-01, 2024-03-01T09:30:00+02:00) or the contract's yyyy.MM.dd HH:mm:ss, as UTC."""
    if not value:
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        moment = None
        for layout in _DATE_FORMATS:
            try:
                moment = datetime.strptime(value, layout)
                break
            except ValueError:
                continue
    if moment is None:
        raise CellError(f"{header} must be a date such as 2024-03-01 or 2024-03-01T09:30:00Z, got '{value}'")
    try:
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
    except OverflowError:  # 9999-12-31T23:00:00-05:00 is in the year 10000 in UTC
        raise CellError(f"{header} must be a date from the year 1 to 9999 in UTC, got '{value}'") from None


def read_email(value: str, header: str) -> CellValue:
    if not value:
        return None
    if not _EMAIL.match(value) or len(value) > 254:
        raise CellError(f"{header} must be an email address, got '{value}'")
    return value


def read_country(value: str, header: str) -> CellValue:
    if not value:
        return None
    if value.upper() not in COUNTRIES:
        raise CellError(f"{header} must be an ISO 3166 two-letter country code such as US or ES, got '{value}'")
    return value.upper()


def read_currency(value: str, header: str) -> CellValue:
    if not value:
        return None
    if value.upper() not in CURRENCIES:
        raise CellError(f"{header} must be an ISO 4217 currency code such as USD or EUR, got '{value}'")
    return value.upper()


CELL_READERS: dict[ColumnKind, CellReader] = {
    ColumnKind.TEXT: read_text,
    ColumnKind.IDENTIFIER: read_identifier,
    ColumnKind.CODE: read_text,
    ColumnKind.DECIMAL: read_decimal,
    ColumnKind.INTEGER: read_integer,
    ColumnKind.FLAG: read_flag,
    ColumnKind.URL: read_text,
    ColumnKind.URL_LIST: read_url_list,
    ColumnKind.DATE: read_date,
    ColumnKind.EMAIL: read_email,
    ColumnKind.COUNTRY: read_country,
    ColumnKind.CURRENCY: read_currency,
}
