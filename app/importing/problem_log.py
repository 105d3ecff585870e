"""Keeping problems: many rows into import_problem at once."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import Table
from sqlmodel import Session

from app.importing.problems import ValidationProblem
from app.importing.writers.staging import load_rows
from app.jobs import ImportProblem, ProblemKind

SHOWN_VALUE = 1000


def shown(value: str | None) -> str | None:
    """A value as a problem keeps it: NUL bytes (no database text holds one) written as \\x00, and
    bounded, since the value may be a field of a megabyte."""
    if value is None:
        return None
    value = value.replace("\x00", "\\x00")
    return value if len(value) <= SHOWN_VALUE else value[:SHOWN_VALUE] + "…"


_PROBLEMS: Table = ImportProblem.__table__  # type: ignore[attr-defined]
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
    load_rows(session, _PROBLEMS, _COLUMNS, rows)
