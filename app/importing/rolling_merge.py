"""The rolling merge: on PostgreSQL, a large import's staged rows are merged while its chunks are still
being staged, in one transaction that commits only with the job's COMPLETED.

The finalize's merge waits for the last chunk and then runs in one PostgreSQL process, on one core,
while the workers sit idle. A rolling merge runs beside the chunks instead: a thread of the worker that
plans the job opens a transaction, takes the merge lock, and merges each batch of chunks as they are
done. Nothing it writes is seen before it commits, and it commits only when every chunk is in and
every check the finalize makes has passed, so an import still lands whole or not at all.

It is an optimisation that steps aside whenever anything is unusual: a key staged twice, rows that
failed under the job's error policy, a sandbox closed meanwhile, another merge or a promote waiting for
the merge lock, a job cancelled or failed, no progress for a lease, or its worker dying. It then rolls
back, and the finalize merges the job as it always did (try_finalize waits for it first).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Sequence
from itertools import pairwise
from typing import NamedTuple

from sqlalchemy import and_, func, select, text
from sqlalchemy.exc import DBAPIError
from sqlmodel import Session, col

from app import jobs
from app.db import MERGE_LOCK_ID
from app.importing import finalize
from app.importing.finalize import ROLLING_LOCKS, claim, complete, over_limit, prepare_statistics, sandbox_closed
from app.importing.problem_log import header_of, record_problems
from app.importing.staging_guard import staging_lost
from app.importing.writers.base import ImportWriter
from app.importing.writers.merge import (
    MergeCounts,
    MergePlan,
    Overlap,
    as_seen_in_sandbox,
    key_in_two_targets,
    merge_part,
    over_production,
    target_has_rows,
    unique_on_key,
)
from app.importing.writers.registry import WRITERS
from app.jobs import ImportChunk, ImportState, ImportStatus, ProblemKind
from app.runtime import Runtime
from specifications import ImportType

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.05
# Chunks merged in one statement at most: a batch is what a promote or another finalize may wait out.
BATCH_CHUNKS = 16
UNIQUE_VIOLATION = "23505"  # an insert met a key already there
CARDINALITY_VIOLATION = "21000"  # an upsert met the same key twice
LOCK_NOT_AVAILABLE = "55P03"


class GaveUp(Exception):
    """The rolling merge rolls back and leaves the job to the finalize."""


def wanted(runtime: Runtime, job: ImportStatus, rows_bytes: int | None = None) -> bool:
    """A rolling merge is worth a thread for a large import on PostgreSQL, written for real. Large by its
    upload's bytes when the plan begins, or, for rows the plan normalized from a sheet or an archive, by
    those rows' bytes once it has read them all (`rows_bytes`): a compressed upload says little of its rows,
    and while a sheet is read its readers hold the cores (a merge beside them was measured slower)."""
    threshold = runtime.settings.rolling_merge_bytes
    size = job.upload_bytes if rows_bytes is None else rows_bytes
    return (
        runtime.db.is_postgresql
        and threshold > 0
        and size >= threshold
        and not job.dry_run
        and WRITERS[ImportType(job.import_type)].merge_plans(job) is not None
    )


# One rolling merge a process: only one can hold the merge lock, and each holds a connection throughout.
_ONE_A_PROCESS = threading.Lock()


def start(runtime: Runtime, job_id: int) -> threading.Thread | None:
    """Start the job's rolling merge in a thread, unless this process runs one already."""
    if not _ONE_A_PROCESS.acquire(blocking=False):
        return None
    thread = threading.Thread(target=_run_alone, args=(runtime, job_id), name=f"rolling-merge-{job_id}", daemon=True)
    thread.start()
    return thread


def _run_alone(runtime: Runtime, job_id: int) -> None:
    try:
        run(runtime, job_id)
    finally:
        _ONE_A_PROCESS.release()


def run(runtime: Runtime, job_id: int) -> bool:
    """Merge the job as its chunks arrive and complete it; False when it gave up (nothing written)."""
    started = time.monotonic()
    try:
        with runtime.db.write() as session:
            job = _roll(runtime, session, job_id)
    except GaveUp as reason:
        logger.info("import.rolling_merge_gave_up job_id=%s reason=%s", job_id, reason)
        return False
    except Exception:  # a thread's error has no caller: the finalize merges the job
        logger.exception("import.rolling_merge_failed job_id=%s", job_id)
        return False
    logger.info("import.rolling_merge_completed job_id=%s seconds=%.3f", job_id, time.monotonic() - started)
    finalize.clear_staging(runtime, job)
    return True


