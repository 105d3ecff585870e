"""Keeping problems: many rows into import_problem at once."""

from __future__ import annotations

from collections.abc import Iterable

from sqlmodel import Session

from app.importing.problems import ValidationProblem
from app.jobs import ImportProblem, ProblemKind

SHOWN_VALUE = 1000


def shown(value: str | None) -> str | None:
    """A value as a problem keeps it: NUL bytes (no database text holds one) written as \\x00, and
    bounded, since the value may be a field of a megabyte."""
    if value is None:
        return None
    value = value.replace("\x00", "\\x00")
    return value if len(value) <= SHOWN_VALUE else value[:SHOWN_VALUE] + "…"


_COLUMNS = ("job_id", "kind", "severity", "row_number", "column", "field_name", "field_value", "message")


def record_problems(session: Session, job_id: int, kind: ProblemKind, problems: Iterable[ValidationProblem]) -> None:
    """Keep the problems: COPY on PostgreSQL, one prepared executemany on SQLite. An import whose every
    row has a warning (image names that no asset has yet) keeps as many problems as rows, so this runs
    at the staging's pace, not an ORM insert's."""
    rows = [
        (
            job_id,
            kind.value,
            problem.severity.value,
            problem.row,
            problem.column,
            shown(problem.field_name),
            shown(problem.value),
            shown(problem.message) or "",
        )
        for problem in problems
    ]
    if not rows:
        return
    connection = session.connection()
    names = ", ".join(f'"{name}"' for name in _COLUMNS)
    table = ImportProblem.__tablename__
    if connection.dialect.name == "postgresql":
        driver = connection.connection.driver_connection
        assert driver is not None
        with driver.cursor() as cursor, cursor.copy(f"COPY {table} ({names}) FROM STDIN") as copy:
            for row in rows:
                copy.write_row(row)
        return
    placeholders = ", ".join("?" for _ in _COLUMNS)
    connection.exec_driver_sql(f"INSERT INTO {table} ({names}) VALUES ({placeholders})", rows)
