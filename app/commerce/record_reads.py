"""Reading back records of every type but PRODUCT (which has its own SKUs): one by key, or a page."""

from __future__ import annotations

import json
from dataclasses import dataclass

from sqlalchemy import Table, func, select
from sqlmodel import Session

from app.commerce.assets import ASSET_TABLE
from app.commerce.categories import CATEGORY_TABLE
from app.commerce.customers import ADDRESS_TABLE, CUSTOMER_TABLE
from app.commerce.orders import ORDER_ITEM_TABLE, ORDER_TABLE
from app.commerce.overlay import visible_in

_JSON_COLUMNS = frozenset({"attributes", "translations"})
# base_job_id is the production version a sandbox row was written over: the service's bookkeeping, not data.
_HIDDEN = frozenset({"base_job_id"})


@dataclass(frozen=True)
class RecordTable:
    table: Table
    key: tuple[str, ...]
    scope_column: str  # catalog_id or site_id
    shows_id: bool = False  # assets are served by id


CATEGORIES = RecordTable(CATEGORY_TABLE, ("category_id",), "catalog_id")
CUSTOMERS = RecordTable(CUSTOMER_TABLE, ("customer_id",), "site_id")
ADDRESSES = RecordTable(ADDRESS_TABLE, ("customer_id", "address_name"), "site_id")
ORDERS = RecordTable(ORDER_TABLE, ("order_number",), "site_id")
ASSETS = RecordTable(ASSET_TABLE, ("file_name",), "catalog_id", shows_id=True)
_ITEM_HIDDEN = frozenset({"id", "base_job_id", "site_id", "sandbox_id", "catalog_id", "order_number"})


def _data(row: dict[str, object], shows_id: bool = False) -> dict[str, object]:
    data = {}
    for name, value in row.items():
        if name in _HIDDEN or (name == "id" and not shows_id):
            continue
        data[name] = (
            (json.loads(value) if value else {}) if name in _JSON_COLUMNS and isinstance(value, str | None) else value
        )
    return data


def find_record(
    session: Session, records: RecordTable, scope_id: int, sandbox_id: int, key: list[str]
) -> dict[str, object] | None:
    table = records.table
    overlay = visible_in(table, sandbox_id, (records.scope_column, *records.key))
    conditions = [table.c[records.scope_column] == scope_id, overlay]
    conditions += [table.c[name] == value.strip() for name, value in zip(records.key, key, strict=True)]
    row = session.execute(select(table).where(*conditions)).mappings().first()
    return None if row is None else _data(dict(row), records.shows_id)


def list_records(
    session: Session, records: RecordTable, scope_id: int, sandbox_id: int, page: int, page_size: int
) -> tuple[list[dict[str, object]], int]:
    table = records.table
    conditions = (
        table.c[records.scope_column] == scope_id,
        visible_in(table, sandbox_id, (records.scope_column, *records.key)),
    )
    total = session.execute(select(func.count()).select_from(table).where(*conditions)).scalar_one()
    rows = session.execute(
        select(table)
        .where(*conditions)
        .order_by(*(table.c[name] for name in records.key))
        .offset((page - 1) * page_size)
        .limit(page_size)
    ).mappings()
    return [_data(dict(row), records.shows_id) for row in rows], int(total)


def with_items(session: Session, order: dict[str, object]) -> dict[str, object]:
    """An order read back with its items, in line order."""
    items = ORDER_ITEM_TABLE
    rows = session.execute(
        select(items)
        .where(
            items.c.site_id == order["site_id"],
            items.c.sandbox_id == order["sandbox_id"],
            items.c.order_number == order["order_number"],
        )
        .order_by(items.c.line_no)
    ).mappings()
    return order | {"items": [{k: v for k, v in row.items() if k not in _ITEM_HIDDEN} for row in rows]}


def find_asset(session: Session, asset_id: int) -> dict[str, object] | None:
    row = session.execute(select(ASSET_TABLE).where(ASSET_TABLE.c.id == asset_id)).mappings().first()
    return None if row is None else _data(dict(row), shows_id=True)
