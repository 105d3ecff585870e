"""The reaper: finds work whose message was lost or whose worker went silent, and hands it out again.

A job's `updated_at` is its heartbeat: planning touches it as it reads, every chunk commit moves
it. A job quiet for longer than the lease is re-enqueued (its plan, its pending chunks, or its
finalize); the steps are idempotent, so a second delivery of live work only waits and then skips.
After `max_attempts` re-enqueues of a job in process it fails with a message that says so. A job still
START_REQUESTED was never taken by a worker (the plan's first step moves it on): its message waits behind
others, or was lost. It is handed out again every lease without counting, however long the queue.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import update
from sqlmodel import col, select

from app import jobs
from app.commerce.staging import STAGING_GUARD
from app.importing import pipeline
from app.importing.writers.registry import WRITERS
from app.importing.writers.staging import clear_jobs
from app.jobs import TERMINAL_STATES, ImportState, ImportStatus
from app.runtime import Runtime

logger = logging.getLogger(__name__)


def _stale_jobs(runtime: Runtime) -> list[ImportStatus]:
    cutoff = jobs.utcnow() - timedelta(seconds=runtime.settings.lease_seconds)
    with runtime.db.read() as session:
        return list(
            session.exec(
                select(ImportStatus).where(
                    col(ImportStatus.state).in_([ImportState.START_REQUESTED.value, ImportState.IN_PROCESS.value]),
                    col(ImportStatus.updated_at) < cutoff,
                )
            )
        )


def _claim(runtime: Runtime, job: ImportStatus) -> bool:
    """Count one more attempt (of a job in process) and restart the lease, unless another reaper or a worker
    moved first."""
    attempts = job.plan_attempts + (0 if job.import_state is ImportState.START_REQUESTED else 1)
    with runtime.db.write() as session:
        moved = session.execute(
            update(ImportStatus)
            .where(col(ImportStatus.id) == job.id, col(ImportStatus.updated_at) == job.updated_at)
            .values(plan_attempts=attempts, updated_at=jobs.utcnow())
        ).rowcount  # type: ignore[attr-defined]
    return bool(moved == 1)


def _uploads_in_use(runtime: Runtime) -> set[str]:
    """The uploads of imports not finished yet: one may wait behind others, or for workers, past the retention."""
    unfinished = [ImportState.START_REQUESTED.value, ImportState.IN_PROCESS.value]
    with runtime.db.read() as session:
        keys = session.execute(select(col(ImportStatus.upload_key)).where(col(ImportStatus.state).in_(unfinished)))
        return set(keys.scalars())


def purge_expired_uploads(runtime: Runtime) -> int:
    """Uploads older than the retention period are deleted (retry needs them until then), but for those of imports
    not finished yet."""
    cutoff = jobs.utcnow() - timedelta(hours=runtime.settings.upload_retention_hours)
    removed = runtime.storage.purge_older_than(cutoff, keep=_uploads_in_use(runtime))
    if removed:
        logger.info("reaper.uploads_purged count=%s", removed)
    return removed


SWEEP_DAYS = 1  # how far back the sweep looks for finished jobs; it runs every reap_seconds
SWEEP_GRACE_SECONDS = 60  # a job that just ended is still clearing its own staging rows
SWEEP_BATCH = 500
_swept: set[tuple[str, int]] = set()  # (database, job) this process has swept: each job is swept once


def clear_finished_staging(runtime: Runtime) -> int:
    """Delete staging rows left by jobs that ended recently: a finalize stops at COMPLETED before it clears
    them, and a job failed by a worker's error or by this reaper never had them cleared."""
    now = jobs.utcnow()
    database = str(runtime.db.engine.url)
    with runtime.db.read() as session:
        finished = [
            job_id
            for job_id in session.execute(
                select(col(ImportStatus.id)).where(
                    col(ImportStatus.state).in_([state.value for state in TERMINAL_STATES]),
                    col(ImportStatus.updated_at) >= now - timedelta(days=SWEEP_DAYS),
                    col(ImportStatus.updated_at) < now - timedelta(seconds=SWEEP_GRACE_SECONDS),
                )
            ).scalars()
            if job_id is not None and (database, job_id) not in _swept
        ]
    removed = 0
    tables = {writer.staging.name: writer.staging for writer in WRITERS.values()}
    for start in range(0, len(finished), SWEEP_BATCH):
        batch = finished[start : start + SWEEP_BATCH]
        with runtime.db.write() as session:
            removed += sum(clear_jobs(session, table, batch) for table in tables.values())
            clear_jobs(session, STAGING_GUARD, batch)
        _swept.update((database, job_id) for job_id in batch)
    if len(_swept) > 100_000:
        _swept.clear()
    if removed:
        logger.info("reaper.staging_cleared rows=%s", removed)
    return removed


def reap(runtime: Runtime) -> int:
    """Re-enqueue every stale job, clear finished jobs' staging and purge expired uploads; returns how many
    jobs were re-enqueued or failed."""
    purge_expired_uploads(runtime)
    clear_finished_staging(runtime)
    handled = 0
    for job in _stale_jobs(runtime):
        assert job.id is not None
        if job.plan_attempts >= runtime.settings.max_attempts:
            message = (
                f"the import stopped making progress and was retried {job.plan_attempts} times; giving up "
                "(a worker may have been killed repeatedly)"
            )
            with runtime.db.write() as session:
                jobs.fail(session, job.id, message)
            logger.warning("reaper.gave_up job_id=%s attempts=%s", job.id, job.plan_attempts)
            handled += 1
            continue
        if not _claim(runtime, job):
            continue
        logger.info("reaper.requeued job_id=%s state=%s", job.id, job.state)
        if job.chunk_count is None:
            runtime.queue.enqueue_plan(job.id)
        else:
            pipeline.enqueue_pending(runtime, job.id)
        handled += 1
    return handled
