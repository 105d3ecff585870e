"""Promote, discard and compare a sandbox's rows with production, one set-based statement per table."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import orjson
from sqlalchemy import ColumnElement, Table, and_, bindparam, delete, exists, func, literal, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.sql.selectable import NamedFromClause
from sqlmodel import Session

from app.commerce.assets import ASSET_TABLE
from app.commerce.orders import ORDER_ITEM_TABLE, ORDER_TABLE
from app.commerce.products import Product, Sku
from app.commerce.sandboxed import SANDBOXED, RecordKind
from app.jobs import utcnow


@dataclass(frozen=True)
class Change:
    kind: str
    key: dict[str, object]
    change: str  # created or updated
    fields: list[dict[str, object]]


def _production_join(
    kind: RecordKind, sandbox_id: int
) -> tuple[NamedFromClause, ColumnElement[bool], ColumnElement[bool]]:
    table = kind.table
    production = table.alias("production")
    same_key = and_(
        production.c.sandbox_id == 0,
        *(production.c[name] == table.c[name] for name in kind.key if name != "sandbox_id"),
    )
    return production, same_key, table.c.sandbox_id == sandbox_id


def conflicts(session: Session, sandbox_id: int) -> list[str]:
    """Records whose production row changed after they were written into the sandbox."""
    found = []
    for kind in SANDBOXED:
        table = kind.table
        production, same_key, in_sandbox = _production_join(kind, sandbox_id)
        moved = or_(
            and_(production.c.id.is_not(None), production.c.updated_job_id.is_distinct_from(table.c.base_job_id)),
            and_(production.c.id.is_(None), table.c.base_job_id.is_not(None)),
        )
        query = (
            select(*(table.c[name] for name in kind.key_fields))
            .select_from(table.outerjoin(production, same_key))
            .where(in_sandbox, moved)
            .limit(100)
        )
        found += [f"{kind.label} {'/'.join(str(value) for value in row)}" for row in session.execute(query)]
    return found


def promote_rows(session: Session, sandbox_id: int) -> int:
    """Copy every sandbox row over production, then remove it from the sandbox; returns rows promoted.

    A promoted row keeps the updated_job_id of the import that wrote it, so other sandboxes written
    over the older production row see it as changed.
    """
    _drop_lines_the_sandbox_removes(session, sandbox_id)
    with_images = _rows_with_images(session, sandbox_id)
    promoted_as: dict[int, int] = {}
    promoted = 0
    dialect = session.connection().dialect.name
    insert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    now = utcnow()
    for kind in SANDBOXED:
        table = kind.table
        names = [*kind.key, *kind.values, "created_job_id", "updated_job_id", "created_at", "updated_at"]
        sources: dict[str, Any] = {"sandbox_id": literal(0), "updated_at": literal(now)}
        chosen = select(*(sources.get(name, table.c[name]) for name in names)).where(table.c.sandbox_id == sandbox_id)
        statement = insert(table).from_select(names, chosen)
        updates = {name: statement.excluded[name] for name in (*kind.values, "updated_job_id", "updated_at")}
        session.execute(statement.on_conflict_do_update(index_elements=list(kind.key), set_=updates))
        if table is ASSET_TABLE and with_images:
            promoted_as = _promoted_asset_ids(session, sandbox_id)
        promoted += session.execute(delete(table).where(table.c.sandbox_id == sandbox_id)).rowcount  # type: ignore[attr-defined]
    if promoted_as:
        _link_promoted_assets(session, promoted_as, with_images)
    return int(promoted)


_IMAGE_TABLES: tuple[Table, ...] = (Product.__table__, Sku.__table__)  # type: ignore[attr-defined]


def _promoted_asset_ids(session: Session, sandbox_id: int) -> dict[int, int]:
    """Each sandbox asset's id -> the id of the production asset it was just promoted into (same catalog and
    file name), read before the sandbox's rows go."""
    sandboxed, production = ASSET_TABLE, ASSET_TABLE.alias("production")
    query = (
        select(sandboxed.c.id, production.c.id)
        .join(
            production,
            and_(
                production.c.sandbox_id == 0,
                production.c.catalog_id == sandboxed.c.catalog_id,
                production.c.file_name == sandboxed.c.file_name,
            ),
        )
        .where(sandboxed.c.sandbox_id == sandbox_id)
    )
    return {int(old): int(new) for old, new in session.execute(query)}


def _rows_with_images(session: Session, sandbox_id: int) -> list[tuple[Table, int, str, str]]:
    """(table, catalog, SKU number, images) of the sandbox's products and SKUs that have images."""
    found = []
    for table in _IMAGE_TABLES:
        query = select(table.c.catalog_id, table.c.sku_number, table.c.image_urls).where(
            table.c.sandbox_id == sandbox_id, table.c.image_urls.is_not(None)
        )
        found += [(table, int(catalog), str(sku), str(images)) for catalog, sku, images in session.execute(query)]
    return found


