"""Query parameters: integers, flags and paging, each refusal naming the parameter."""

from __future__ import annotations

import re

from starlette.convertors import Convertor
from starlette.datastructures import QueryParams

from app.errors import BadRequest

MAX_PAGE_SIZE = 1000
# Ids and scopes are 32-bit integer columns; anything wider is refused here, not by the database.
INT_MIN, INT_MAX = -(2**31), 2**31 - 1
WHOLE_NUMBER = re.compile(r"-?[0-9]+")


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


def paging(query: QueryParams) -> tuple[int, int]:
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
