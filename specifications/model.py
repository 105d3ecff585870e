"""The shape of an import specification: typed columns, column families and translations."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum


class ImportType(StrEnum):
    PRODUCT = "PRODUCT"
    CATEGORY = "CATEGORY"
    CUSTOMER = "CUSTOMER"
    ADDRESS = "ADDRESS"
    ORDER = "ORDER"
    ASSET = "ASSET"


class ColumnKind(StrEnum):
    """How a cell is read; the values are what the specification listing shows."""

    TEXT = "text"
    IDENTIFIER = "identifier"  # text compared exactly; a spreadsheet's 2007.0 reads 2007
    CODE = "code"  # text whose leading zeros matter (UPC, postal code)
    DECIMAL = "decimal"
    INTEGER = "integer"
    FLAG = "flag"  # Y/Yes/True/1 or N/No/False/0/empty
    URL = "url"
    URL_LIST = "url-list"  # `|`-separated `url` or `key:url`
    DATE = "date"  # ISO 8601 date or date-time (UTC unless an offset is given)
    EMAIL = "email"
    COUNTRY = "country"  # ISO 3166-1 alpha-2
    CURRENCY = "currency"  # ISO 4217


# The length of an identifier's column in the tables: a longer value cannot be stored.
IDENTIFIER_LENGTH = 255


class Requirement(StrEnum):
    OPTIONAL = "optional"
    REQUIRED = "required"
    REQUIRED_ON_PARENT_ROWS = "required on parent rows"
    REQUIRED_ON_CHILD_ROWS = "required on child rows"


@dataclass(frozen=True)
class Column:
    header: str
    field: str
    kind: ColumnKind = ColumnKind.TEXT
    requirement: Requirement = Requirement.OPTIONAL
    description: str = ""
    key: bool = False
    translatable: bool = False
    # The most characters a value may have, where its table column is bounded (identifiers: IDENTIFIER_LENGTH).
    max_length: int | None = None
    # The least a number may be (an order line's quantity is 1 or more).
    minimum: int | None = None
    # The value a new record takes when its row gives none (no such column, or an empty cell); a stored record
    # keeps its own. A customer's Active flag: a customer whose file says nothing of it is active, and stays as
    # it was. None: an empty cell is the kind's empty value (a flag's N) and a re-import writes it.
    default: bool | None = None

    @property
    def length_limit(self) -> int | None:
        if self.max_length is not None:
            return self.max_length
        return IDENTIFIER_LENGTH if self.kind is ColumnKind.IDENTIFIER else None


@dataclass(frozen=True)
class ColumnFamily:
    """Any number of columns `Prefix[Name]` that fill one mapping field, e.g. ProductAttribute[Color]."""

    prefix: str
    field: str
    description: str = ""
    requirement: Requirement = Requirement.OPTIONAL


@dataclass(frozen=True)
class Specification:
    name: str
    import_type: ImportType
    description: str
    columns: tuple[Column, ...]
    families: tuple[ColumnFamily, ...] = ()
    # The flag column that marks a row as a child of the parent row above it (a product's SKU rows).
    child_flag: str | None = None
    # A column whose value repeated on consecutive rows makes them one record (an order's lines).
    group_by: str | None = None
    # Date fields a record's end may not precede its start in: (start field, end field, what it would mean).
    date_ranges: tuple[tuple[str, str, str], ...] = ()
    # Headers refused outright, with the reason (a clear-text password column, say).
    refused_headers: dict[str, str] = field(default_factory=dict)
    example: dict[str, str] = field(default_factory=dict)

    def column(self, field_name: str) -> Column:
        for column in self.columns:
            if column.field == field_name:
                return column
        raise KeyError(field_name)

    @property
    def key_columns(self) -> tuple[Column, ...]:
        return tuple(column for column in self.columns if column.key)

    @property
    def defaults(self) -> dict[str, bool]:
        """The fields whose columns have a default (see Column.default), with it."""
        return {column.field: column.default for column in self.columns if column.default is not None}
