"""Who may see and control which job: admins and viewers see every job, an importer its own."""

from __future__ import annotations

from app.accounts import Principal, Role
from app.errors import Forbidden, NotFound
from app.jobs import ImportStatus


def visible(principal: Principal, job: ImportStatus | None, job_id: int) -> ImportStatus:
    """The job if this account may see it; otherwise a 404, as if it did not exist."""
    if job is None or (principal.role is Role.IMPORTER and job.account_id != principal.account_id):
        raise NotFound(f"no import with statusId {job_id}")
    return job


def controllable(principal: Principal, job: ImportStatus | None, job_id: int) -> ImportStatus:
    """The job if this account may cancel or retry it."""
    found = visible(principal, job, job_id)
    if principal.role is Role.VIEWER:
        raise Forbidden(f"account '{principal.username}' may not change imports")
    return found
