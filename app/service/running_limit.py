"""The limit on an account's running imports (IMPORTER_MAX_RUNNING_IMPORTS), counted in the database that every
API process shares: once before a submit's body is read, and again in the transaction that records its job."""

from __future__ import annotations

from sqlalchemy import func
from sqlmodel import Session, col, select

from app.accounts import Principal
from app.db import lock_account_imports
from app.errors import TooManyRequests
from app.jobs import ImportState, ImportStatus
from app.runtime import Runtime

RUNNING_STATES = (ImportState.START_REQUESTED.value, ImportState.IN_PROCESS.value)
# No one knows when a running import will end; a poll interval of this many seconds is a fair guess.
RUNNING_RETRY_SECONDS = 10


def _count(session: Session, account_id: int) -> int:
    count = session.exec(
        select(func.count())
        .select_from(ImportStatus)
        .where(ImportStatus.account_id == account_id, col(ImportStatus.state).in_(RUNNING_STATES))
    ).one()
    return int(count)


def running_imports(runtime: Runtime, account_id: int) -> int:
    """Imports of this account that have not ended."""
    with runtime.db.read() as session:
        return _count(session, account_id)


def _refusal(principal: Principal, ceiling: int) -> TooManyRequests:
    return TooManyRequests(
        f"account '{principal.username}' already has {ceiling} imports running, its limit "
        "(IMPORTER_MAX_RUNNING_IMPORTS); start another when one has ended",
        RUNNING_RETRY_SECONDS,
    )


def refuse_at_running_limit(runtime: Runtime, principal: Principal) -> None:
    """The early check, before a body is read: it spares reading one that would be refused."""
    ceiling = runtime.settings.max_running_imports
    if ceiling > 0 and running_imports(runtime, principal.account_id) >= ceiling:
        raise _refusal(principal, ceiling)


def hold_running_limit(session: Session, runtime: Runtime, principal: Principal) -> None:
    """In the transaction that records a new job: the account's submits wait for each other here until their
    transactions end, so that each counts the jobs of those before it and two cannot take the last place."""
    ceiling = runtime.settings.max_running_imports
    if ceiling <= 0:
        return
    lock_account_imports(session, principal.account_id)
    if _count(session, principal.account_id) >= ceiling:
        raise _refusal(principal, ceiling)
