"""Staging tables built from their target table: the staged fields with the target's types, keyed by job and row."""

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
    return Table(name, SQLModel.metadata, *columns)
