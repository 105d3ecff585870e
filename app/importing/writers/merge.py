"""The set-based merge: per target table, one INSERT ... SELECT of the new rows and one UPDATE ... FROM staging
of the changed ones; and a rolling merge's part of it, batch by batch (see rolling_merge.py)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from itertools import combinations

from sqlalchemy import (
    ColumnElement,
    FromClause,
    Table,
    UniqueConstraint,
    and_,
    case,
    delete,
    exists,
    func,
    insert,
    literal,
    literal_column,
    or_,
    select,
    update,
)
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
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
    # In a sandbox, a row identical to production's is left out (the sandbox shows production's), unless
    # the target's rows are read together as one record: an order's lines, read with their order.
    identical_kept: bool = False
    # A sandbox row an import sets back to production's values goes, so that the sandbox shows production's
    # again, unless other rows name it by its id: an asset, whose id a product's images hold.
    named_by_id: bool = False
    # Values whose staged NULL means "not given" (specifications.model.Column.default): a new row takes the
    # default, a stored row keeps its own (a sandbox's new row, production's). A customer's Active flag.
    defaults: dict[str, object] = field(default_factory=dict)


@dataclass(frozen=True)
class Overlap:
    """In a sandbox: the staged rows of records the sandbox did not hold yet but production does, those
    identical to production's, and how many of those the merge leaves out."""

    over: int = 0
    identical: int = 0
    left_out: int = 0

    def __add__(self, other: Overlap) -> Overlap:
        return Overlap(self.over + other.over, self.identical + other.identical, self.left_out + other.left_out)


def _source(plan: MergePlan, name: str, rows: FromClause | None = None) -> ColumnElement[object]:
    """The value a target column takes: a scope constant, or the staged column (of `rows`, staging's rows
    in some order, when given)."""
    if name in plan.scope:
        return literal(plan.scope[name])
    return (plan.staging if rows is None else rows).c[plan.renamed.get(name, name)]


def _given(plan: MergePlan, name: str, stored: FromClause, rows: FromClause | None = None) -> ColumnElement[object]:
    """The value a staged row (of `rows` when given) leaves a `stored` row's column with: the staged one, or,
    where the row gives none and the column has a default, the stored one (the default where that is NULL:
    a row written before the column had its default)."""
    staged = _source(plan, name, rows)
    if name not in plan.defaults:
        return staged
    return func.coalesce(staged, stored.c[name], literal(plan.defaults[name], plan.target.c[name].type))


def _new_value(plan: MergePlan, name: str) -> ColumnElement[object]:
    """The value a new row takes: the staged one, or the column's default where the row gives none; in a
    sandbox, over a production record, production's value first (the sandbox shows production's)."""
    staged = _source(plan, name)
    if name not in plan.defaults:
        return staged
    default = literal(plan.defaults[name], plan.target.c[name].type)
    if not _in_sandbox(plan):
        return func.coalesce(staged, default)
    production = plan.target.alias("production")
    shown = select(production.c[name]).where(*_production_row(plan, production)).scalar_subquery()
    return func.coalesce(staged, shown, default)


def _same_key(plan: MergePlan, rows: FromClause | None = None) -> list[ColumnElement[bool]]:
    """A target row and a staged row (of `rows` when given) have the same key."""
    return [plan.target.c[name] == _source(plan, name, rows) for name in plan.key]


def _key_order(plan: MergePlan) -> list[ColumnElement[object]]:
    """Staged rows in the order of the target's key index (the scope part is one constant)."""
    return [_source(plan, name) for name in plan.key if name not in plan.scope]


def _count_existing(session: Session, plan: MergePlan) -> tuple[int, int]:
    """How many staged rows match a target row, and how many of those are identical to it."""
    join_on = and_(*_same_key(plan))
    same = _same_values(plan, plan.target)
    query = (
        select(func.count(), func.coalesce(func.sum(case((same, 1), else_=0)), 0))
        .select_from(plan.staging.join(plan.target, join_on))
        .where(plan.where)
    )
    existing, unchanged = session.execute(query).one()
    return int(existing), int(unchanged)


