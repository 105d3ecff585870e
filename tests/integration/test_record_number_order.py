"""Product and SKU numbers compare byte by byte on PostgreSQL, as on SQLite: a catalog lists in the same order
on both, whatever language the database server sorts its own text by, and a database made by an earlier
version is brought round when the service starts."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import text

from app import service
from app.db import Database
from app.jobs import ImportState
from specifications import ImportType
from tests.conftest import create_pg_database, drop_pg_database
from tests.factories import make_csv, product_row
from tests.integration.pipeline_driver import drain, job, make_principal, make_runtime, submit

NUMBERS = ["b4", "a1", "C3", "B2", "É5", "e6"]
BYTE_ORDER = ["B2", "C3", "a1", "b4", "e6", "É5"]
ENGLISH = ["a1", "B2", "b4", "C3", "É5", "e6"]
NUMBER_COLUMNS = [
    ("product", "sku_number"), ("product_staging", "parent_sku_number"), ("product_staging", "sku_number"),
    ("sku", "product_sku_number"), ("sku", "sku_number"),
]  # fmt: skip


@pytest.fixture
def english_database() -> Iterator[Database]:
    """A PostgreSQL database whose own text sorts as English does (ICU), with the service's schema."""
    url = create_pg_database(options="TEMPLATE template0 LOCALE_PROVIDER icu ICU_LOCALE 'en-US' LOCALE 'C.UTF-8'")
    database = Database(url)
    try:
        database.create_schema()
        yield database
    finally:
        database.dispose()
        drop_pg_database(url)


def listed_numbers(database: Database, tmp_path: Path) -> list[str]:
    runtime, _ = make_runtime(database, tmp_path)
    items, _total = service.list_records(runtime, ImportType.PRODUCT, -2, -3, 1, 50, 0)
    return [str(item["sku_number"]) for item in items]


def collations(database: Database) -> list[tuple[str, str, str | None]]:
    with database.engine.connect() as connection:
        found = connection.execute(
            text(
                "SELECT table_name, column_name, collation_name FROM information_schema.columns"
                " WHERE table_schema = current_schema() AND column_name IN ('sku_number', 'product_sku_number',"
                " 'parent_sku_number') AND table_name IN ('product', 'product_staging', 'sku')"
                " ORDER BY table_name, column_name"
            )
        )
        return [(str(table), str(column), collation) for table, column, collation in found]


def test_a_catalog_lists_its_products_in_the_byte_order_of_their_numbers(
    english_database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(english_database, tmp_path)
    with english_database.engine.connect() as connection:  # the server's own order is English
        english = connection.execute(text("SELECT n FROM unnest(CAST(:n AS text[])) AS n ORDER BY n"), {"n": NUMBERS})
        assert list(english.scalars()) == ENGLISH

    job_id = submit(runtime, make_principal(english_database), make_csv([product_row(n) for n in NUMBERS]))
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED
    assert listed_numbers(english_database, tmp_path) == BYTE_ORDER


def test_a_database_of_an_earlier_version_has_its_numbers_collated_byte_by_byte_when_the_service_starts(
    english_database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(english_database, tmp_path)
    submit(runtime, make_principal(english_database), make_csv([product_row(n) for n in NUMBERS]))
    drain(runtime, queue)
    with english_database.engine.begin() as connection:  # as an earlier version made them
        for table, column in NUMBER_COLUMNS:
            connection.execute(text(f'ALTER TABLE {table} ALTER COLUMN {column} TYPE VARCHAR(255) COLLATE "default"'))
    assert listed_numbers(english_database, tmp_path) == ENGLISH

    english_database.create_schema()  # what every service process does when it starts

    assert collations(english_database) == [(table, column, "C") for table, column in NUMBER_COLUMNS]
    assert listed_numbers(english_database, tmp_path) == BYTE_ORDER
    found = service.read_record(runtime, ImportType.PRODUCT, ["É5"], -2, -3, 0)  # by its rebuilt index
    assert found["sku_number"] == "É5"
