"""Keeping problems: one insert of many rows into import_problem."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
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


def record_problems(session: Session, job_id: int, kind: ProblemKind, problems: Iterable[ValidationProblem]) -> None:
    rows = [
        {
            "job_id": job_id,
            "kind": kind.value,
            "severity": problem.severity.value,
            "row_number": problem.row,
            "column": problem.column,
            "field_name": shown(problem.field_name),
            "field_value": shown(problem.value),
            "message": shown(problem.message) or "",
        }
        for problem in problems
    ]
    if rows:
        session.execute(insert(ImportProblem), rows)
