"""Customers, and addresses whose customer must already exist on the same site."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import and_, func, select, text
from sqlmodel import Session

from app.commerce.customers import (
    ADDRESS_FIELDS,
    ADDRESS_STAGING,
    ADDRESS_TABLE,
    CUSTOMER_FIELDS,
    CUSTOMER_STAGING,
    CUSTOMER_TABLE,
)
from app.commerce.overlay import visible_in
from app.importing.problems import ValidationProblem
from app.importing.writers.checks import DROP_BATCH, missing_references
from app.importing.writers.upsert import Scope, UpsertTarget, UpsertWriter
from app.jobs import ImportStatus
from specifications.customer import DEFAULT_CUSTOMER


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


def shared_emails(session: Session, job: ImportStatus) -> list[ValidationProblem]:
    """An Email Address (whatever its case: Ann@X.com is ann@x.com) given to a customer that another customer of
    the site has: in an earlier row of this file, or stored and not imported again (with another address)."""
    in_file = _shared_in_file(session, job)
    problems = [
        ValidationProblem(
            row, None, "Email Address", email,
            f"Email Address '{email}' is given to customer '{other}' in row {first} too: each customer has its own",
        )
        for row, email, other, first in in_file
    ]  # fmt: skip
    named = {row for row, *_ in in_file}
    problems += [
        ValidationProblem(
            row, None, "Email Address", email,
            f"Email Address '{email}' is the address of customer '{other}' already: each customer has its own",
        )
        for row, email, other in _shared_with_stored(session, job)
        if row not in named
    ]  # fmt: skip
    return sorted(problems, key=lambda problem: problem.row or 0)


def _shared_in_file(session: Session, job: ImportStatus) -> list[tuple[int, str, str, int]]:
    """(row, email, customer of the first row that gives it, that row) for every later row giving another
    customer an email address of an earlier row."""
    staging = CUSTOMER_STAGING
    given = func.lower(staging.c.email_address)
    in_file = [staging.c.job_id == job.id, staging.c.email_address.is_not(None)]
    repeated = select(given).where(*in_file).group_by(given).having(func.count() > 1)
    rows = session.execute(
        select(staging.c.row_no, staging.c.email_address, given, staging.c.customer_id)
        .where(*in_file, given.in_(repeated))
        .order_by(staging.c.row_no)
    )
    firsts: dict[str, tuple[int, str]] = {}
    found = []
    for row, email, lowered, customer in rows:
        first_row, first_customer = firsts.setdefault(lowered, (row, customer))
        if customer != first_customer:  # the same customer again is a repeated key
            found.append((int(row), str(email), str(first_customer), int(first_row)))
    return found


def _shared_with_stored(session: Session, job: ImportStatus) -> list[tuple[int, str, str]]:
    """(row, email, stored customer) for every row giving a customer the email address of a stored customer
    of the site that this file does not import again (the first such customer, by Customer Id). Each address is
    looked up by the index on the lowered addresses (ix_customer_email): a small file reads no other customer."""
    staging, stored = CUSTOMER_STAGING, CUSTOMER_TABLE
    given, owned = func.lower(staging.c.email_address), func.lower(stored.c.email_address)
    query = (
        select(staging.c.row_no, staging.c.email_address, stored.c.customer_id)
        .join(stored, and_(stored.c.site_id == job.site_id, owned == given))
        .where(
            staging.c.job_id == job.id, staging.c.email_address.is_not(None),
            stored.c.customer_id != staging.c.customer_id, stored.c.sandbox_id.in_(sorted({0, job.sandbox_id})),
            visible_in(stored, job.sandbox_id, ("site_id", "customer_id")),
        )
    )  # fmt: skip
    # By row, then customer, sorted here: an ORDER BY turned SQLite away from the index.
    with _nested_loops(session):
        candidates = sorted((int(row), str(email), str(owner)) for row, email, owner in session.execute(query))
    imported = _staged_customers(session, job, sorted({owner for *_, owner in candidates}))
    found: dict[int, tuple[int, str, str]] = {}
    for row, email, owner in candidates:
        if owner not in imported:  # imported again, its own row says what its address is now
            found.setdefault(row, (row, email, owner))
    return list(found.values())


@contextmanager
def _nested_loops(session: Session) -> Iterator[None]:
    """PostgreSQL may look each address up in the index: the merge's checks run with nested loops off (see
    app.importing.finalize.prepare_statistics), and a hash join read every customer of the site for a file of
    ten. With staging analysed, a large file still gets its hash join."""
    if session.connection().dialect.name != "postgresql":
        yield
        return
    was = session.execute(text("SELECT current_setting('enable_nestloop')")).scalar_one()
    session.execute(text("SELECT set_config('enable_nestloop', 'on', true)"))
    yield
    session.execute(text("SELECT set_config('enable_nestloop', :was, true)"), {"was": was})


def _staged_customers(session: Session, job: ImportStatus, customers: list[str]) -> set[str]:
    """Those of the given customers that this file imports."""
    staging, found = CUSTOMER_STAGING, set[str]()
    for start in range(0, len(customers), DROP_BATCH):
        batch = customers[start : start + DROP_BATCH]
        query = select(staging.c.customer_id).where(staging.c.job_id == job.id, staging.c.customer_id.in_(batch))
        found.update(str(customer) for customer in session.execute(query).scalars())
    return found


# The flags a customer gives one of its addresses at most: (column, header, the words a message names it by).
DEFAULT_FLAGS = (("default_shipping", "Default Shipping", "default shipping"),
                 ("default_billing", "Default Billing", "default billing"))  # fmt: skip


def second_defaults(session: Session, job: ImportStatus) -> list[ValidationProblem]:
    """An address made a default of its customer while another is: a later row of this file, or an address
    stored before and not imported again (whose row, in this file, would say whether it still is)."""
    problems: list[ValidationProblem] = []
    for name, header, words in DEFAULT_FLAGS:
        in_file = _second_in_file(session, job, name)
        problems += [
            ValidationProblem(
                row, None, header, "Y",
                f"{header}: customer '{customer}' has another {words} address in row {first}, '{other}'; "
                "a customer has one",
            )
            for row, customer, first, other in in_file
        ]  # fmt: skip
        named = {row for row, *_ in in_file}
        problems += [
            ValidationProblem(
                row, None, header, "Y",
                f"{header}: customer '{customer}' has a {words} address already, '{stored}'; a customer has one: "
                f"import '{stored}' with {header} N in the same file to make '{address}' the default",
            )
            for row, customer, address, stored in _second_of_stored(session, job, name)
            if row not in named
        ]  # fmt: skip
    return sorted(problems, key=lambda problem: problem.row or 0)


def _second_in_file(session: Session, job: ImportStatus, flag: str) -> list[tuple[int, str, int, str]]:
    """(row, customer, first row, its address name) for every row of this file that makes another address
    of a customer the default that an earlier row made one of its addresses."""
    staging = ADDRESS_STAGING
    flagged = [staging.c.job_id == job.id, staging.c[flag].is_(True)]
    repeated = select(staging.c.customer_id).where(*flagged).group_by(staging.c.customer_id).having(func.count() > 1)
    rows = session.execute(
        select(staging.c.row_no, staging.c.customer_id, staging.c.address_name)
        .where(*flagged, staging.c.customer_id.in_(repeated))
        .order_by(staging.c.row_no)
    )
    firsts: dict[str, tuple[int, str]] = {}
    found = []
    for row, customer, name in rows:
        first_row, first_name = firsts.setdefault(customer, (row, name))
        if name != first_name:  # the same address again is a repeated key
            found.append((int(row), str(customer), int(first_row), str(first_name)))
    return found


def _second_of_stored(session: Session, job: ImportStatus, flag: str) -> list[tuple[int, str, str, str]]:
    """(row, customer, address name, stored address name) for every row of this file that makes an address
    the default of a customer one of whose stored addresses, not in this file, is that default."""
    staging, stored = ADDRESS_STAGING, ADDRESS_TABLE
    shown = visible_in(stored, job.sandbox_id, ("site_id", "customer_id", "address_name"))
    query = (
        select(staging.c.row_no, staging.c.customer_id, staging.c.address_name, stored.c.address_name)
        .join(stored, stored.c.customer_id == staging.c.customer_id)
        .where(
            staging.c.job_id == job.id, staging.c[flag].is_(True), stored.c.site_id == job.site_id, shown,
            stored.c[flag].is_(True), stored.c.address_name != staging.c.address_name,
        )
        .order_by(staging.c.row_no, stored.c.address_name)
    )  # fmt: skip
    candidates = session.execute(query).all()
    imported = _staged_addresses(session, job, sorted({str(customer) for _, customer, _, _ in candidates}))
    found: dict[int, tuple[int, str, str, str]] = {}
    for row, customer, name, other in candidates:
        if (customer, other) not in imported:  # imported again, its row says whether it stays the default
            found.setdefault(int(row), (int(row), str(customer), str(name), str(other)))
    return list(found.values())


def _staged_addresses(session: Session, job: ImportStatus, customers: list[str]) -> set[tuple[str, str]]:
    """(customer, address name) of this file's rows for the given customers."""
    staging, found = ADDRESS_STAGING, set[tuple[str, str]]()
    for start in range(0, len(customers), DROP_BATCH):
        batch = customers[start : start + DROP_BATCH]
        query = select(staging.c.customer_id, staging.c.address_name).where(
            staging.c.job_id == job.id, staging.c.customer_id.in_(batch)
        )
        found.update((str(customer), str(name)) for customer, name in session.execute(query))
    return found


CUSTOMER_WRITER = UpsertWriter(
    UpsertTarget(
        CUSTOMER_TABLE,
        CUSTOMER_STAGING,
        ("customer_id",),
        CUSTOMER_FIELDS[1:],
        Scope.SITE,
        "Customer Id",
        checks=(shared_emails,),
        defaults=dict(DEFAULT_CUSTOMER.defaults),
    )
)
ADDRESS_WRITER = UpsertWriter(
    UpsertTarget(
        ADDRESS_TABLE, ADDRESS_STAGING, ("customer_id", "address_name"), ADDRESS_FIELDS[2:], Scope.SITE,
        "Customer Id / Address Name", checks=(unknown_customers, second_defaults), key_column="Address Name",
    )
)  # fmt: skip
