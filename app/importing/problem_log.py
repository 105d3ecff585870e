"""Keeping problems: one insert of many rows into import_problem."""

from __future__ import annotations

from collections.abc import Iterable

from sqlalchemy import insert
from sqlmodel import Session

from app.importing.problems import ValidationProblem
from app.jobs import ImportProblem, ProblemKind


def record_problems(session: Session, job_id: int, kind: ProblemKind, problems: Iterable[ValidationProblem]) -> None:
    rows = [
        {
            "job_id": job_id,
            "kind": kind.value,
            "severity": problem.severity.value,
            "row_number": problem.row,
            "column": problem.column,
            "field_name": problem.field_name,
            "field_value": problem.value,
            "message": problem.message,
        }
        for problem in problems
    ]
    if rows:
        session.execute(insert(ImportProblem), rows)
