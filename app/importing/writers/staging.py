"""Loading rows into a staging table (or any table): COPY on PostgreSQL, one prepared executemany on SQLite."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, TypeAlias

from sqlalchemy import Table, delete
from sqlmodel import Session

if TYPE_CHECKING:
    from app.importing.polars_runtime import pl

StagingRow = tuple[Any, ...]
# Staging rows as tuples (the row-by-row path) or as a frame of the same columns (clean_chunks.py).
StagedRows: TypeAlias = "Sequence[StagingRow] | pl.DataFrame"


def load_rows(session: Session, table: Table, columns: Sequence[str], rows: StagedRows) -> None:
    if not len(rows):
        return
    connection = session.connection()
    names = ", ".join(f'"{name}"' for name in columns)  # quoted: a column may be named like a keyword
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(f"COPY {table.name} ({names}) FROM STDIN") as copy:
            if not isinstance(rows, Sequence):
                from app.importing.columnar import copy_text  # polars: loaded by the workers only

                data = copy_text(rows)
                # Bytes go as they are: in UTF-8 only where the connection speaks it.
                copy.write(data if driver.info.encoding == "utf-8" else data.decode("utf-8"))
                return
            for row in rows:
                copy.write_row(row)
        return
    if not isinstance(rows, Sequence):
        rows = rows.rows()
    placeholders = ", ".join("?" for _ in columns)
    connection.exec_driver_sql(f"INSERT INTO {table.name} ({names}) VALUES ({placeholders})", list(rows))


def clear_job(session: Session, table: Table, job_id: int) -> None:
    session.execute(delete(table).where(table.c.job_id == job_id))


def clear_jobs(session: Session, table: Table, job_ids: Sequence[int]) -> int:
    """Delete the staging rows of these jobs; returns how many went."""
    result = session.execute(delete(table).where(table.c.job_id.in_(job_ids)))
    return int(result.rowcount)  # type: ignore[attr-defined]
