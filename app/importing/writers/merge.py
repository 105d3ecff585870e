"""The set-based merge: one INSERT ... SELECT ... ON CONFLICT DO UPDATE per target table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, Select, Table, and_, case, func, literal, or_, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlmodel import Session

from app.jobs import utcnow


@dataclass(frozen=True)
class MergeCounts:
    created: int = 0
    updated: int = 0
    unchanged: int = 0

    def __add__(self, other: MergeCounts) -> MergeCounts:
        return MergeCounts(self.created + other.created, self.updated + other.updated, self.unchanged + other.unchanged)


@dataclass(frozen=True)
class MergePlan:
    """What to merge: rows of `staging` matching `where`, into `target`, matched on `key`.

    `scope` gives constant values for target columns that staging does not carry (catalog, site,
    sandbox); a scope column may be part of `key`. `values` are the columns an update may change.
    """

    target: Table
    staging: Table
    where: ColumnElement[bool]
    key: Sequence[str]
    values: Sequence[str]
    scope: dict[str, int]
    renamed: dict[str, str]  # target column -> staging column, where the names differ


def _source(plan: MergePlan, name: str) -> ColumnElement[object]:
    if name in plan.scope:
        return literal(plan.scope[name])
    return plan.staging.c[plan.renamed.get(name, name)]


def _count_existing(session: Session, plan: MergePlan) -> tuple[int, int]:
    """How many staged rows match a target row, and how many of those are identical to it."""
    join_on = and_(*(plan.target.c[name] == _source(plan, name) for name in plan.key))
    same = and_(*(plan.target.c[name].is_not_distinct_from(_source(plan, name)) for name in plan.values))
    query = (
        select(func.count(), func.coalesce(func.sum(case((same, 1), else_=0)), 0))
        .select_from(plan.staging.join(plan.target, join_on))
        .where(plan.where)
    )
    existing, unchanged = session.execute(query).one()
    return int(existing), int(unchanged)


def _inserted_names(plan: MergePlan) -> list[str]:
    return [*plan.scope, *(name for name in plan.key if name not in plan.scope), *plan.values]


def _production_version(plan: MergePlan) -> ColumnElement[object]:
    """For a sandbox row: the updated_job_id of the production row with the same key, when there is one."""
    production = plan.target.alias("production")
    same_key = [production.c[name] == _source(plan, name) for name in plan.key if name != "sandbox_id"]
    return select(production.c.updated_job_id).where(production.c.sandbox_id == 0, *same_key).scalar_subquery()


def _in_sandbox(plan: MergePlan) -> bool:
    return bool(plan.scope.get("sandbox_id", 0))


def _insert_select(plan: MergePlan, job_id: int) -> Select[*tuple[Any, ...]]:
    now = utcnow()
    columns: list[ColumnElement[object]] = [_source(plan, name) for name in _inserted_names(plan)]
    columns += [literal(job_id), literal(job_id), literal(now), literal(now)]
    if _in_sandbox(plan):
        columns.append(_production_version(plan))
    return select(*columns).where(plan.where)


def merge(session: Session, plan: MergePlan, job_id: int, staged: int, write: bool = True) -> MergeCounts:
    """Upsert the staged rows; rows identical to their target are left alone and counted unchanged.

    In a sandbox each row also records the production version it was written over, so that a
    promote can tell which production records changed since. With `write=False` only the counts
    are computed: what the merge would do (a dry run).
    """
    existing, unchanged = _count_existing(session, plan)
    counts = MergeCounts(created=staged - existing, updated=existing - unchanged, unchanged=unchanged)
    if not write:
        return counts
    names = [*_inserted_names(plan), "created_job_id", "updated_job_id", "created_at", "updated_at"]
    tracked = list(plan.values)
    if _in_sandbox(plan):
        names.append("base_job_id")
        tracked.append("base_job_id")
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    statement = insert(plan.target).from_select(names, _insert_select(plan, job_id))
    excluded = statement.excluded
    changes = {name: excluded[name] for name in tracked}
    changes |= {"updated_job_id": excluded.updated_job_id, "updated_at": excluded.updated_at}
    changed = or_(*(plan.target.c[name].is_distinct_from(excluded[name]) for name in tracked))
    session.execute(statement.on_conflict_do_update(index_elements=list(plan.key), set_=changes, where=changed))
    return counts