def over_production(session: Session, plan: MergePlan, part: ColumnElement[bool] | None = None) -> Overlap:
    """In a sandbox, before the merge (of the staged rows `part` selects): of the staged rows the sandbox
    holds no row for, how many production has, and how many of those are identical to production's. The
    merge inserts those that differ (and, where the plan keeps them, the identical ones) into the sandbox,
    but they change (or leave as they were) records the sandbox already showed: see as_seen_in_sandbox."""
    if not _in_sandbox(plan):
        return Overlap()
    production = plan.target.alias("production")
    same = _same_values(plan, production)
    query = (
        select(func.count(), func.coalesce(func.sum(case((same, 1), else_=0)), 0))
        .select_from(plan.staging.join(production, and_(*_production_row(plan, production))))
        .where(plan.where, *([] if part is None else [part]), ~exists().where(*_same_key(plan)))
    )
    over, identical = session.execute(query).one()
    return Overlap(int(over), int(identical), 0 if plan.identical_kept else int(identical))


def as_seen_in_sandbox(counts: MergeCounts, overlap: Overlap) -> MergeCounts:
    """The merge's counts with the rows inserted over production records (`over_production`) counted as
    the sandbox's changes show them: updates, or unchanged when identical (those left out are among the
    unchanged already)."""
    changed, kept = overlap.over - overlap.identical, overlap.identical - overlap.left_out
    return MergeCounts(counts.created - changed - kept, counts.updated + changed, counts.unchanged + kept)


def _same_values(plan: MergePlan, stored: FromClause) -> ColumnElement[bool]:
    """A `stored` row (the target's, or production's) holds a staged row's values: those it gives."""
    return and_(*(stored.c[name].is_not_distinct_from(_given(plan, name, stored)) for name in plan.values))


def _as_production_has_it(plan: MergePlan) -> ColumnElement[bool]:
    """A staged row is what production holds for its key already."""
    production = plan.target.alias("production")
    return exists().where(*_production_row(plan, production), _same_values(plan, production))


def _inserted_names(plan: MergePlan) -> list[str]:
    """The scope's columns, the key's and the values' (a value may be a scope column: an order's catalog)."""
    return [*plan.scope, *(name for name in (*plan.key, *plan.values) if name not in plan.scope)]


def _production_version(plan: MergePlan, rows: FromClause | None = None) -> ColumnElement[object]:
    """For a sandbox row: the updated_job_id of the production row with the same key, when there is one."""
    production = plan.target.alias("production")
    return select(production.c.updated_job_id).where(*_production_row(plan, production, rows)).scalar_subquery()


def _production_row(
    plan: MergePlan, production: FromClause, rows: FromClause | None = None
) -> list[ColumnElement[bool]]:
    """`production` (the target, aliased) is the production row with a staged row's key (of `rows` when given)."""
    same_key = [production.c[name] == _source(plan, name, rows) for name in plan.key if name != "sandbox_id"]
    return [production.c.sandbox_id == 0, *same_key]


def _in_sandbox(plan: MergePlan) -> bool:
    return bool(plan.scope.get("sandbox_id", 0))


def _tracked(plan: MergePlan) -> list[str]:
    """The columns an update writes: the plan's values and, in a sandbox, the production version."""
    return [*plan.values, "base_job_id"] if _in_sandbox(plan) else list(plan.values)


def _tracked_source(plan: MergePlan, name: str, rows: FromClause) -> ColumnElement[object]:
    return _production_version(plan, rows) if name == "base_job_id" else _given(plan, name, plan.target, rows)


def target_has_rows(session: Session, plan: MergePlan) -> bool:
    """Whether the target holds any row in the plan's scope (a catalog's first import finds none)."""
    scoped = [plan.target.c[name] == literal(value) for name, value in plan.scope.items() if name in plan.key]
    return session.execute(select(literal(1)).select_from(plan.target).where(*scoped).limit(1)).first() is not None


