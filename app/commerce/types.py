"""Column types shared by the commerce tables."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from sqlalchemy import Dialect, Numeric, String
from sqlalchemy.types import TypeDecorator, TypeEngine


class Money(TypeDecorator[str]):
    """A decimal kept exactly: NUMERIC on PostgreSQL, its text on SQLite (which has no decimal type).

    Values travel as their decimal text ("3.99"), so staging loads need no conversion.
    """

    impl = String(64)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        if dialect.name == "postgresql":
            return dialect.type_descriptor(Numeric())
        return dialect.type_descriptor(String(64))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        return None if value is None else str(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        if value is None:
            return None
        return format(Decimal(str(value)), "f")
