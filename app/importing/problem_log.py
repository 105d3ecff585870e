"""Keeping problems: many rows into import_problem at once."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

from sqlalchemy import Table
from sqlmodel import Session

from app.importing.problems import ValidationProblem, column_letter
from app.importing.writers.staging import load_rows
from app.jobs import ImportProblem, ImportStatus, ProblemKind

SHOWN_VALUE = 1000


def shown(value: str | None) -> str | None:
    """A value as a problem keeps it: NUL bytes (no database text holds one) written as \\x00, and
    bounded, since the value may be a field of a megabyte."""
    if value is None:
        return None
    value = value.replace("\x00", "\\x00")
    return value if len(value) <= SHOWN_VALUE else value[:SHOWN_VALUE] + "…"


def header_of(job: ImportStatus) -> list[str]:
    """The upload's header cells, as the plan kept them."""
    return list(json.loads(job.header or "[]"))


_PROBLEMS: Table = ImportProblem.__table__  # type: ignore[attr-defined]
_COLUMNS = ("job_id", "kind", "severity", "row_number", "column", "field_name", "field_value", "message")


def record_problems(
    session: Session,
    job_id: int,
    kind: ProblemKind,
    problems: Iterable[ValidationProblem],
    header: Sequence[str] = (),
) -> None:
    """Keep the problems: COPY on PostgreSQL, one prepared executemany on SQLite. An import whose every
    row has a warning (image names that no asset has yet) keeps as many problems as rows, so this runs
    at the staging's pace, not an ORM insert's. A problem that names its field but not its column (one
    found past the row's own validation: a SKU row with no product, a category not imported yet) is
    given the column of that field in the upload's `header`."""
    letters = {name.strip().lower(): column_letter(index) for index, name in reversed(list(enumerate(header)))}
    rows = [
        (
            job_id,
            kind.value,
            problem.severity.value,
            problem.row,
            problem.column or (letters.get(problem.field_name.strip().lower()) if problem.field_name else None),
            shown(problem.field_name),
            shown(problem.value),
            shown(problem.message) or "",
        )
        for problem in problems
    ]
    load_rows(session, _PROBLEMS, _COLUMNS, rows)
