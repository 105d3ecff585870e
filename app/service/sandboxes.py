"""Sandboxes: imports land there for review, then are promoted to production whole, or discarded."""

from __future__ import annotations

import logging

from sqlalchemy import func, update
from sqlmodel import Session, col, select

from app.accounts import Principal, Role
from app.commerce import sandbox_merge
from app.commerce.sandbox_merge import Change
from app.commerce.sandboxes import Sandbox, SandboxState
from app.db import lock_merges
from app.errors import BadRequest, Conflict, Forbidden, NotFound
from app.jobs import utcnow
from app.runtime import Runtime
from app.service.audit import record_event

logger = logging.getLogger(__name__)


def _may_see(principal: Principal, sandbox: Sandbox | None) -> bool:
    """Admins and viewers see every sandbox; an importer sees its own."""
    return sandbox is not None and (principal.role is not Role.IMPORTER or sandbox.account_id == principal.account_id)


def _visible(principal: Principal, sandbox: Sandbox | None, sandbox_id: int) -> Sandbox:
    if sandbox is None or not _may_see(principal, sandbox):
        raise NotFound(f"no sandbox {sandbox_id}")
    return sandbox


def sees_sandbox(session: Session, principal: Principal, sandbox_id: int) -> bool:
    """Whether this account may read rows of the sandbox (0, production, is everyone's)."""
    return sandbox_id == 0 or _may_see(principal, session.get(Sandbox, sandbox_id))


def readable_sandbox(runtime: Runtime, principal: Principal, sandbox_id: int) -> int:
    """The sandbox a read of records shows over production; 404 for one this account cannot see, as
    GET /api/sandboxes/{id} answers, so that neither its rows nor its existence show through."""
    if sandbox_id != 0:
        with runtime.db.read() as session:
            _visible(principal, session.get(Sandbox, sandbox_id), sandbox_id)
    return sandbox_id


def _changeable(principal: Principal, session: Session, sandbox_id: int) -> Sandbox:
    sandbox = _visible(principal, session.get(Sandbox, sandbox_id), sandbox_id)
    if principal.role is Role.VIEWER:
        raise Forbidden(f"account '{principal.username}' may not change sandboxes")
    if sandbox.state != SandboxState.OPEN:
        raise Conflict(f"sandbox {sandbox_id} is {sandbox.state}; only an OPEN sandbox can be changed")
    return sandbox


def authorise_creation(principal: Principal) -> None:
    if principal.role is Role.VIEWER:
        raise Forbidden(f"account '{principal.username}' may not create sandboxes")


def new_sandbox(session: Session, principal: Principal, name: str) -> Sandbox:
    authorise_creation(principal)
    name = name.strip()
    if not 0 < len(name) <= 200 or any(ord(char) < 32 or 0xD800 <= ord(char) <= 0xDFFF for char in name):
        raise BadRequest("a sandbox name is 1 to 200 characters, with no control characters")
    sandbox = Sandbox(name=name, account_id=principal.account_id, created_by=principal.username)
    session.add(sandbox)
    session.flush()
    record_event(session, principal, "sandbox.created", sandbox_id=sandbox.id, name=name)
    return sandbox


def create_sandbox(runtime: Runtime, principal: Principal, name: str) -> Sandbox:
    with runtime.db.write() as session:
        return new_sandbox(session, principal, name)


def _paired(to_sandbox: bool, sandbox_id: int | None) -> None:
    if sandbox_id is not None and not to_sandbox:
        raise BadRequest("sandboxId goes with importToSandbox=true")


def _open_for_import(session: Session, principal: Principal, sandbox_id: int) -> None:
    found = session.get(Sandbox, sandbox_id)
    if found is None or not _may_see(principal, found):
        raise BadRequest(f"no sandbox {sandbox_id}; create one with POST /api/sandboxes or leave sandboxId out")
    if found.state != SandboxState.OPEN:
        raise BadRequest(f"sandbox {sandbox_id} is {found.state}; imports go only into an OPEN sandbox")


def check_import_sandbox(runtime: Runtime, principal: Principal, to_sandbox: bool, sandbox_id: int | None) -> None:
    """A submit's sandbox parameters, checked before its body is read (and again when its job is recorded)."""
    _paired(to_sandbox, sandbox_id)
    if sandbox_id is not None:
        with runtime.db.read() as session:
            _open_for_import(session, principal, sandbox_id)


