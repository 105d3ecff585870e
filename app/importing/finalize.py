"""Finalize: whoever sees every chunk done applies the error policy and merges the job, once."""

from __future__ import annotations

import logging

from sqlalchemy import Table, select, text, update
from sqlmodel import Session, col

from app import jobs
from app.commerce.sandboxes import Sandbox, SandboxState
from app.db import lock_merges
from app.importing.problem_log import header_of, record_problems
from app.importing.staging_guard import clear_staged, restage, staging_lost
from app.importing.writers.merge import MergeCounts
from app.importing.writers.registry import WRITERS
from app.jobs import ImportState, ImportStatus, OnError, ProblemKind
from app.runtime import Runtime
from specifications import ImportType

logger = logging.getLogger(__name__)


def try_finalize(runtime: Runtime, job_id: int) -> None:
    """Whoever sees every chunk done merges the job, once: the claim is a conditional UPDATE.

    A rolling merge of the job (rolling_merge.py) is waited out first: it either completes the job, and
    the claim finds nothing to do, or it gave up and rolled back, and the job is merged here."""
    with runtime.db.write() as session:
        if not _all_chunks_done(session, job_id):
            return
        _wait_for_rolling_merge(session, job_id)
        if not _finalizing_alone(session, job_id) or not claim(session, job_id):
            return
        job = session.get(ImportStatus, job_id, populate_existing=True)
        assert job is not None
        # A job its error policy fails already (counted in logged tables) is failed, not staged again.
        lost = staging_lost(session, job_id) and not over_limit(job, job.error_count)
        restaged = restage(session, job) if lost else 0
        completed = not restaged and _finalize(session, job)
    for chunk_no in range(restaged):
        runtime.queue.enqueue_chunk(job_id, chunk_no)
    if completed:
        clear_staging(runtime, job)


def clear_staging(runtime: Runtime, job: ImportStatus) -> None:
    """The job's staging rows are garbage once it is COMPLETED: deleting them is not the user's wait.
    Should this worker die first, the reaper's sweep deletes them (reaper.clear_finished_staging)."""
    assert job.id is not None
    with runtime.db.write() as session:
        clear_staged(session, job.id, job.import_type)


def _all_chunks_done(session: Session, job_id: int) -> bool:
    counts = session.execute(
        select(col(ImportStatus.chunks_done), col(ImportStatus.chunk_count)).where(col(ImportStatus.id) == job_id)
    ).first()
    return counts is not None and counts[0] == counts[1]


def claim(session: Session, job_id: int) -> bool:
    """Take the job's finalize: it is in process and every chunk is done (a row lock until commit)."""
    claimed = session.execute(
        update(ImportStatus)
        .where(
            col(ImportStatus.id) == job_id,
            col(ImportStatus.state) == ImportState.IN_PROCESS.value,
            col(ImportStatus.chunks_done) == col(ImportStatus.chunk_count),
        )
        .values(updated_at=jobs.utcnow())
    ).rowcount  # type: ignore[attr-defined]
    return bool(claimed == 1)


_FINALIZE_LOCKS = 1 << 40
ROLLING_LOCKS = 1 << 41