def _update_changed(session: Session, plan: MergePlan, job_id: int) -> int:
    """Rewrite the target rows whose staged values differ; rows identical to their staging are left alone.

    The staged rows are visited in key order: a table filled by earlier merges (in key order) is then
    rewritten page after page, and its key index grows in sequence. At 900k products every one of them
    changed took 24 s in staging's order and 14 s in key order (PostgreSQL 15, shared_buffers 128 MB).
    """
    rows = select(plan.staging).where(plan.where).order_by(*_key_order(plan)).subquery("staged")
    tracked = _tracked(plan)
    changed = or_(*(plan.target.c[name].is_distinct_from(_tracked_source(plan, name, rows)) for name in tracked))
    values: dict[str, object] = {name: _tracked_source(plan, name, rows) for name in tracked}
    values |= {"updated_job_id": job_id, "updated_at": utcnow()}
    statement = update(plan.target).where(*_same_key(plan, rows), changed).values(values)
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def _insert_new(session: Session, plan: MergePlan, job_id: int, look: bool = True) -> int:
    """Insert the staged rows no target row has the key of, in key order (index pages fill in sequence),
    but in a sandbox none that production holds as staged. Without `look` every staged row is taken for
    new: the key index refuses one that is not."""
    now = utcnow()
    names = [*_inserted_names(plan), "created_job_id", "updated_job_id", "created_at", "updated_at"]
    columns: list[ColumnElement[object]] = [_new_value(plan, name) for name in _inserted_names(plan)]
    columns += [literal(job_id), literal(job_id), literal(now), literal(now)]
    new = [~exists().where(*_same_key(plan))] if look else []
    if _in_sandbox(plan):
        names.append("base_job_id")
        columns.append(_production_version(plan))
        # A record as production has it is no change of the sandbox's: the sandbox goes on showing
        # production's, which may change meanwhile without making the sandbox's promote a conflict.
        if not plan.identical_kept:
            new.append(~_as_production_has_it(plan))
    rows = select(*columns).where(plan.where, *new).order_by(*_key_order(plan))
    statement = insert(plan.target).from_select(names, rows).execution_options(preserve_rowcount=True)
    return int(session.execute(statement).rowcount)  # type: ignore[attr-defined]


def _back_to_production(session: Session, plan: MergePlan, job_id: int) -> None:
    """In a sandbox, remove the rows the merge just rewrote to what production holds for their keys: a record
    imported again as production has it is left to production (see _insert_new), and counts as the update
    of what the sandbox showed."""
    if not _in_sandbox(plan) or plan.identical_kept or plan.named_by_id:
        return
    production = plan.target.alias("production")
    same = [production.c[name] == plan.target.c[name] for name in plan.key if name != "sandbox_id"]
    same += [production.c[name].is_not_distinct_from(plan.target.c[name]) for name in plan.values]
    scoped = [plan.target.c[name] == literal(value) for name, value in plan.scope.items() if name in plan.key]
    as_production = exists().where(production.c.sandbox_id == 0, *same)
    session.execute(delete(plan.target).where(*scoped, plan.target.c.updated_job_id == job_id, as_production))


def merge(session: Session, plan: MergePlan, job_id: int, staged: int, write: bool = True) -> MergeCounts:
    """Insert the new staged rows, then update the ones that changed; identical rows are counted unchanged.

    Two plain statements, not an upsert: merges never run at once (app.db.lock_merges) and a job's
    staged keys are unique (its set problems dropped the repeats), so a row is either there or not,
    and the statements' row counts are the created and updated counts. In a sandbox each row also
    records the production version it was written over, so that a promote can tell which production
    records changed since; a row inserted over a production record counts as that record's update, as the
    sandbox's changes show it; and a row identical to production's is not inserted, and counts as
    unchanged. With `write=False` only
    the counts are computed: what the merge would do (a dry run).
    """
    overlap = over_production(session, plan)
    if not write:
        existing, unchanged = _count_existing(session, plan)
        left_out = overlap.left_out
        counts = MergeCounts(staged - existing - left_out, existing - unchanged, unchanged + left_out)
        return as_seen_in_sandbox(counts, overlap)
    # The insert goes first: its anti-join then reads the table before the update leaves a dead version
    # of every row it rewrites (at 1M rows all changed: 5.0 s after the update, 2.2 s before it). The
    # rows it inserts equal their staging, so the update passes over them. A scope with no rows before
    # (a catalog's first import) needs no update at all.
    had_rows = target_has_rows(session, plan)
    created = _insert_new(session, plan, job_id)
    updated = _update_changed(session, plan, job_id) if had_rows else 0
    _back_to_production(session, plan, job_id)
    counts = MergeCounts(created=created, updated=updated, unchanged=staged - created - updated)
    return as_seen_in_sandbox(counts, overlap)


