"""Query parameters: integers, flags and paging, each refusal naming the parameter."""

from __future__ import annotations

import re
from collections.abc import Collection

from starlette.convertors import Convertor
from starlette.datastructures import QueryParams

from app.errors import BadRequest

MAX_PAGE_SIZE = 1000
# Ids and scopes are 32-bit integer columns; anything wider is refused here, not by the database.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
WHOLE_NUMBER = re.compile(r"-?[0-9]+")


def text_param(query: QueryParams, name: str) -> str | None:
    """A text parameter; given empty (or only spaces), it counts as not given, as every other parameter does."""
    raw = query.get(name)
    return None if raw is None or raw.strip() == "" else raw


def int_param(query: QueryParams, name: str, default: int | None) -> int | None:
    raw = query.get(name)
    if raw is None or raw.strip() == "":
        return default
    # int() also reads other scripts' digits, underscores and surrounding spaces: '١٢' would be catalog 12.
    if not WHOLE_NUMBER.fullmatch(raw):
        raise BadRequest(f"{name} must be a whole number, got '{raw}'")
    value = int(raw)
    if not INT_MIN <= value <= INT_MAX:
        raise BadRequest(f"{name} must be a whole number from {INT_MIN} to {INT_MAX}, got '{raw}'")
    return value


def required_int(query: QueryParams, name: str, default: int) -> int:
    value = int_param(query, name, default)
    assert value is not None
    return value


def flag_param(query: QueryParams, name: str) -> bool | None:
    raw = query.get(name)
    if raw is None or raw.strip() == "":
        return None
    lowered = raw.strip().lower()
    if lowered in ("true", "1", "yes"):
        return True
    if lowered in ("false", "0", "no"):
        return False
    raise BadRequest(f"{name} must be true or false, got '{raw}'")


def _folded(name: str) -> str:
    return name.lower().replace("_", "").replace("-", "")


def refuse_misspelt(query: QueryParams, known: Collection[str]) -> None:
    """Refuse a known parameter spelt in another case (`catalogid`, `catalog_id`) or given twice with two values:
    read as it stands, the first would be left unread, and its import go to the default catalog, and the second
    would take its last value. A name unlike any known one (a client's cache-buster) is left alone."""
    by_folded = {_folded(name): name for name in known}
    for name in dict.fromkeys(query.keys()):
        meant = by_folded.get(_folded(name))
        if meant is not None and meant != name:
            raise BadRequest(f"unknown parameter '{name}': did you mean '{meant}'?")
        values = list(dict.fromkeys(query.getlist(name)))
        if meant is not None and len(values) > 1:
            given = " and ".join(f"'{value}'" for value in values)
            raise BadRequest(f"{name} is given more than once, as {given}: give it once")


PAGING_PARAMETERS = ("page", "pageSize")


def paging(query: QueryParams) -> tuple[int, int]:
    refuse_misspelt(query, PAGING_PARAMETERS)
    page = required_int(query, "page", 1)
    size = required_int(query, "pageSize", 50)
    if page < 1:
        raise BadRequest("page counts from 1")
    if not 1 <= size <= MAX_PAGE_SIZE:
        raise BadRequest(f"pageSize must be between 1 and {MAX_PAGE_SIZE}")
    return page, size


class IdConvertor(Convertor[int]):
    """A record id in a path: up to nine digits, so that it always fits the database's integer."""

    regex = "[0-9]{1,9}"

    def convert(self, value: str) -> int:
        return int(value)

    def to_string(self, value: int) -> str:
        return str(value)
