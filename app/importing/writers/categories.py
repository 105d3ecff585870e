"""Categories: a parent may come later in the same file or exist already; no category may be its own ancestor."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from app.commerce.categories import CATEGORY_FIELDS, CATEGORY_STAGING, CATEGORY_TABLE
from app.importing.problems import ValidationProblem
from app.importing.writers.checks import missing_references
from app.importing.writers.upsert import Scope, UpsertTarget, UpsertWriter
from app.jobs import ImportStatus

PARENT = "Parent Category Id"


def missing_parents(session: Session, job: ImportStatus) -> list[ValidationProblem]:
    assert job.id is not None
    scope = {"catalog_id": job.catalog_id, "sandbox_id": {0, job.sandbox_id}}
    missing = missing_references(
        session,
        CATEGORY_STAGING,
        job.id,
        "parent_category_id",
        CATEGORY_TABLE,
        "category_id",
        scope,
        also_in_staging=True,
    )
    return [
        ValidationProblem(
            row,
            None,
            PARENT,
            parent,
            f"Parent Category Id '{parent}' names no category of catalog {job.catalog_id} imported before, "
            "nor one of a valid row of this file (a row of it with a problem is not imported)",
        )
        for row, parent in missing
    ]


def _parent_graph(session: Session, job: ImportStatus) -> tuple[dict[str, str | None], dict[str, int]]:
    """Every category's parent once this import lands, and the row that stages each category."""
    table, staging = CATEGORY_TABLE, CATEGORY_STAGING
    graph: dict[str, str | None] = {}
    for category, parent in session.execute(
        select(table.c.category_id, table.c.parent_category_id)
        .where(table.c.catalog_id == job.catalog_id, table.c.sandbox_id.in_({0, job.sandbox_id}))
        .order_by(table.c.sandbox_id)  # the sandbox's row over production's
    ):
        graph[category] = parent
    rows: dict[str, int] = {}
    for row, category, parent in session.execute(
        select(staging.c.row_no, staging.c.category_id, staging.c.parent_category_id)
        .where(staging.c.job_id == job.id)
        .order_by(staging.c.row_no)
    ):
        if category not in rows:  # a later row of the same id is a repeat, and is not written
            graph[category] = parent
            rows[category] = row
    return graph, rows


def cycles(session: Session, job: ImportStatus) -> list[ValidationProblem]:
    return _cycles(*_parent_graph(session, job))


def _cycles(graph: dict[str, str | None], rows: dict[str, int]) -> list[ValidationProblem]:
    problems = []
    settled: set[str] = set()
    for category, row in sorted(rows.items(), key=lambda item: item[1]):
        path = [category]
        parent = graph.get(category)
        while parent is not None and parent not in settled and parent not in path:
            path.append(parent)
            parent = graph.get(parent)
        if parent is not None and parent in path:
            loop = [*path[path.index(parent) :], parent]
            if category in loop:
                message = f"Category '{category}' would be its own ancestor: {' → '.join(loop)}"
                problems.append(ValidationProblem(row, None, PARENT, graph.get(category), message))
                continue
        settled.update(path)
    return problems


def _stored(session: Session, job: ImportStatus) -> set[str]:
    """The catalog's categories that are there before this import: they stay whatever its rows say."""
    table = CATEGORY_TABLE
    return set(
        session.execute(
            select(table.c.category_id).where(
                table.c.catalog_id == job.catalog_id, table.c.sandbox_id.in_({0, job.sandbox_id})
            )
        ).scalars()
    )


def orphans(
    session: Session, job: ImportStatus, graph: dict[str, str | None], rows: dict[str, int], bad_rows: set[int]
) -> list[ValidationProblem]:
    """Categories whose parent this file was to bring, in a row that has a problem of its own: under
    onError=skip that parent lands nowhere, so neither may they (nor, in turn, their own children)."""
    stored = _stored(session, job)
    left_out = {category: row for category, row in rows.items() if row in bad_rows}
    problems = []
    found = True
    while found:
        found = False
        for category, row in sorted(rows.items(), key=lambda item: item[1]):
            parent = graph.get(category)
            if category in left_out or parent is None or parent in stored or parent not in left_out:
                continue
            message = (
                f"Parent Category Id '{parent}' of category '{category}' is not imported: "
                f"its row {left_out[parent]} has a problem"
            )
            problems.append(ValidationProblem(row, None, PARENT, parent, message))
            left_out[category] = row
            found = True
    return problems


def parent_problems(session: Session, job: ImportStatus) -> list[ValidationProblem]:
    """A parent named nowhere, a category its own ancestor, and a category whose parent is one of those."""
    graph, rows = _parent_graph(session, job)
    found = missing_parents(session, job) + _cycles(graph, rows)
    return found + orphans(session, job, graph, rows, {problem.row for problem in found if problem.row is not None})


CATEGORY_WRITER = UpsertWriter(
    UpsertTarget(
        CATEGORY_TABLE, CATEGORY_STAGING, ("category_id",), CATEGORY_FIELDS[1:], Scope.CATALOG, "Category Id",
        checks=(parent_problems,),
    )
)  # fmt: skip