def merge_part(
    session: Session, plan: MergePlan, job_id: int, part: ColumnElement[bool], scope_was_empty: bool
) -> MergeCounts:
    """Merge the staged rows of `plan` that `part` selects (a rolling merge's latest chunks); the rows
    left unchanged are not counted here. Into a scope that held no rows when the merge began every
    row is new, so none is looked for: a key staged twice makes the insert fail. Into one that held
    rows, each row is looked for once, by an upsert, where the key has an index of its own."""
    narrowed = replace(plan, where=and_(plan.where, part))
    if scope_was_empty:
        return MergeCounts(created=_insert_new(session, narrowed, job_id, look=False))
    if not _in_sandbox(plan) and unique_on_key(plan) and not plan.defaults:
        return _upsert(session, narrowed, job_id)
    created = _insert_new(session, narrowed, job_id)
    updated = _update_changed(session, narrowed, job_id)
    _back_to_production(session, narrowed, job_id)
    return MergeCounts(created=created, updated=updated)


def unique_on_key(plan: MergePlan) -> bool:
    """Whether the target's indexes refuse a second row with the plan's key."""
    keys = [
        {column.name for column in constraint.columns}
        for constraint in plan.target.constraints
        if isinstance(constraint, UniqueConstraint)
    ]
    keys += [{column.name for column in index.columns} for index in plan.target.indexes if index.unique]
    return set(plan.key) in keys


def key_in_two_targets(session: Session, plans: Sequence[MergePlan], sizes: Sequence[int]) -> bool:
    """Whether a key is in the scopes of two of the plans' targets (a product's SKU number given to a SKU
    as well). Once every staged row was inserted into scopes that held none, under indexes that refuse
    a key twice in one target, this is how a key given twice would show; the rows of the target that
    got fewer (`sizes`, one a plan) are each looked up by key in the other.

    The lookup is a subquery a row, not EXISTS: with statistics from when the targets were empty,
    PostgreSQL joined an EXISTS by the scope's part of the key alone and read the whole catalog for
    every row (10,000 SKUs against 90,000 products: 396 s). A subquery's key is a constant of its own
    scan, so the scan always takes the whole key in the index (100,000 SKUs against 900,000 products:
    0.25 s)."""
    for (first, first_size), (second, second_size) in combinations(zip(plans, sizes, strict=True), 2):
        if first.target is second.target or tuple(first.key) != tuple(second.key):
            continue
        outer, inner = (second, first) if second_size <= first_size else (first, second)
        scoped = [outer.target.c[name] == literal(value) for name, value in outer.scope.items() if name in outer.key]
        same = [
            inner.target.c[name] == (literal(inner.scope[name]) if name in inner.scope else outer.target.c[name])
            for name in inner.key
        ]
        found = select(literal(1)).select_from(inner.target).where(*same).limit(1).scalar_subquery()
        query = select(literal(1)).select_from(outer.target).where(*scoped, found.is_not(None)).limit(1)
        if session.execute(query).first() is not None:
            return True
    return False


def _upsert(session: Session, plan: MergePlan, job_id: int) -> MergeCounts:
    """Insert each staged row, or rewrite the target row with its key when a value differs: one index
    lookup a row, where an insert of the new keys and an update of the changed rows take two (900,000
    repriced products: the insert that found no new key alone took 6.6 s). A row the statement inserted
    has no xmax; one it rewrote carries the lock of its conflict. A plan with defaults is not merged so: an
    upsert's conflicting row holds the default already, not whether the staged row gave a value."""
    now = utcnow()
    names = [*_inserted_names(plan), "created_job_id", "updated_job_id", "created_at", "updated_at"]
    columns: list[ColumnElement[object]] = [_source(plan, name) for name in _inserted_names(plan)]
    columns += [literal(job_id), literal(job_id), literal(now), literal(now)]
    rows = select(*columns).where(plan.where).order_by(*_key_order(plan))
    statement = postgresql_insert(plan.target).from_select(names, rows)
    new = statement.excluded
    changed = or_(*(plan.target.c[name].is_distinct_from(new[name]) for name in plan.values))
    values: dict[str, object] = {name: new[name] for name in plan.values}
    values |= {"updated_job_id": job_id, "updated_at": now}
    written = (
        statement.on_conflict_do_update(index_elements=list(plan.key), set_=values, where=changed)
        .returning(literal_column("xmax = 0").label("created"))
        .cte("written")
    )
    created, updated = session.execute(
        select(func.count().filter(written.c.created), func.count().filter(~written.c.created))
    ).one()
    return MergeCounts(created=int(created), updated=int(updated))
