"""Products and their additional SKUs, with the staging table an import fills before its merge."""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Index, Integer, String, Text, UniqueConstraint
from sqlmodel import Field, SQLModel

from app.commerce.bookkeeping import Written
from app.commerce.types import Money, RecordNumber


class Product(Written, table=True):
    __tablename__ = "product"
    __table_args__ = (UniqueConstraint("catalog_id", "sandbox_id", "sku_number", name="uq_product_key"),)

    id: int | None = Field(default=None, primary_key=True)
    catalog_id: int
    sandbox_id: int = 0
    site_id: int
    sku_number: str = Field(sa_type=RecordNumber)
    product_title: str | None = Field(default=None, sa_type=Text)
    product_description: str | None = Field(default=None, sa_type=Text)
    product_url: str | None = Field(default=None, sa_type=Text)
    default_category_id: str | None = Field(default=None, sa_type=String(255))
    retail_price: str | None = Field(default=None, sa_type=Money)
    upc: str | None = Field(default=None, sa_type=String(255))
    available_quantity: int | None = Field(default=None, sa_type=BigInteger)
    image_urls: str | None = Field(default=None, sa_type=Text)
    fulfillment_type: str | None = Field(default=None, sa_type=String(100))
    attributes: str | None = Field(default=None, sa_type=Text)
    translations: str | None = Field(default=None, sa_type=Text)


class Sku(Written, table=True):
    """An additional SKU of a product (a row with SKU Indicator Y), told apart by its options."""

    __tablename__ = "sku"
    __table_args__ = (
        UniqueConstraint("catalog_id", "sandbox_id", "sku_number", name="uq_sku_key"),
        Index("ix_sku_product", "catalog_id", "sandbox_id", "product_sku_number"),
    )

    id: int | None = Field(default=None, primary_key=True)
    catalog_id: int
    sandbox_id: int = 0
    site_id: int
    sku_number: str = Field(sa_type=RecordNumber)
    product_sku_number: str = Field(sa_type=RecordNumber)
    product_title: str | None = Field(default=None, sa_type=Text)
    product_description: str | None = Field(default=None, sa_type=Text)
    product_url: str | None = Field(default=None, sa_type=Text)
    retail_price: str | None = Field(default=None, sa_type=Money)
    upc: str | None = Field(default=None, sa_type=String(255))
    available_quantity: int | None = Field(default=None, sa_type=BigInteger)
    image_urls: str | None = Field(default=None, sa_type=Text)
    fulfillment_type: str | None = Field(default=None, sa_type=String(100))
    attributes: str | None = Field(default=None, sa_type=Text)
    options: str | None = Field(default=None, sa_type=Text)
    translations: str | None = Field(default=None, sa_type=Text)


# Value columns shared by product and SKU rows, in staging order after the row's identity.
PRODUCT_VALUE_COLUMNS: tuple[str, ...] = (
    "product_title",
    "product_description",
    "product_url",
    "default_category_id",
    "retail_price",
    "upc",
    "available_quantity",
    "image_urls",
    "fulfillment_type",
    "attributes",
    "options",
    "translations",
)


class ProductStaging(SQLModel, table=True):
    """Validated rows of running product imports, keyed by (job, row)."""

    __tablename__ = "product_staging"
    __table_args__ = {"info": {"unlogged": True}}  # see app.commerce.staging

    job_id: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    row_no: int = Field(sa_column=Column(Integer, primary_key=True, autoincrement=False))
    chunk_no: int
    is_sku: bool = Field(sa_column=Column(Boolean, nullable=False))
    sku_number: str = Field(sa_type=RecordNumber)
    parent_sku_number: str | None = Field(default=None, sa_type=RecordNumber)
    product_title: str | None = Field(default=None, sa_type=Text)
    product_description: str | None = Field(default=None, sa_type=Text)
    product_url: str | None = Field(default=None, sa_type=Text)
    default_category_id: str | None = Field(default=None, sa_type=String(255))
    retail_price: str | None = Field(default=None, sa_type=Money)
    upc: str | None = Field(default=None, sa_type=String(255))
    available_quantity: int | None = Field(default=None, sa_type=BigInteger)
    image_urls: str | None = Field(default=None, sa_type=Text)
    fulfillment_type: str | None = Field(default=None, sa_type=String(100))
    attributes: str | None = Field(default=None, sa_type=Text)
    options: str | None = Field(default=None, sa_type=Text)
    translations: str | None = Field(default=None, sa_type=Text)