def _analyze_targets(runtime: Runtime, job_id: int) -> None:
    """Fresh statistics for the tables the job merges into, in a transaction of their own (ANALYZE holds a
    lock until its transaction ends). A batch's rows are looked up in them by key; with statistics from
    when a table was nearly empty PostgreSQL may look them up by a shorter index and read a whole catalog
    for each row (900,000 updated rows: minutes instead of seconds)."""
    with runtime.db.read() as session:
        job = session.get(ImportStatus, job_id)
    if job is None:
        raise GaveUp("the job is gone")
    plans = WRITERS[ImportType(job.import_type)].merge_plans(job) or []
    with runtime.db.write() as session:
        for name in sorted({plan.target.name for plan in plans}):
            session.execute(text(f"ANALYZE {name}"))


class _Chunk(NamedTuple):
    number: int
    first_row: int
    done: bool


class _Rolling:
    """What the rolling merge knows: the job's merges, which scopes were empty, and what it merged."""

    def __init__(self, session: Session, job: ImportStatus, writer: ImportWriter) -> None:
        plans = writer.merge_plans(job)
        if plans is None:
            raise GaveUp("the import type's merge is not a plain one")
        self.session, self.job, self.writer = session, job, writer
        self.plans: Sequence[MergePlan] = plans
        self.empty = [not target_has_rows(session, plan) for plan in plans]
        self.merged: set[int] = set()
        self.counts = MergeCounts()
        self.created = [0 for _ in plans]  # a plan each
        self.overlap = Overlap()  # in a sandbox: rows over production records (see over_production)

    def only_inserted(self) -> bool:
        """Whether every row was inserted into a scope that held none, under an index that refuses a key
        twice: no key was then given twice in one target. A row a sandbox left to production (as production
        has it) met no index, so a key it shares with another row is looked for as the finalize does."""
        unique = all(unique_on_key(plan) for plan in self.plans)
        return all(self.empty) and unique and not self.overlap.left_out

    def merge(self, chunks: list[_Chunk]) -> int:
        """Merge the chunks done and not merged yet; how many there were."""
        batch = [chunk for chunk in chunks if chunk.done and chunk.number not in self.merged][:BATCH_CHUNKS]
        if not batch:
            return 0
        numbers = [chunk.number for chunk in batch]
        staging = self.writer.staging
        # A chunk's rows lie between its first row and the next chunk's: the staging key's range, read by index.
        part = [staging.c.chunk_no.in_(numbers), staging.c.row_no >= batch[0].first_row]
        after = [chunk.first_row for chunk in chunks if chunk.number > numbers[-1]]
        if after:
            part.append(staging.c.row_no < after[0])
        assert self.job.id is not None
        try:
            for index, (plan, empty) in enumerate(zip(self.plans, self.empty, strict=True)):
                overlap = over_production(self.session, plan, and_(*part))
                counts = merge_part(self.session, plan, self.job.id, and_(*part), empty)
                self.created[index] += counts.created
                self.counts += counts
                self.overlap += overlap
        except DBAPIError as error:  # a key staged twice: the finalize names it
            if getattr(error.orig, "sqlstate", None) in (UNIQUE_VIOLATION, CARDINALITY_VIOLATION):
                raise GaveUp("a key was staged twice") from error
            raise
        self.merged.update(numbers)
        return len(batch)


def _roll(runtime: Runtime, session: Session, job_id: int) -> ImportStatus:
    if not _try_lock(session, ROLLING_LOCKS + job_id):
        raise GaveUp("the job is being merged already")
    # Should this worker's machine vanish without closing its connection, the merge lock goes with it.
    session.execute(text("SET LOCAL idle_in_transaction_session_timeout = '10s'"))
    _analyze_targets(runtime, job_id)
    _wait_for_merge_lock(runtime, session, job_id)
    job = _job(session, job_id)
    rolling = _Rolling(session, job, WRITERS[ImportType(job.import_type)])
    # Each batch is a few chunks of a table that may hold millions of rows: index lookups, never a scan of it.
    session.execute(text("SET LOCAL enable_hashjoin = off"))
    session.execute(text("SET LOCAL enable_mergejoin = off"))
    session.execute(text("SET LOCAL jit = off"))
    quiet_since = time.monotonic()
    while True:
        job = _job(session, job_id)
        chunks = _chunks(session, job_id)
        if rolling.merge(chunks):
            quiet_since = time.monotonic()
            _touch(runtime, job_id)
        elif job.chunk_count is not None and len(rolling.merged) == job.chunk_count == len(chunks):
            break
        elif time.monotonic() - quiet_since > runtime.settings.lease_seconds:
            raise GaveUp("no chunk was done for a lease")
        else:
            time.sleep(POLL_SECONDS)
        _step_aside_if_waited_for(session)
    return _complete(session, rolling)


def _touch(runtime: Runtime, job_id: int) -> None:
    """The rolling merge's heartbeat, committed at once: a job whose last chunks are being merged is not stale."""
    with runtime.db.write() as session:
        jobs.touch(session, job_id)


