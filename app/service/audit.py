"""The audit trail: who submitted, cancelled or retried an import, who created, promoted or discarded a sandbox."""

from __future__ import annotations

import json

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts import Principal, Role
from app.commerce.sandboxes import AuditEvent
from app.runtime import Runtime


def record_event(
    session: Session,
    principal: Principal,
    action: str,
    status_id: int | None = None,
    sandbox_id: int | None = None,
    user_id: int | None = None,
    **detail: object,
) -> None:
    session.add(
        AuditEvent(
            account=principal.username,
            user_id=user_id,
            action=action,
            status_id=status_id,
            sandbox_id=sandbox_id,
            detail=json.dumps(detail, default=str) if detail else None,
        )
    )


def list_events(runtime: Runtime, principal: Principal, page: int, size: int) -> tuple[list[AuditEvent], int]:
    """Newest first; an importer sees what it did itself."""
    mine = (col(AuditEvent.account) == principal.username,) if principal.role is Role.IMPORTER else ()
    with runtime.db.read() as session:
        total = session.exec(select(func.count()).select_from(AuditEvent).where(*mine)).one()
        events = session.exec(
            select(AuditEvent).where(*mine).order_by(col(AuditEvent.id).desc()).offset((page - 1) * size).limit(size)
        ).all()
    return list(events), int(total)