def sandbox_for_import(session: Session, principal: Principal, to_sandbox: bool, sandbox_id: int | None) -> int:
    """The sandbox an import writes into (0 is production); a new one when none is named."""
    _paired(to_sandbox, sandbox_id)
    if not to_sandbox:
        return 0
    if sandbox_id is None:
        sandbox = new_sandbox(session, principal, f"import by {principal.username} at {utcnow():%Y-%m-%d %H:%M:%S}")
        assert sandbox.id is not None
        return sandbox.id
    _open_for_import(session, principal, sandbox_id)
    return sandbox_id


def sandbox_for_retry(session: Session, job_id: int, sandbox_id: int) -> int:
    """The sandbox a retry of import `job_id` writes into: the one the import went into, while it is OPEN."""
    if sandbox_id == 0:
        return 0
    found = session.get(Sandbox, sandbox_id)
    if found is None or found.state != SandboxState.OPEN:
        raise Conflict(
            f"import {job_id} went into sandbox {sandbox_id}, which is {found.state if found else 'gone'}; only an "
            "OPEN sandbox takes imports, so submit the file again into another sandbox"
        )
    return sandbox_id


def get_sandbox(runtime: Runtime, principal: Principal, sandbox_id: int) -> tuple[Sandbox, int]:
    """The sandbox and how many records it holds."""
    with runtime.db.read() as session:
        sandbox = _visible(principal, session.get(Sandbox, sandbox_id), sandbox_id)
        return sandbox, sandbox_merge.count_changes(session, sandbox_id)


def list_sandboxes(runtime: Runtime, principal: Principal, page: int, size: int) -> tuple[list[Sandbox], int]:
    mine = (col(Sandbox.account_id) == principal.account_id,) if principal.role is Role.IMPORTER else ()
    with runtime.db.read() as session:
        total = session.exec(select(func.count()).select_from(Sandbox).where(*mine)).one()
        found = session.exec(
            select(Sandbox).where(*mine).order_by(col(Sandbox.id).desc()).offset((page - 1) * size).limit(size)
        ).all()
    return list(found), int(total)


def sandbox_changes(
    runtime: Runtime, principal: Principal, sandbox_id: int, page: int, size: int
) -> tuple[list[Change], int]:
    with runtime.db.read() as session:
        _visible(principal, session.get(Sandbox, sandbox_id), sandbox_id)
        return sandbox_merge.list_changes(session, sandbox_id, page, size)


def _close(session: Session, principal: Principal, sandbox_id: int, state: SandboxState) -> None:
    session.execute(
        update(Sandbox)
        .where(col(Sandbox.id) == sandbox_id, col(Sandbox.state) == SandboxState.OPEN.value)
        .values(state=state.value, closed_by=principal.username, closed_at=utcnow())
    )


def promote(runtime: Runtime, principal: Principal, sandbox_id: int) -> int:
    """Everything in the sandbox reaches production in one transaction, or nothing does (409)."""
    with runtime.db.write() as session:
        lock_merges(session)
        _changeable(principal, session, sandbox_id)
        moved = sandbox_merge.conflicts(session, sandbox_id)
        if moved:
            raise Conflict(
                f"production changed since these records were imported into sandbox {sandbox_id}: {', '.join(moved)}; "
                "import them into the sandbox again, or discard it"
            )
        promoted = sandbox_merge.promote_rows(session, sandbox_id)
        _close(session, principal, sandbox_id, SandboxState.PROMOTED)
        record_event(session, principal, "sandbox.promoted", sandbox_id=sandbox_id, records=promoted)
    logger.info("sandbox.promoted sandbox_id=%s records=%s by=%s", sandbox_id, promoted, principal.username)
    return promoted


def discard(runtime: Runtime, principal: Principal, sandbox_id: int) -> int:
    """The sandbox's records are deleted and it is closed; an import still merging into it then fails."""
    with runtime.db.write() as session:
        lock_merges(session)  # a rolling merge into the sandbox steps aside, and its finalize sees it closed
        _changeable(principal, session, sandbox_id)
        removed = sandbox_merge.discard_rows(session, sandbox_id)
        _close(session, principal, sandbox_id, SandboxState.DISCARDED)
        record_event(session, principal, "sandbox.discarded", sandbox_id=sandbox_id, records=removed)
    return removed