def _job(session: Session, job_id: int) -> ImportStatus:
    job = session.get(ImportStatus, job_id, populate_existing=True)
    if job is None or job.import_state is not ImportState.IN_PROCESS:
        raise GaveUp("the job is no longer in process")
    if reason := over_limit(job, job.error_count):
        raise GaveUp(reason)
    return job


def _chunks(session: Session, job_id: int) -> list[_Chunk]:
    rows = session.execute(
        select(col(ImportChunk.chunk_no), col(ImportChunk.first_row), col(ImportChunk.done))
        .where(col(ImportChunk.job_id) == job_id)
        .order_by(col(ImportChunk.chunk_no))
    ).all()
    chunks = [_Chunk(*row) for row in rows]
    if any(later.first_row <= earlier.first_row for earlier, later in pairwise(chunks)):
        raise GaveUp("the chunks' rows are not in the order of their numbers")
    return chunks


def _complete(session: Session, rolling: _Rolling) -> ImportStatus:
    """The finalize's checks, then COMPLETED; any check that would change what is written gives up.

    After a first import into an empty scope the indexes have refused a key given twice in one target, so
    the repeated-keys check (a pass over every staged row after the last chunk, 0.6 s at 1M rows) only
    needs to look between targets: the target that got fewer rows, by index, in the other. It runs before
    hash joins are allowed again, with statistics taken when the targets were empty."""
    job, writer = rolling.job, rolling.writer
    assert job.id is not None
    keys_unique = rolling.only_inserted()
    if keys_unique and key_in_two_targets(session, rolling.plans, rolling.created):
        raise GaveUp("a key was staged for two tables")
    for setting in ("enable_hashjoin", "enable_mergejoin"):
        session.execute(text(f"SET LOCAL {setting} = on"))
    prepare_statistics(session, writer.staging)
    _step_aside_if_waited_for(session)
    if not _job_row_free(session, job.id) or not claim(session, job.id):
        raise GaveUp("the job is no longer in process")
    job = _job(session, job.id)
    assert job.id is not None
    if reason := sandbox_closed(session, job):
        raise GaveUp(reason)
    if staging_lost(session, job.id):
        raise GaveUp("the staged rows were lost in a database crash")  # the finalize stages them again
    if writer.set_problems(session, job, keys_unique):
        raise GaveUp("some rows fail checks of the whole upload")
    warnings = writer.warnings(session, job)
    record_problems(session, job.id, ProblemKind.RECORD, warnings, header_of(job))
    staged = session.execute(
        select(func.count()).select_from(writer.staging).where(writer.staging.c.job_id == job.id)
    ).scalar_one()
    if keys_unique and staged != rolling.counts.created:
        raise GaveUp(f"{staged} rows were staged and {rolling.counts.created} inserted")
    counts = rolling.counts
    counts = MergeCounts(counts.created, counts.updated, int(staged) - counts.created - counts.updated)
    counts = as_seen_in_sandbox(counts, rolling.overlap)
    complete(session, job, counts, job.error_count, job.problem_count + len(warnings))
    return job


def _job_row_free(session: Session, job_id: int) -> bool:
    """Lock the job's row unless another transaction holds it (a finalize that claimed the job)."""
    try:
        with session.begin_nested():
            session.execute(
                select(col(ImportStatus.id)).where(col(ImportStatus.id) == job_id).with_for_update(nowait=True)
            )
    except DBAPIError as error:
        if getattr(error.orig, "sqlstate", None) == LOCK_NOT_AVAILABLE:
            return False
        raise
    return True


def _try_lock(session: Session, key: int) -> bool:
    return bool(session.execute(text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": key}).scalar_one())


def _wait_for_merge_lock(runtime: Runtime, session: Session, job_id: int) -> None:
    """Take the merge lock (app.db.lock_merges) once no other merge holds it; give up after a lease."""
    deadline = time.monotonic() + runtime.settings.lease_seconds
    while not _try_lock(session, MERGE_LOCK_ID):
        if time.monotonic() > deadline:
            raise GaveUp("another merge held the merge lock for a lease")
        time.sleep(POLL_SECONDS)
        job = _job(session, job_id)
        if job.chunk_count is not None and job.chunks_done == job.chunk_count:
            raise GaveUp("every chunk was in before the merge lock was free")  # the finalize waits for this


def _step_aside_if_waited_for(session: Session) -> None:
    """Another import's finalize or a promote waits for the merge lock: it must not wait for these chunks."""
    waiting = session.execute(
        text(
            "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted"
            " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
            " AND classid = :high AND objid = :low AND objsubid = 1)"
        ),
        {"high": MERGE_LOCK_ID >> 32, "low": MERGE_LOCK_ID & 0xFFFFFFFF},
    ).scalar_one()
    if waiting:
        raise GaveUp("another merge waits for the merge lock")
