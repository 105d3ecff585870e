"""Categories of a catalog; products point at them by Category Id, which may arrive later."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, DateTime, String, Table, Text, UniqueConstraint
from sqlmodel import Field, Session, select

from app.commerce.bookkeeping import Written
from app.commerce.staging import staging_table


class Category(Written, table=True):
    __tablename__ = "category"
    __table_args__ = (UniqueConstraint("catalog_id", "sandbox_id", "category_id", name="uq_category_key"),)

    id: int | None = Field(default=None, primary_key=True)
    catalog_id: int
    sandbox_id: int = 0
    site_id: int
    category_id: str = Field(sa_type=String(255))
    category_name: str | None = Field(default=None, sa_type=Text)
    parent_category_id: str | None = Field(default=None, sa_type=String(255))
    category_url: str | None = Field(default=None, sa_type=Text)
    description: str | None = Field(default=None, sa_type=Text)
    display_order: int | None = Field(default=None, sa_type=BigInteger)  # a whole number's 64 bits
    active_start_date: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    active_end_date: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    translations: str | None = Field(default=None, sa_type=Text)


def category_exists(session: Session, catalog_id: int, sandbox_id: int, category_id: str) -> bool:
    sandboxes = {0, sandbox_id}
    found = session.exec(
        select(Category.id).where(
            Category.catalog_id == catalog_id,
            Category.category_id == category_id,
            Category.sandbox_id.in_(sandboxes),  # type: ignore[attr-defined]
        )
    ).first()
    return found is not None


CATEGORY_FIELDS = (
    "category_id", "category_name", "parent_category_id", "category_url", "description", "display_order",
    "active_start_date", "active_end_date", "translations",
)  # fmt: skip
CATEGORY_TABLE: Table = Category.__table__  # type: ignore[attr-defined]
CATEGORY_STAGING = staging_table("category_staging", CATEGORY_TABLE, CATEGORY_FIELDS)
