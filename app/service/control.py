"""Controlling imports: cancel one that has not finished, retry one that failed or was cancelled."""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlmodel import col, select

from app import jobs
from app.accounts import Principal
from app.errors import Conflict
from app.importing.formats import FileType
from app.importing.planning import ReadOptions
from app.importing.staging_guard import clear_staged
from app.jobs import ImportState, ImportStatus, OnError
from app.runtime import Runtime
from app.service.access import controllable
from app.service.audit import record_event
from app.service.running_limit import hold_running_limit
from app.service.sandboxes import sandbox_for_retry
from app.service.submit import Submission, Upload, enqueue, new_job
from specifications import ImportType, find_specification, specifications_for

logger = logging.getLogger(__name__)


def cancel_job(runtime: Runtime, principal: Principal, job_id: int) -> None:
    """CANCELLED, with nothing of it written; chunk tasks and the merge check the state before writing."""
    with runtime.db.write() as session:
        job = controllable(principal, session.get(ImportStatus, job_id), job_id)
        if not jobs.move(session, job_id, ImportState.CANCELLED, message=f"cancelled by {principal.username}"):
            session.refresh(job)
            raise Conflict(f"import {job_id} is already {job.state}; only an unfinished import can be cancelled")
        clear_staged(session, job_id, job.import_type)
        record_event(session, principal, "import.cancelled", job_id, job.sandbox_id or None)
    logger.info("import.cancelled job_id=%s by=%s", job_id, principal.username)


def _upload_kept(runtime: Runtime, job: ImportStatus) -> bool:
    try:
        runtime.storage.read_range(job.upload_key, 0, 1)
    except FileNotFoundError:
        return False
    return True


def _check_specification(job: ImportStatus) -> None:
    """A deployment's own specification may be gone since (its file removed): the retry would fail at once."""
    import_type = ImportType(job.import_type)
    if find_specification(import_type, job.specification) is None:
        names = ", ".join(spec.name for spec in specifications_for(import_type))
        raise Conflict(
            f"import {job.id} used the specification '{job.specification}', which no longer exists; "
            f"submit the file again with one of: {names}"
        )


def retry_job(runtime: Runtime, principal: Principal, job_id: int) -> ImportStatus:
    """A new job from the stored upload of a FAILED or CANCELLED one; each points at the other."""
    with runtime.db.read() as session:
        job = controllable(principal, session.get(ImportStatus, job_id), job_id)
    if job.state not in (ImportState.FAILED, ImportState.CANCELLED):
        raise Conflict(f"import {job_id} is {job.state}; only a FAILED or CANCELLED import can be retried")
    if job.retried_as is not None:
        raise Conflict(f"import {job_id} was already retried as import {job.retried_as}")
    _check_specification(job)
    if not _upload_kept(runtime, job):
        raise Conflict(
            f"the upload of import {job_id} is no longer kept (IMPORTER_UPLOAD_RETENTION_HOURS); submit the file again"
        )
    submission = Submission(
        ImportType(job.import_type), job.specification, FileType(job.file_type), job.catalog_id, job.site_id,
        job.user_id, OnError(job.on_error), job.max_errors, job.dry_run,
        ReadOptions(job.encoding, job.delimiter, job.sheet_name),
    )  # fmt: skip
    retry = new_job(
        principal, submission, Upload(job.upload_key, job.upload_bytes, job.body_sha256 or ""), retry_of=job_id
    )
    with runtime.db.write() as session:
        hold_running_limit(session, runtime, principal)
        retry.sandbox_id = sandbox_for_retry(session, job_id, job.sandbox_id)
        session.add(retry)
        session.flush()
        linked = session.execute(
            update(ImportStatus)
            .where(col(ImportStatus.id) == job_id, col(ImportStatus.retried_as).is_(None))
            .values(retried_as=retry.id)
        ).rowcount  # type: ignore[attr-defined]
        if linked != 1:  # another retry took it since it was read: name the import it started, to poll
            winner = session.scalar(select(ImportStatus.retried_as).where(col(ImportStatus.id) == job_id))
            raise Conflict(f"import {job_id} was already retried as import {winner}")
        record_event(session, principal, "import.retried", retry.id, retry.sandbox_id or None, retryOf=job_id)
    logger.info("import.retried job_id=%s as=%s", job_id, retry.id)
    return enqueue(runtime, retry)
