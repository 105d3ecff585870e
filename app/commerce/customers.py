"""Customers of a site and their addresses, with the staging tables their imports fill."""

from __future__ import annotations

from sqlalchemy import Index, String, Table, Text, UniqueConstraint, func
from sqlmodel import Field

from app.commerce.bookkeeping import Written
from app.commerce.staging import staging_table


class Customer(Written, table=True):
    __tablename__ = "customer"
    __table_args__ = (UniqueConstraint("site_id", "sandbox_id", "customer_id", name="uq_customer_key"),)

    id: int | None = Field(default=None, primary_key=True)
    site_id: int
    sandbox_id: int = 0
    customer_id: str = Field(sa_type=String(255))
    username: str | None = Field(default=None, sa_type=String(255))
    email_address: str | None = Field(default=None, sa_type=String(254))
    first_name: str | None = Field(default=None, sa_type=Text)
    last_name: str | None = Field(default=None, sa_type=Text)
    active: bool | None = None
    tax_exempt: bool | None = None
    attributes: str | None = Field(default=None, sa_type=Text)


class Address(Written, table=True):
    __tablename__ = "customer_address"
    __table_args__ = (
        UniqueConstraint("site_id", "sandbox_id", "customer_id", "address_name", name="uq_customer_address_key"),
    )

    id: int | None = Field(default=None, primary_key=True)
    site_id: int
    sandbox_id: int = 0
    customer_id: str = Field(sa_type=String(255))
    address_name: str = Field(sa_type=String(255))
    first_name: str | None = Field(default=None, sa_type=Text)
    last_name: str | None = Field(default=None, sa_type=Text)
    address_line1: str | None = Field(default=None, sa_type=Text)
    address_line2: str | None = Field(default=None, sa_type=Text)
    address_line3: str | None = Field(default=None, sa_type=Text)
    city: str | None = Field(default=None, sa_type=Text)
    state_province: str | None = Field(default=None, sa_type=Text)
    postal_code: str | None = Field(default=None, sa_type=String(40))
    country: str | None = Field(default=None, sa_type=String(2))
    phone: str | None = Field(default=None, sa_type=String(60))
    default_shipping: bool | None = None
    default_billing: bool | None = None


CUSTOMER_FIELDS = (
    "customer_id", "username", "email_address", "first_name", "last_name", "active", "tax_exempt", "attributes",
)  # fmt: skip
ADDRESS_FIELDS = (
    "customer_id", "address_name", "first_name", "last_name", "address_line1", "address_line2", "address_line3",
    "city", "state_province", "postal_code", "country", "phone", "default_shipping", "default_billing",
)  # fmt: skip

CUSTOMER_TABLE: Table = Customer.__table__  # type: ignore[attr-defined]
ADDRESS_TABLE: Table = Address.__table__  # type: ignore[attr-defined]
# A customer's Email Address is its own on its site, whatever its case (writers.customers.shared_emails): the
# addresses of a file are looked up here, not by reading every customer of the site.
Index(
    "ix_customer_email",
    CUSTOMER_TABLE.c.site_id,
    CUSTOMER_TABLE.c.sandbox_id,
    func.lower(CUSTOMER_TABLE.c.email_address),
)
CUSTOMER_STAGING = staging_table("customer_staging", CUSTOMER_TABLE, CUSTOMER_FIELDS)
ADDRESS_STAGING = staging_table("customer_address_staging", ADDRESS_TABLE, ADDRESS_FIELDS)
