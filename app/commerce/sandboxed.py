"""Every table an import writes, as promote, discard and the changes listing see them."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Table

from app.commerce.assets import ASSET_TABLE
from app.commerce.categories import CATEGORY_TABLE
from app.commerce.customers import ADDRESS_TABLE, CUSTOMER_TABLE
from app.commerce.orders import ORDER_ITEM_TABLE, ORDER_TABLE
from app.commerce.products import Product, Sku

_BOOKKEEPING = frozenset({"id", "created_job_id", "created_at", "updated_job_id", "updated_at", "base_job_id"})


@dataclass(frozen=True)
class RecordKind:
    label: str
    table: Table
    key: tuple[str, ...]  # the unique key, sandbox_id included

    @property
    def key_fields(self) -> tuple[str, ...]:
        """The key as a user names a record: without its scope."""
        return tuple(name for name in self.key if name not in ("catalog_id", "site_id", "sandbox_id"))

    @property
    def values(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.table.columns if c.name not in _BOOKKEEPING and c.name not in self.key)


SANDBOXED: tuple[RecordKind, ...] = (
    RecordKind("CATEGORY", CATEGORY_TABLE, ("catalog_id", "sandbox_id", "category_id")),
    RecordKind("PRODUCT", Product.__table__, ("catalog_id", "sandbox_id", "sku_number")),  # type: ignore[attr-defined]
    RecordKind("SKU", Sku.__table__, ("catalog_id", "sandbox_id", "sku_number")),  # type: ignore[attr-defined]
    RecordKind("CUSTOMER", CUSTOMER_TABLE, ("site_id", "sandbox_id", "customer_id")),
    RecordKind("ADDRESS", ADDRESS_TABLE, ("site_id", "sandbox_id", "customer_id", "address_name")),
    RecordKind("ORDER", ORDER_TABLE, ("site_id", "sandbox_id", "order_number")),
    RecordKind("ORDER_ITEM", ORDER_ITEM_TABLE, ("site_id", "sandbox_id", "order_number", "line_no")),
    RecordKind("ASSET", ASSET_TABLE, ("catalog_id", "sandbox_id", "file_name")),
)