def _link_promoted_assets(
    session: Session, promoted_as: dict[int, int], rows: list[tuple[Table, int, str, str]]
) -> None:
    """Images of promoted products named the sandbox's asset rows, which promote removed: they now name the
    production asset each was promoted into (one statement a table, for the rows whose images change)."""
    changed: dict[Table, list[dict[str, object]]] = {}
    for target, catalog, sku, text in rows:
        images = json.loads(text)
        relinked = [
            image | {"assetId": promoted_as[image["assetId"]]} if image.get("assetId") in promoted_as else image
            for image in images
        ]
        if relinked != images:
            as_written = orjson.dumps(relinked, option=orjson.OPT_SORT_KEYS).decode()  # as imports write it
            changed.setdefault(target, []).append({"catalog": catalog, "sku": sku, "images": as_written})
    for target, params in changed.items():
        where = (
            target.c.catalog_id == bindparam("catalog"),
            target.c.sandbox_id == 0,
            target.c.sku_number == bindparam("sku"),
        )
        session.execute(update(target).where(*where).values(image_urls=bindparam("images")), params)


def _drop_lines_the_sandbox_removes(session: Session, sandbox_id: int) -> None:
    """Production lines past the item count an order has in the sandbox (imported there again with fewer
    lines): the order promoted has only the sandbox's lines."""
    items, orders = ORDER_ITEM_TABLE, ORDER_TABLE
    shorter = exists().where(
        orders.c.sandbox_id == sandbox_id, orders.c.site_id == items.c.site_id,
        orders.c.order_number == items.c.order_number, items.c.line_no > orders.c.item_count,
    )  # fmt: skip
    session.execute(delete(items).where(items.c.sandbox_id == 0, shorter))


def discard_rows(session: Session, sandbox_id: int) -> int:
    removed = 0
    for kind in SANDBOXED:
        removed += session.execute(delete(kind.table).where(kind.table.c.sandbox_id == sandbox_id)).rowcount  # type: ignore[attr-defined]
    return int(removed)


def count_changes(session: Session, sandbox_id: int) -> int:
    return sum(
        int(
            session.execute(
                select(func.count()).select_from(kind.table).where(kind.table.c.sandbox_id == sandbox_id)
            ).scalar_one()
        )
        for kind in SANDBOXED
    )


def _changed(kind: RecordKind, sandbox_id: int) -> tuple[NamedFromClause, ColumnElement[bool], ColumnElement[bool]]:
    """The sandbox's rows joined to production's: those that create a record or change one (a row imported
    as production has it changes nothing, and is no change to review)."""
    table = kind.table
    production, same_key, in_sandbox = _production_join(kind, sandbox_id)
    differs = [production.c[name].is_distinct_from(table.c[name]) for name in kind.values]
    return production, same_key, and_(in_sandbox, or_(production.c.id.is_(None), *differs))


def _changes_of(session: Session, kind: RecordKind, sandbox_id: int, offset: int, limit: int) -> list[Change]:
    table = kind.table
    production, same_key, changed = _changed(kind, sandbox_id)
    query = (
        select(
            table,
            production.c.id.label("production_row"),
            *(production.c[name].label(f"before_{name}") for name in kind.values),
        )
        .select_from(table.outerjoin(production, same_key))
        .where(changed)
        .order_by(*(table.c[name] for name in kind.key))
        .offset(offset)
        .limit(limit)
    )
    changes = []
    for row in session.execute(query).mappings():
        created = row["production_row"] is None
        fields = [
            {"field": name, "before": None if created else row[f"before_{name}"], "after": row[name]}
            for name in kind.values
            if (row[name] is not None if created else row[f"before_{name}"] != row[name])
        ]
        key = {name: row[name] for name in kind.key_fields}
        changes.append(Change(kind.label, key, "created" if created else "updated", fields))
    return changes


def list_changes(session: Session, sandbox_id: int, page: int, size: int) -> tuple[list[Change], int]:
    """Every record the sandbox creates or changes, a page at a time, with each field before and after (of a
    record it creates, each field it gives a value)."""
    skip, wanted, total, found = (page - 1) * size, size, 0, []
    for kind in SANDBOXED:
        production, same_key, changed = _changed(kind, sandbox_id)
        joined = kind.table.outerjoin(production, same_key)
        count = int(session.execute(select(func.count()).select_from(joined).where(changed)).scalar_one())
        total += count
        if wanted and skip < count:
            taken = _changes_of(session, kind, sandbox_id, skip, wanted)
            found += taken
            wanted -= len(taken)
        skip = max(0, skip - count)
    return found, total
