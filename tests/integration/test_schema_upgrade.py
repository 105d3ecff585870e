"""A database made by an earlier version is brought up to date when the service starts."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import inspect, text

from app.db import Database
from app.jobs import ImportState
from tests.factories import make_csv, product_row
from tests.integration.pipeline_driver import drain, job, make_principal, make_runtime, submit


@contextmanager
def started_after(pg_url: str, *earlier: str) -> Iterator[Database]:
    """A PostgreSQL database with the schema, changed by the `earlier` statements, then started on again."""
    database = Database(pg_url)
    try:
        database.create_schema()
        with database.engine.begin() as connection:
            for statement in earlier:
                connection.execute(text(statement))
        database.create_schema()  # what every service process does when it starts
        yield database
    finally:
        database.dispose()


def test_the_staging_chunk_indexes_of_earlier_versions_are_dropped(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("CREATE INDEX ix_product_staging_chunk ON product_staging (job_id, chunk_no)"))
        connection.execute(text("CREATE INDEX ix_order_staging_chunk ON order_staging (job_id, chunk_no)"))

    database.create_schema()  # what every service process does when it starts

    for table in ("product_staging", "order_staging"):
        names = {index["name"] for index in inspect(database.engine).get_indexes(table)}
        assert not any(name and name.endswith("_chunk") for name in names), names


def test_customers_stored_by_an_earlier_version_get_the_index_of_their_email_addresses(database: Database) -> None:
    with database.engine.begin() as connection:  # a customer table made before the index was
        connection.execute(text("DROP INDEX ix_customer_email"))

    database.create_schema()  # what every service process does when it starts

    listed = (
        "SELECT indexname FROM pg_indexes WHERE tablename = 'customer'" if database.is_postgresql
        else "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'customer'"
    )  # fmt: skip
    with database.engine.connect() as connection:
        assert "ix_customer_email" in set(connection.execute(text(listed)).scalars())


def test_product_and_sku_pages_keep_room_for_updated_rows(pg_url: str) -> None:
    with (
        started_after(
            pg_url,
            "ALTER TABLE sku SET (fillfactor = 90)",  # an operator's own choice
            "ALTER TABLE product RESET (fillfactor)",  # as an earlier version made it
        ) as database,
        database.engine.connect() as connection,
    ):
        rows = connection.execute(text("SELECT relname, reloptions FROM pg_class WHERE relname IN ('product', 'sku')"))
        assert dict(rows.all()) == {"product": ["fillfactor=50"], "sku": ["fillfactor=90"]}


def test_record_tables_hold_ids_ahead_for_their_merges_and_keep_an_operators_own_choice(pg_url: str) -> None:
    with (
        started_after(
            pg_url,
            "ALTER SEQUENCE sku_id_seq CACHE 20",  # an operator's own choice
            "ALTER SEQUENCE product_id_seq CACHE 1",  # as an earlier version made it
        ) as database,
        database.engine.connect() as connection,
    ):
        rows = connection.execute(
            text(
                "SELECT seqrelid::regclass::text, seqcache FROM pg_sequence"
                " WHERE seqrelid::regclass::text IN ('product_id_seq', 'sku_id_seq', 'category_id_seq')"
            )
        )
        assert dict(rows.all()) == {"product_id_seq": 1000, "sku_id_seq": 20, "category_id_seq": 1000}


def test_chunks_of_earlier_versions_get_the_column_naming_their_rows_file(database: Database) -> None:
    with database.engine.begin() as connection:
        connection.execute(text("ALTER TABLE import_chunk DROP COLUMN rows_key"))

    database.create_schema()

    assert "rows_key" in {column["name"] for column in inspect(database.engine).get_columns("import_chunk")}


def test_a_database_of_the_first_versions_gets_every_column_added_since_and_imports(
    database: Database, tmp_path: Path
) -> None:
    added_since = {
        "import_status": ("sheet_name", "files", "max_errors", "retry_of", "retried_as"),
        "product": ("base_job_id",),
        "sku": ("base_job_id",),
        "category": ("base_job_id",),
    }
    with database.engine.begin() as connection:  # as the first versions made it
        for table, columns in added_since.items():
            for column in columns:
                connection.execute(text(f"ALTER TABLE {table} DROP COLUMN {column}"))

    database.create_schema()  # what every service process does when it starts
    runtime, queue = make_runtime(database, tmp_path)
    job_id = submit(runtime, make_principal(database), make_csv([product_row("1"), product_row("2")]))
    drain(runtime, queue)

    for table, columns in added_since.items():
        assert set(columns) <= {column["name"] for column in inspect(database.engine).get_columns(table)}, table
    done = job(runtime, job_id)
    assert (done.state, done.records_created) == (ImportState.COMPLETED, 2)


def test_staging_tables_of_earlier_versions_become_unlogged_and_keep_the_rows_of_running_imports(pg_url: str) -> None:
    database = Database(pg_url)
    try:
        database.create_schema()
        with database.engine.begin() as connection:  # as an earlier version made it, mid-import
            connection.execute(text("ALTER TABLE product_staging SET LOGGED"))
            connection.execute(
                text(
                    "INSERT INTO product_staging (job_id, row_no, chunk_no, is_sku, sku_number)"
                    " VALUES (7, 2, 0, false, 'P1')"
                )
            )

        database.create_schema()  # what every service process does when it starts

        with database.engine.connect() as connection:
            persistence = connection.execute(
                text("SELECT relpersistence FROM pg_class WHERE relname = 'product_staging'")
            ).scalar_one()
            staged = connection.execute(text("SELECT job_id, sku_number FROM product_staging")).all()
        assert (persistence, staged) == ("u", [(7, "P1")])
    finally:
        database.dispose()


def test_problems_of_earlier_versions_lose_the_foreign_key_each_problem_was_checked_against(pg_url: str) -> None:
    database = Database(pg_url)
    try:
        database.create_schema()
        with database.engine.begin() as connection:  # as an earlier version made it
            connection.execute(
                text(
                    "ALTER TABLE import_problem ADD CONSTRAINT import_problem_job_id_fkey"
                    " FOREIGN KEY (job_id) REFERENCES import_status (id)"
                )
            )

        database.create_schema()  # what every service process does when it starts

        assert inspect(database.engine).get_foreign_keys("import_problem") == []
        names = {index["name"] for index in inspect(database.engine).get_indexes("import_problem")}
        assert "ix_import_problem_job_row" in names  # a job's problems are still found by its index
    finally:
        database.dispose()
