"""What a read sees: production alone, or a sandbox's rows over production."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import ColumnElement, Table, and_, exists, or_


def visible_in(table: Table, sandbox_id: int, key: Sequence[str]) -> ColumnElement[bool]:
    """Rows of production (sandbox 0); with a sandbox, its rows and the production rows it does not replace.

    `key` is the record's key without sandbox_id (scope included: catalog_id or site_id).
    """
    if not sandbox_id:
        return table.c.sandbox_id == 0
    shadow = table.alias("shadow")
    replaced = exists().where(shadow.c.sandbox_id == sandbox_id, *(shadow.c[name] == table.c[name] for name in key))
    return or_(table.c.sandbox_id == sandbox_id, and_(table.c.sandbox_id == 0, ~replaced))
