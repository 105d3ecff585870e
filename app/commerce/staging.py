"""Staging tables built from their target table: the staged fields with the target's types, keyed by job and row.

On PostgreSQL they are unlogged (app.db): staged rows are a job's scratch, written once and read once by
its merge, so they go neither to the write-ahead log nor to replicas. A crash empties unlogged tables;
STAGING_GUARD, unlogged too, tells a job whose staged rows went with it (app.importing.staging_guard)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, Table
from sqlmodel import SQLModel


def staging_table(name: str, target: Table, fields: tuple[str, ...]) -> Table:
    columns = [
        Column("job_id", Integer, primary_key=True, autoincrement=False),
        Column("row_no", Integer, primary_key=True, autoincrement=False),
        Column("chunk_no", Integer, nullable=False),
    ]
    columns += [Column(field, target.c[field].type, nullable=True) for field in fields]
    return Table(name, SQLModel.metadata, *columns, info={"unlogged": True})


# A row for each job in process on PostgreSQL, written before its first chunk is staged: emptied with the
# staging tables by a crash, so a job without one has lost what it staged.
STAGING_GUARD = Table(
    "staging_guard",
    SQLModel.metadata,
    Column("job_id", Integer, primary_key=True, autoincrement=False),
    info={"unlogged": True},
)
