"""Assets: media files stored once per content, named and linked to products or categories per catalog."""

from __future__ import annotations

from sqlalchemy import BigInteger, String, Table, Text, UniqueConstraint
from sqlmodel import Field

from app.commerce.bookkeeping import Written
from app.commerce.staging import staging_table


class Asset(Written, table=True):
    __tablename__ = "asset"
    __table_args__ = (UniqueConstraint("catalog_id", "sandbox_id", "file_name", name="uq_asset_key"),)

    id: int | None = Field(default=None, primary_key=True)
    catalog_id: int
    sandbox_id: int = 0
    site_id: int
    file_name: str = Field(sa_type=String(1024))
    content_type: str = Field(sa_type=String(100))
    size: int = Field(sa_type=BigInteger)
    sha256: str = Field(sa_type=String(64), index=True)
    storage_key: str = Field(sa_type=String(200))
    sku_number: str | None = Field(default=None, sa_type=String(255))
    category_id: str | None = Field(default=None, sa_type=String(255))
    alt_text: str | None = Field(default=None, sa_type=Text)


ASSET_FIELDS = (
    "file_name", "content_type", "size", "sha256", "storage_key", "sku_number", "category_id", "alt_text",
)  # fmt: skip
ASSET_TABLE: Table = Asset.__table__  # type: ignore[attr-defined]
ASSET_STAGING = staging_table("asset_staging", ASSET_TABLE, ASSET_FIELDS)