def _wait_for_rolling_merge(session: Session, job_id: int) -> None:
    """Wait until no rolling merge of the job runs (it holds its lock until it commits or rolls back), and
    keep one from starting until this transaction ends. The lock is shared: a second finalizer does not
    wait out this one's merge."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock_shared(:key)"), {"key": ROLLING_LOCKS + job_id})


def _finalizing_alone(session: Session, job_id: int) -> bool:
    """On PostgreSQL, a second finalizer of the same job returns at once instead of waiting out the merge."""
    if session.connection().dialect.name != "postgresql":
        return True
    taken = session.execute(text("SELECT pg_try_advisory_xact_lock(:id)"), {"id": _FINALIZE_LOCKS + job_id})
    return bool(taken.scalar_one())


def prepare_statistics(session: Session, staging: Table) -> None:
    """The checks and the merge join staging to tables that just grew: without statistics PostgreSQL may pick
    a nested loop, quadratic in the rows. Staging is analysed now that it holds the job, and joins hash.

    JIT compilation is off for the merge: its statements are costed far above the JIT threshold, and
    compiling (with inlining and optimisation) their many column comparisons cost more than it saved
    (900,000 products, every one changed: the update took 9.6-10.2 s without JIT, 10.5-11.7 s with it;
    the insert the same either way).

    A query of the merge takes at most one parallel worker. Each of PostgreSQL's processes leads a session
    of its own, and Linux shares the CPU between sessions first: two parallel workers and their leader
    were three full shares against the API's one, and status polls queued behind them for half a second
    (the repeated-keys check over 1M staged rows: 0.67 s with two workers, 0.75 s with one, 1.0 s alone).

    ANALYZE samples 3,000 rows (statistics target 10), not 30,000: staging's rows are alike, and what the
    merge's plans need of them (how many rows a job has, that its keys are distinct) shows as well in
    the smaller sample. 1M staged rows: 24 ms instead of 350-480 ms."""
    if session.connection().dialect.name == "postgresql":
        session.execute(text("SET LOCAL enable_nestloop = off"))
        session.execute(text("SET LOCAL jit = off"))
        session.execute(text("SET LOCAL max_parallel_workers_per_gather = 1"))
        session.execute(text("SET LOCAL default_statistics_target = 10"))
        session.execute(text(f"ANALYZE {staging.name}"))


def sandbox_closed(session: Session, job: ImportStatus) -> str | None:
    """Why the job may not write its sandbox any more (promoted or discarded meanwhile); None when it may."""
    if not job.sandbox_id:
        return None
    sandbox = session.get(Sandbox, job.sandbox_id)
    state = sandbox.state if sandbox is not None else SandboxState.DISCARDED.value
    if state == SandboxState.OPEN:
        return None
    return f"sandbox {job.sandbox_id} was {state.lower()} before this import finished; nothing was written"


def _rows(count: int) -> str:
    return f"{count} row{'s' if count != 1 else ''}"


def over_limit(job: ImportStatus, failed_rows: int) -> str | None:
    """Why the job must fail, writing nothing, under its error policy; None while it may go on."""
    if failed_rows == 0:
        return None
    if OnError(job.on_error) is OnError.ABORT:
        return (
            f"Error in the uploaded file: {_rows(failed_rows)} failed validation, so nothing was written "
            "(onError=abort)"
        )
    if job.max_errors is not None and failed_rows > job.max_errors:
        return (
            f"Error in the uploaded file: {_rows(failed_rows)} failed validation, "
            f"more than maxErrors={job.max_errors}, so nothing was written (onError=skip)"
        )
    return None


def fail_job(session: Session, job: ImportStatus, message: str, **values: object) -> None:
    assert job.id is not None
    clear_staged(session, job.id, job.import_type)
    if job.dry_run:
        message += " (dry run)"
    jobs.move(session, job.id, ImportState.FAILED, message=message, **values)
    logger.info("import.failed job_id=%s", job.id)


def _finalize(session: Session, job: ImportStatus) -> bool:
    """Merge the job, or fail it under its error policy; True when it COMPLETED."""
    assert job.id is not None
    lock_merges(session)
    writer = WRITERS[ImportType(job.import_type)]
    prepare_statistics(session, writer.staging)
    if closed := sandbox_closed(session, job):
        fail_job(session, job, closed)
        return False
    found = writer.set_problems(session, job)
    record_problems(session, job.id, ProblemKind.RECORD, found, header_of(job))
    bad_rows = sorted({problem.row for problem in found if problem.row is not None})
    failed_rows = job.error_count + len(bad_rows)
    problem_count = job.problem_count + len(found)
    reason = over_limit(job, failed_rows)
    if reason:
        fail_job(session, job, reason, records_failed=failed_rows, problem_count=problem_count, error_count=failed_rows)
        return False
    writer.drop_rows(session, job.id, bad_rows)
    warnings = writer.warnings(session, job)
    record_problems(session, job.id, ProblemKind.RECORD, warnings, header_of(job))
    problem_count += len(warnings)
    counts = writer.preview(session, job) if job.dry_run else writer.merge(session, job)
    complete(session, job, counts, failed_rows, problem_count)
    return True


def complete(session: Session, job: ImportStatus, counts: MergeCounts, failed_rows: int, problem_count: int) -> None:
    assert job.id is not None
    jobs.move(
        session, job.id, ImportState.COMPLETED, percent_complete=100.0,
        records_created=counts.created, records_updated=counts.updated, records_skipped=counts.unchanged,
        records_failed=failed_rows, problem_count=problem_count, error_count=failed_rows,
        message="dry run: nothing was written" if job.dry_run else None,
    )  # fmt: skip
    logger.info(
        "import.completed job_id=%s created=%s updated=%s unchanged=%s failed=%s dry_run=%s",
        job.id, counts.created, counts.updated, counts.unchanged, failed_rows, job.dry_run,
    )  # fmt: skip
