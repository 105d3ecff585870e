"""Cell readers, one per column kind: text in, a typed value out, or a message naming the rule."""

from __future__ import annotations

import re
from collections.abc import Callable
from decimal import Decimal, InvalidOperation

from specifications.model import ColumnKind

CellValue = str | int | bool | list[dict[str, str | None]] | None
CellReader = Callable[[str, str], CellValue]

TRUE_WORDS = frozenset({"y", "yes", "true", "1"})
FALSE_WORDS = frozenset({"", "n", "no", "false", "0"})
_WHOLE_FLOAT = re.compile(r"^-?\d+\.0+$")
_SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*$")


class CellError(ValueError):
    """A cell breaks its column's rule; the message says which."""


def read_text(value: str, header: str) -> CellValue:
    return value or None


def read_identifier(value: str, header: str) -> CellValue:
    if _WHOLE_FLOAT.match(value):
        return value.split(".", 1)[0]
    return value or None


def read_decimal(value: str, header: str) -> CellValue:
    if not value:
        return None
    try:
        number = Decimal(value)
    except InvalidOperation:
        raise CellError(f"{header} must be a decimal number, got '{value}'") from None
    if not number.is_finite():
        raise CellError(f"{header} must be a decimal number, got '{value}'")
    return format(number, "f")


def read_integer(value: str, header: str) -> CellValue:
    if not value:
        return None
    try:
        return int(value)
    except ValueError:
        if _WHOLE_FLOAT.match(value):
            return int(value.split(".", 1)[0])
        raise CellError(f"{header} must be a whole number, got '{value}'") from None


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
    if sep and not rest.startswith("//") and not (_SCHEME.match(head) and head.lower() in _URL_SCHEMES):
        return {"key": head.strip(), "url": rest.strip()}
    return {"key": None, "url": item.strip()}


_URL_SCHEMES = frozenset({"http", "https", "ftp", "file", "data"})


def read_url_list(value: str, header: str) -> CellValue:
    items = [item.strip() for item in value.split("|") if item.strip()]
    if not items:
        return None
    images = [split_image(item) for item in items]
    for image in images:
        if not image["url"]:
            raise CellError(f"{header} has an image with no URL in '{value}'")
    return images


CELL_READERS: dict[ColumnKind, CellReader] = {
    ColumnKind.TEXT: read_text,
    ColumnKind.IDENTIFIER: read_identifier,
    ColumnKind.CODE: read_text,
    ColumnKind.DECIMAL: read_decimal,
    ColumnKind.INTEGER: read_integer,
    ColumnKind.FLAG: read_flag,
    ColumnKind.URL: read_text,
    ColumnKind.URL_LIST: read_url_list,
}
