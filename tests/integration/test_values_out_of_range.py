"""A value no column can hold is its row's problem, naming the limit: never a database write that fails,
nor a few bytes that grow into millions of digits."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from app.db import Database
from app.errors import NotFound
from app.jobs import ImportProblem, ImportState, OnError
from app.runtime import Runtime
from app.service import read_record
from specifications import ImportType
from tests.factories import make_csv, product_row
from tests.integration.pipeline_driver import drain, job, make_principal, make_runtime, submit

DIGITS = "at most 30 digits before its decimal point and 30 after"
WHOLE = "a whole number from -9223372036854775808 to 9223372036854775807"


def record_problems(database: Database, job_id: int) -> list[tuple[int | None, str | None, str]]:
    with database.read() as session:
        found = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.row_number))
        )
        return [(p.row_number, p.column, p.message) for p in found if p.severity == "error"]


@pytest.mark.parametrize(
    ("column", "value", "letter", "rule"),
    [
        ("Retail Price", "1" + "0" * 200_000, "H", DIGITS),  # more digits than PostgreSQL's numeric holds
        ("Retail Price", "1e200000", "H", DIGITS),  # eight bytes that would be written out as 200,001 digits
        ("Retail Price", "0." + "5" * 31, "H", DIGITS),
        ("Available Quantity", "9223372036854775808", "J", WHOLE),
        ("Available Quantity", "9" * 25, "J", WHOLE),
    ],
)
def test_a_number_too_large_for_its_column_is_the_rows_problem(
    database: Database, tmp_path: Path, column: str, value: str, letter: str, rule: str
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    body = make_csv([product_row("1"), product_row("2", **{column: value}), product_row("3")])

    job_id = submit(runtime, make_principal(database), body, on_error=OnError.SKIP)
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED
    [(row, found_letter, message)] = record_problems(database, job_id)
    assert (row, found_letter) == (3, letter)
    assert message.startswith(f"{column} must be {rule}" if rule == WHOLE else f"{column} must have {rule}")
    assert [sku for sku in "123" if imported(runtime, sku)] == ["1", "3"]


def imported(runtime: Runtime, sku: str) -> bool:
    try:
        read_record(runtime, ImportType.PRODUCT, [sku], -2, -3)
    except NotFound:
        return False
    return True


CATEGORY_HEADER = ["Category Id", "Category Name", "Display Order", "Active Start Date"]


def test_a_display_order_past_32_bits_is_kept_and_a_date_past_the_year_9999_is_refused(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    rows = [["c1", "Shoes", "3000000000", "2024-03-01"], ["c2", "Hats", "1", "9999-12-31T23:00:00-05:00"]]

    job_id = submit(
        runtime, make_principal(database), make_csv(rows, header=CATEGORY_HEADER),
        import_type=ImportType.CATEGORY, on_error=OnError.SKIP,
    )  # fmt: skip
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED
    assert record_problems(database, job_id) == [
        (3, "D", "Active Start Date must be a date from the year 1 to 9999 in UTC, got '9999-12-31T23:00:00-05:00'")
    ]
    assert read_record(runtime, ImportType.CATEGORY, ["c1"], -2, -3)["display_order"] == 3_000_000_000


def test_a_display_order_column_of_an_earlier_version_is_widened(pg_url: str) -> None:
    database = Database(pg_url)
    try:
        database.create_schema()
        with database.engine.begin() as connection:
            connection.execute(text("ALTER TABLE category ALTER COLUMN display_order TYPE INTEGER"))

        database.create_schema()  # what every service process does when it starts

        with database.engine.connect() as connection:
            found = connection.execute(
                text("SELECT data_type FROM information_schema.columns WHERE column_name = 'display_order'")
            ).scalars()
            assert sorted(found) == ["bigint", "bigint"]  # category and its staging
    finally:
        database.dispose()


@pytest.mark.parametrize(
    ("column", "letter", "limit"),
    [("SKU Number", "A", 255), ("Default Category Id", "F", 255), ("UPC", "I", 255)],
)
def test_a_value_longer_than_its_column_holds_is_the_rows_problem_and_the_other_rows_land(
    database: Database, tmp_path: Path, column: str, letter: str, limit: int
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    long_value = "7" * (limit + 1)
    body = make_csv([product_row("1"), product_row("2", **{column: long_value}), product_row("3")])

    job_id = submit(runtime, make_principal(database), body, on_error=OnError.SKIP)
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED
    assert record_problems(database, job_id) == [
        (3, letter, f"{column} may have at most {limit} characters, got {limit + 1}")
    ]
    assert [sku for sku in "123" if imported(runtime, sku)] == ["1", "3"]


ADDRESS_HEADER = ["Customer Id", "Address Name", "Address Line 1", "City", "Postal Code", "Phone"]


def test_an_address_whose_postal_code_or_phone_is_too_long_is_named_with_its_cell(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    rows = [
        ["c1", "Home", "1 Main St", "Springfield", "9" * 41, "5"],
        ["c1", "Work", "2 Main St", "Shelbyville", "1", "5" * 61],
    ]

    job_id = submit(
        runtime, make_principal(database), make_csv(rows, header=ADDRESS_HEADER), import_type=ImportType.ADDRESS
    )
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.FAILED
    problems = record_problems(database, job_id)
    assert (2, "E", "Postal Code may have at most 40 characters, got 41") in problems
    assert (3, "F", "Phone may have at most 60 characters, got 61") in problems
