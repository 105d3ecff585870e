"""Orders of a site and their items, with the staging table an order import fills (one row per item)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Column, DateTime, Integer, String, Table, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.commerce.bookkeeping import Written
from app.commerce.types import Money


class Order(Written, table=True):
    __tablename__ = "customer_order"
    __table_args__ = (UniqueConstraint("site_id", "sandbox_id", "order_number", name="uq_customer_order_key"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int
    sandbox_id: int = 0
    catalog_id: int
    order_number: str = Field(sa_type=String(255))
    customer_id: str | None = Field(default=None, sa_type=String(255))
    email_address: str | None = Field(default=None, sa_type=String(254))
    status: str | None = Field(default=None, sa_type=String(100))
    submit_date: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    currency: str | None = Field(default=None, sa_type=String(3))
    order_total: str | None = Field(default=None, sa_type=Money)
    item_count: int


class OrderItem(Written, table=True):
    __tablename__ = "order_item"
    __table_args__ = (UniqueConstraint("site_id", "sandbox_id", "order_number", "line_no", name="uq_order_item_key"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int
    sandbox_id: int = 0
    catalog_id: int
    order_number: str = Field(sa_type=String(255))
    line_no: int
    sku_number: str = Field(sa_type=String(255))
    quantity: int = Field(sa_type=BigInteger)
    item_price: str = Field(sa_type=Money)


ORDER_TABLE: Table = Order.__table__  # type: ignore[attr-defined]
ORDER_ITEM_TABLE: Table = OrderItem.__table__  # type: ignore[attr-defined]
ORDER_FIELDS = ("customer_id", "email_address", "status", "submit_date", "currency", "order_total", "item_count")
ITEM_FIELDS = ("sku_number", "quantity", "item_price")
ORDER_STAGING = Table(
    "order_staging",
    SQLModel.metadata,
    Column("job_id", Integer, primary_key=True, autoincrement=False),
    Column("row_no", Integer, primary_key=True, autoincrement=False),
    Column("chunk_no", Integer, nullable=False),
    Column("order_number", String(255), nullable=False),
    Column("line_no", Integer, nullable=False),
    *(Column(name, ORDER_TABLE.c[name].type, nullable=True) for name in ORDER_FIELDS),
    *(Column(name, ORDER_ITEM_TABLE.c[name].type, nullable=True) for name in ITEM_FIELDS),
    info={"unlogged": True},  # see app.commerce.staging
)
