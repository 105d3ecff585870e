"""CATEGORY, CUSTOMER and ADDRESS imports on real SQLite and PostgreSQL: records, updates and their rules."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from celery.exceptions import Retry
from sqlalchemy import event, text
from sqlmodel import col, select

from app.accounts import Principal
from app.db import Database
from app.importing import pipeline
from app.jobs import ImportProblem, ImportState, OnError
from app.runtime import Runtime
from app.service import list_records, read_record, sandboxes
from specifications import ImportType
from tests.factories import CONTRACT_HEADER, make_csv, product_row
from tests.integration.pipeline_driver import (
    Delivery,
    RecordingQueue,
    WorkerOf,
    drain,
    job,
    make_principal,
    make_runtime,
    submit,
)
from workers.tasks import run_step

CATEGORY_HEADER = ["Category Id", "Category Name", "Parent Category Id", "Category URL", "Display Order",
                   "Active Start Date", "Category Name(SPANISH)"]  # fmt: skip
CUSTOMER_HEADER = ["Customer Id", "Username", "Email Address", "First Name", "Last Name", "Active", "Tax Exempt",
                   "CustomerAttribute[Tier]"]  # fmt: skip
ADDRESS_HEADER = ["Customer Id", "Address Name", "Address Line 1", "City", "Postal Code", "Country", "Default Shipping"]


@dataclass
class Importer:
    runtime: Runtime
    queue: RecordingQueue
    principal: Principal

    def run(self, kind: ImportType, header: list[str], rows: list[list[str]], **options: Any) -> int:
        job_id = submit(self.runtime, self.principal, make_csv(rows, header=header), import_type=kind, **options)
        drain(self.runtime, self.queue)
        return job_id


@pytest.fixture
def importer(database: Database, tmp_path: Path) -> Importer:
    runtime, queue = make_runtime(database, tmp_path)
    return Importer(runtime, queue, make_principal(database))


def problems(db: Database, job_id: int) -> list[tuple[int | None, str, str]]:
    with db.read() as session:
        found = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.row_number))
        ).all()
    return [(p.row_number, p.severity, p.message) for p in found]


def test_categories_import_with_parents_later_in_the_file_and_update_again(importer: Importer) -> None:
    rows = [["2007", "Mens", "2001", "/mens", "2", "2024-03-01", "Hombres"], ["2001", "Root", "", "/", "1", "", ""]]

    first = importer.run(ImportType.CATEGORY, CATEGORY_HEADER, rows)
    second = importer.run(ImportType.CATEGORY, CATEGORY_HEADER, [["2007", "Men", "2001", "/men", "2", "", ""]])

    runtime = importer.runtime
    assert job(runtime, first).state == ImportState.COMPLETED
    assert (job(runtime, second).records_created, job(runtime, second).records_updated) == (0, 1)
    mens = read_record(runtime, ImportType.CATEGORY, ["2007"], -2, 1)
    assert (mens["category_name"], mens["parent_category_id"], mens["category_url"]) == ("Men", "2001", "/men")
    assert mens["translations"] == {} and mens["active_start_date"] is None
    root = read_record(runtime, ImportType.CATEGORY, ["2001"], -2, 1)
    assert root["display_order"] == 1 and root["parent_category_id"] is None
    assert list_records(runtime, ImportType.CATEGORY, -2, 1, 1, 10)[1] == 2


def test_a_missing_parent_and_a_cycle_are_record_problems_naming_the_ids(
    importer: Importer, database: Database
) -> None:
    rows = [["A", "a", "B", "", "", "", ""], ["B", "b", "A", "", "", "", ""], ["C", "c", "ZZ", "", "", "", ""],
            ["D", "d", "D", "", "", "", ""]]  # fmt: skip

    job_id = importer.run(ImportType.CATEGORY, CATEGORY_HEADER, rows)

    assert job(importer.runtime, job_id).state == ImportState.FAILED
    assert problems(database, job_id) == [
        (2, "error", "Category 'A' would be its own ancestor: A → B → A"),
        (3, "error", "Category 'B' would be its own ancestor: B → A → B"),
        (
            4,
            "error",
            "Parent Category Id 'ZZ' names no category of catalog -2 imported before, "
            "nor one of a valid row of this file (a row of it with a problem is not imported)",
        ),
        (5, "error", "Category 'D' would be its own ancestor: D → D"),
    ]


def test_with_skip_a_category_whose_parent_has_a_problem_is_not_written_either(
    importer: Importer, database: Database
) -> None:
    importer.run(ImportType.CATEGORY, CATEGORY_HEADER, [["OLD", "old", "", "", "", "", ""]])
    rows = [["A", "a", "ZZ", "", "", "", ""], ["B", "b", "A", "", "", "", ""], ["C", "c", "B", "", "", "", ""],
            ["P", "p", "Q", "", "", "", ""], ["Q", "q", "P", "", "", "", ""], ["R", "r", "P", "", "", "", ""],
            ["OLD", "old", "Q", "", "", "", ""], ["S", "s", "OLD", "", "", "", ""]]  # fmt: skip

    job_id = importer.run(ImportType.CATEGORY, CATEGORY_HEADER, rows, on_error=OnError.SKIP)

    done = job(importer.runtime, job_id)
    assert (done.state, done.records_created, done.records_failed) == (ImportState.COMPLETED, 1, 7)
    assert [(row, message) for row, _, message in problems(database, job_id)] == [
        (
            2,
            "Parent Category Id 'ZZ' names no category of catalog -2 imported before, "
            "nor one of a valid row of this file (a row of it with a problem is not imported)",
        ),
        (3, "Parent Category Id 'A' of category 'B' is not imported: its row 2 has a problem"),
        (4, "Parent Category Id 'B' of category 'C' is not imported: its row 3 has a problem"),
        (5, "Category 'P' would be its own ancestor: P → Q → P"),
        (6, "Category 'Q' would be its own ancestor: Q → P → Q"),
        (7, "Parent Category Id 'P' of category 'R' is not imported: its row 5 has a problem"),
        (8, "Parent Category Id 'Q' of category 'OLD' is not imported: its row 6 has a problem"),
    ]
    written = list_records(importer.runtime, ImportType.CATEGORY, -2, 1, 1, 10)[0]
    assert [(c["category_id"], c["parent_category_id"]) for c in written] == [("OLD", None), ("S", "OLD")]


def test_a_product_category_is_a_warning_until_the_category_arrives(importer: Importer, database: Database) -> None:
    job_id = importer.run(ImportType.PRODUCT, CONTRACT_HEADER, [product_row("p1"), product_row("p2")])

    runtime = importer.runtime
    assert job(runtime, job_id).state == ImportState.COMPLETED
    assert problems(database, job_id) == [
        (2, "warning", "Default Category Id '2007' names no category of catalog -2 yet (2 products); "
                       "they link to it when it is imported"),
    ]  # fmt: skip
    assert read_record(runtime, ImportType.PRODUCT, ["p1"], -2, -3)["default_category"] == {
        "id": "2007",
        "pending": True,
    }
    importer.run(ImportType.CATEGORY, CATEGORY_HEADER, [["2007", "Mens", "", "", "", "", ""]])
    assert read_record(runtime, ImportType.PRODUCT, ["p1"], -2, -3)["default_category"] == {
        "id": "2007",
        "pending": False,
    }


def test_a_category_imported_into_a_sandbox_links_production_products_there(
    importer: Importer, database: Database
) -> None:
    importer.run(ImportType.PRODUCT, CONTRACT_HEADER, [product_row("p1")])
    box = sandboxes.create_sandbox(importer.runtime, importer.principal, "new categories")
    assert box.id is not None

    importer.run(ImportType.CATEGORY, CATEGORY_HEADER, [["2007", "Mens", "", "", "", "", ""]],
                 to_sandbox=True, sandbox_id=box.id)  # fmt: skip

    runtime = importer.runtime
    linked = {"id": "2007", "pending": False}
    assert read_record(runtime, ImportType.PRODUCT, ["p1"], -2, -3, box.id)["default_category"] == linked
    listed = list_records(runtime, ImportType.PRODUCT, -2, -3, 1, 10, box.id)[0]
    assert [product["default_category"] for product in listed] == [linked]
    assert read_record(runtime, ImportType.PRODUCT, ["p1"], -2, -3)["default_category"] == {
        "id": "2007",
        "pending": True,
    }


def test_customers_import_validate_email_and_refuse_a_password_column(importer: Importer, database: Database) -> None:
    rows = [["C1", "ana", "ana@example.com", "Ana", "García", "Y", "no", "gold"],
            ["C2", "bo", "not-an-email", "Bo", "", "", "", ""]]  # fmt: skip

    bad = importer.run(ImportType.CUSTOMER, CUSTOMER_HEADER, rows, site_id=5)
    good = importer.run(ImportType.CUSTOMER, CUSTOMER_HEADER, rows[:1], site_id=5)
    refused = importer.run(ImportType.CUSTOMER, [*CUSTOMER_HEADER, "Password"], [[*rows[0], "hunter2"]], site_id=5)

    runtime = importer.runtime
    assert problems(database, bad) == [(3, "error", "Email Address must be an email address, got 'not-an-email'")]
    assert job(runtime, good).state == ImportState.COMPLETED
    ana = read_record(runtime, ImportType.CUSTOMER, ["C1"], 1, 5)
    assert (ana["email_address"], ana["active"], ana["tax_exempt"]) == ("ana@example.com", True, False)
    assert ana["attributes"] == {"Tier": "gold"}
    assert job(runtime, refused).state == ImportState.FAILED
    assert "header 'Password' is refused: passwords cannot be imported" in problems(database, refused)[0][2]


def test_addresses_need_an_existing_customer_and_a_valid_country(importer: Importer, database: Database) -> None:
    importer.run(
        ImportType.CUSTOMER, CUSTOMER_HEADER, [["C1", "ana", "ana@example.com", "", "", "", "", ""]], site_id=5
    )
    rows = [["C1", "Home", "Calle Mayor 1", "Madrid", "08013", "es", "Y"], ["C9", "Home", "x", "y", "", "ES", ""],
            ["C1", "Work", "Gran Vía 2", "Madrid", "", "XX", ""]]  # fmt: skip

    job_id = importer.run(ImportType.ADDRESS, ADDRESS_HEADER, rows, site_id=5, on_error=OnError.SKIP)

    done = job(importer.runtime, job_id)
    assert (done.state, done.records_created, done.records_failed) == (ImportState.COMPLETED, 1, 2)
    assert [(row, message) for row, _, message in problems(database, job_id)] == [
        (3, "Customer Id 'C9' names no customer of site 5; import the customer first"),
        (4, "Country must be an ISO 3166 two-letter country code such as US or ES, got 'XX'"),
    ]
    home = read_record(importer.runtime, ImportType.ADDRESS, ["C1", "Home"], 1, 5)
    assert (home["postal_code"], home["country"], home["default_shipping"]) == ("08013", "ES", True)


def test_problems_found_past_a_rows_own_checks_name_its_column(importer: Importer, database: Database) -> None:
    # Found across rows (a parent, a product above, a category elsewhere), they still say where to look.
    categories = importer.run(ImportType.CATEGORY, CATEGORY_HEADER, [["C", "c", "ZZ", "", "", "", ""]])
    sku_first = [[*product_row("s1", **{"SKU Indicator": "Y"}), "M"], [*product_row("p1"), ""]]
    products = importer.run(ImportType.PRODUCT, [*CONTRACT_HEADER, "options[Size]"], sku_first, on_error=OnError.SKIP)

    with database.read() as session:
        found = session.exec(select(ImportProblem).where(col(ImportProblem.job_id).in_([categories, products])))
        columns = sorted((p.job_id, p.row_number, p.field_name, p.column) for p in found)
    assert columns == [
        (categories, 2, "Parent Category Id", "C"),
        (products, 2, "SKU Indicator", "B"),
        (products, 3, "Default Category Id", "F"),
    ]


def test_an_address_given_twice_is_named_by_its_address_name_column(importer: Importer, database: Database) -> None:
    importer.run(
        ImportType.CUSTOMER, CUSTOMER_HEADER, [["C1", "ana", "ana@example.com", "", "", "", "", ""]], site_id=5
    )
    rows = [["C1", "Home", "Calle Mayor 1", "Madrid", "", "ES", ""], ["C1", "Home", "Gran Vía 2", "Madrid", "", "", ""]]

    job_id = importer.run(ImportType.ADDRESS, ADDRESS_HEADER, rows, site_id=5, on_error=OnError.SKIP)

    with database.read() as session:
        [repeated] = session.exec(select(ImportProblem).where(ImportProblem.job_id == job_id)).all()
    assert (repeated.row_number, repeated.column, repeated.field_name, repeated.field_value) == (
        3, "B", "Address Name", "C1 / Home",
    )  # fmt: skip
    assert repeated.message == (
        "Customer Id / Address Name 'C1 / Home' appears more than once in this file (rows 2 and 3)"
    )


def test_a_category_whose_parent_row_is_invalid_is_not_told_its_parent_is_missing_from_the_file(
    importer: Importer, database: Database
) -> None:
    rows = [["A", "a", "", "", "two", "", ""], ["B", "b", "A", "", "", "", ""]]

    job_id = importer.run(ImportType.CATEGORY, CATEGORY_HEADER, rows, on_error=OnError.SKIP)

    [_, (row, _, message)] = problems(database, job_id)
    assert row == 3
    assert "in this file or imported before" not in message
    assert message.endswith("nor one of a valid row of this file (a row of it with a problem is not imported)")


def test_a_customer_has_one_default_shipping_and_one_default_billing_address(
    importer: Importer, database: Database
) -> None:
    ana, bo = ["C1", "ana", "ana@example.com", "", "", "", "", ""], ["C2", "bo", "bo@example.com", "", "", "", "", ""]
    importer.run(ImportType.CUSTOMER, CUSTOMER_HEADER, [ana, bo], site_id=5)
    header = ["Customer Id", "Address Name", "Address Line 1", "City", "Default Shipping", "Default Billing"]
    rows = [["C1", "Home", "Calle Mayor 1", "Madrid", "Y", "Y"], ["C1", "Work", "Gran Vía 2", "Madrid", "yes", "N"],
            ["C1", "Gym", "Calle Sol 3", "Madrid", "N", "N"],
            ["C2", "Home", "Rua 1", "Lisboa", "1", "TRUE"]]  # fmt: skip

    first = importer.run(ImportType.ADDRESS, header, rows, site_id=5, on_error=OnError.SKIP)
    office = importer.run(ImportType.ADDRESS, header, [["C1", "Office", "Plaza 4", "Madrid", "N", "Y"]], site_id=5)
    moved = importer.run(
        ImportType.ADDRESS, header, [[*rows[0][:5], "N"], ["C1", "Office", "Plaza 4", "Madrid", "N", "Y"]], site_id=5
    )

    runtime = importer.runtime
    assert (job(runtime, first).records_created, job(runtime, first).records_failed) == (3, 1)
    assert [(row, message) for row, _, message in problems(database, first)] == [
        (
            3,
            "Default Shipping: customer 'C1' has another default shipping address in row 2, 'Home'; a customer has one",
        )
    ]
    assert job(runtime, office).state == ImportState.FAILED
    assert [(row, message) for row, _, message in problems(database, office)] == [
        (
            2,
            "Default Billing: customer 'C1' has a default billing address already, 'Home'; a customer has one: "
            "import 'Home' with Default Billing N in the same file to make 'Office' the default",
        )
    ]
    assert job(runtime, moved).state == ImportState.COMPLETED
    defaults = {
        (address["address_name"], address["default_shipping"], address["default_billing"])
        for address in list_records(runtime, ImportType.ADDRESS, 1, 5, 1, 10)[0]
        if address["customer_id"] == "C1"
    }
    assert defaults == {("Home", True, False), ("Gym", False, False), ("Office", False, True)}


def test_a_category_that_would_end_before_it_starts_is_a_problem_of_its_row(
    importer: Importer, database: Database
) -> None:
    header = ["Category Id", "Category Name", "Active Start Date", "Active End Date"]
    rows = [["SALE", "Sale", "2024-03-01", "2023-03-01"],
            ["XMAS", "Xmas", "2024-12-01T00:00:00+01:00", "2024-11-30T22:30Z"],  # 23:00 and 22:30 in UTC
            ["NEW", "New", "2024-03-01", "2024-03-01"], ["OLD", "Old", "", "2020-01-01"]]  # fmt: skip

    job_id = importer.run(ImportType.CATEGORY, header, rows, on_error=OnError.SKIP)

    assert job(importer.runtime, job_id).records_created == 2
    with database.read() as session:
        found = session.exec(select(ImportProblem).where(ImportProblem.job_id == job_id)).all()
    assert sorted((p.row_number, p.column, p.field_name, p.field_value, p.message) for p in found) == [
        (2, "D", "Active End Date", "2023-03-01",
         "Active End Date '2023-03-01' is before Active Start Date '2024-03-01': the category would never be shown"),
        (3, "D", "Active End Date", "2024-11-30T22:30Z",
         "Active End Date '2024-11-30T22:30Z' is before Active Start Date '2024-12-01T00:00:00+01:00': "
         "the category would never be shown"),
    ]  # fmt: skip


def test_an_email_address_belongs_to_one_customer_of_a_site_whatever_its_case(
    importer: Importer, database: Database
) -> None:
    stored = [
        ["C1", "ana", "Ana@Example.com", "", "", "", "", ""],
        ["C5", "eve", "eve@example.com", "", "", "", "", ""],
    ]
    importer.run(ImportType.CUSTOMER, CUSTOMER_HEADER, stored, site_id=5)
    rows = [["C1", "ana", "ana@example.com", "Ana", "", "", "", ""],  # its own, in another case
            ["C2", "bo", "bo@example.com", "", "", "", "", ""], ["C3", "bob", "BO@example.COM", "", "", "", "", ""],
            ["C4", "ann", "ANA@example.com", "", "", "", "", ""],
            ["C6", "eva", "EVE@example.com", "", "", "", "", ""]]  # fmt: skip

    job_id = importer.run(ImportType.CUSTOMER, CUSTOMER_HEADER, rows, site_id=5, on_error=OnError.SKIP)
    elsewhere = importer.run(ImportType.CUSTOMER, CUSTOMER_HEADER, rows[3:], site_id=6)  # another site's customers

    done = job(importer.runtime, job_id)
    assert (done.records_updated, done.records_created, done.records_failed) == (1, 1, 3)
    assert [(row, message) for row, _, message in problems(database, job_id)] == [
        (4, "Email Address 'BO@example.COM' is given to customer 'C2' in row 3 too: each customer has its own"),
        (5, "Email Address 'ANA@example.com' is given to customer 'C1' in row 2 too: each customer has its own"),
        (6, "Email Address 'EVE@example.com' is the address of customer 'C5' already: each customer has its own"),
    ]
    assert job(importer.runtime, elsewhere).state == ImportState.COMPLETED


def test_a_small_customer_file_looks_up_the_addresses_it_gives_not_every_customer_of_the_site(
    database: Database, tmp_path: Path
) -> None:
    # A site of a million customers: a file of ten was checked for shared addresses by reading all of them (3.6 s
    # on either database, and longer as the site grew), inside the transaction that lands the file. A site of
    # 20,000 here: the plans show whether the check reads the site or looks the file's addresses up.
    site = [["C1", "ana", "Ana@Example.com"] + [""] * 5]
    site += [[f"S{number}", f"s{number}", f"S{number}@example.com"] + [""] * 5 for number in range(20_000)]
    importer = Importer(*make_runtime(database, tmp_path, chunk_rows=5_000), make_principal(database))
    importer.run(ImportType.CUSTOMER, CUSTOMER_HEADER, site, site_id=5)
    if database.is_postgresql:
        with database.write() as session:  # as autovacuum does after such an import
            session.execute(text("ANALYZE customer"))
    plans: list[str] = []

    def explained(connection: Any, _cursor: Any, statement: str, parameters: Any, _context: Any, _many: Any) -> None:
        if "lower(customer.email_address)" not in statement:
            return
        cursor = connection.connection.dbapi_connection.cursor()  # in its transaction, with its settings
        cursor.execute(("EXPLAIN " if database.is_postgresql else "EXPLAIN QUERY PLAN ") + statement, parameters)
        plans.extend(str(line[-1]) for line in cursor.fetchall())

    event.listen(database.engine, "before_cursor_execute", explained)
    try:
        job_id = importer.run(ImportType.CUSTOMER, CUSTOMER_HEADER, [["C2", "an", "ANA@example.com"] + [""] * 5],
                              site_id=5, on_error=OnError.SKIP)  # fmt: skip
    finally:
        event.remove(database.engine, "before_cursor_execute", explained)

    assert [message for *_, message in problems(database, job_id)] == [
        "Email Address 'ANA@example.com' is the address of customer 'C1' already: each customer has its own"
    ]
    # Each read of the site's customers finds them by the file's lowered addresses (ix_customer_email).
    reads = [(line, after) for line, after in zip(plans, [*plans[1:], ""], strict=True)
             if re.search(r"(SCAN|SEARCH|Scan.* on) customer( |$)", line)]  # fmt: skip
    assert reads
    assert [line for line, after in reads if not _by_lowered_address(line, after)] == []


def _by_lowered_address(line: str, after: str) -> bool:
    """A plan's read of a table by ix_customer_email, on the lowered address as well as the site (SQLite names
    the expression on the line, PostgreSQL on the next)."""
    return "ix_customer_email" in line and ("<expr>=?" in line or "lower(" in after)


def test_addresses_posted_right_after_their_customers_wait_for_them_and_land(
    importer: Importer, database: Database
) -> None:
    # A script posts the customers, then their addresses, without waiting: two workers take both at once.
    runtime, principal = importer.runtime, importer.principal
    customer_rows = [["C1", "ana", "ana@example.com", "", "", "", "", ""], ["C2", "bo", "bo@example.com"] + [""] * 5]
    customers = submit(runtime, principal, make_csv(customer_rows, header=CUSTOMER_HEADER),
                       import_type=ImportType.CUSTOMER, site_id=5)  # fmt: skip
    address_rows = [
        ["C1", "Home", "Calle Mayor 1", "Madrid", "", "ES", ""],
        ["C2", "Home", "x 2", "Lyon", "", "FR", ""],
    ]
    addresses = submit(runtime, principal, make_csv(address_rows, header=ADDRESS_HEADER),
                       import_type=ImportType.ADDRESS, site_id=5)  # fmt: skip
    elsewhere = submit(runtime, principal, make_csv(address_rows, header=ADDRESS_HEADER),
                       import_type=ImportType.ADDRESS, site_id=6)  # fmt: skip
    importer.queue.steps.clear()

    with pytest.raises(Retry):  # the second worker takes the addresses first
        run_step(Delivery().task, WorkerOf(runtime), addresses, lambda worker: pipeline.plan(worker, addresses))
    waiting = job(runtime, addresses)
    pipeline.plan(runtime, elsewhere)  # another site's addresses name none of these customers: no wait
    pipeline.plan(runtime, customers)
    drain(runtime, importer.queue)
    pipeline.plan(runtime, addresses)  # the retry, once the customers are in
    drain(runtime, importer.queue)

    assert (waiting.state, waiting.message) == (
        ImportState.START_REQUESTED,
        f"waiting for import {customers} (CUSTOMER) to finish: the rows of this import name records that import writes",
    )
    done = job(runtime, addresses)
    assert (done.state, done.records_created, done.records_failed) == (ImportState.COMPLETED, 2, 0)
    assert job(runtime, elsewhere).state == ImportState.FAILED  # site 6 has no customer C1 or C2
