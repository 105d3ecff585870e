"""Customers, and addresses whose customer must already exist on the same site."""

from __future__ import annotations

from sqlmodel import Session

from app.commerce.customers import (
    ADDRESS_FIELDS,
    ADDRESS_STAGING,
    ADDRESS_TABLE,
    CUSTOMER_FIELDS,
    CUSTOMER_STAGING,
    CUSTOMER_TABLE,
)
from app.importing.problems import ValidationProblem
from app.importing.writers.checks import missing_references
from app.importing.writers.upsert import Scope, UpsertTarget, UpsertWriter
from app.jobs import ImportStatus


def unknown_customers(session: Session, job: ImportStatus) -> list[ValidationProblem]:
    assert job.id is not None
    scope = {"site_id": job.site_id, "sandbox_id": {0, job.sandbox_id}}
    missing = missing_references(session, ADDRESS_STAGING, job.id, "customer_id", CUSTOMER_TABLE, "customer_id", scope)
    return [
        ValidationProblem(
            row,
            None,
            "Customer Id",
            customer,
            f"Customer Id '{customer}' names no customer of site {job.site_id}; import the customer first",
        )
        for row, customer in missing
    ]


CUSTOMER_WRITER = UpsertWriter(
    UpsertTarget(CUSTOMER_TABLE, CUSTOMER_STAGING, ("customer_id",), CUSTOMER_FIELDS[1:], Scope.SITE, "Customer Id")
)
ADDRESS_WRITER = UpsertWriter(
    UpsertTarget(
        ADDRESS_TABLE, ADDRESS_STAGING, ("customer_id", "address_name"), ADDRESS_FIELDS[2:], Scope.SITE,
        "Customer Id / Address Name", checks=(unknown_customers,), key_column="Address Name",
    )
)  # fmt: skip
