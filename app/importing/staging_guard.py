"""Staged rows a database crash took: found before a merge, and staged again.

PostgreSQL empties unlogged tables when it recovers from a crash (app.commerce.staging). A job's chunks
are then marked done while their rows are gone, and a merge would write a part of the upload as if it
were the whole. So a job in process gets a guard row, unlogged as well, before its first chunk is staged;
whoever merges the job first checks that the guard is still there. A job whose guard is gone has its
chunks put back, and they are staged again: the import finishes, a little later, with every row once.

SQLite's tables are always logged: it has no guard, and never loses staged rows.
"""

from __future__ import annotations

import logging

from sqlalchemy import delete, literal, select, update
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlmodel import Session, col

from app import jobs
from app.commerce.staging import STAGING_GUARD
from app.importing.writers.registry import WRITERS
from app.importing.writers.staging import clear_job
from app.jobs import ImportChunk, ImportProblem, ImportStatus, ProblemKind
from specifications import ImportType

logger = logging.getLogger(__name__)

RESTAGING = (
    "the database restarted and lost the rows staged so far (staging is not crash-safe, by design): "
    "every chunk is being staged again"
)


def _guarded(session: Session) -> bool:
    return session.connection().dialect.name == "postgresql"


def set_guard(session: Session, job_id: int) -> None:
    """Mark the job's staging as intact, before any of its chunks is staged."""
    if _guarded(session):
        session.execute(postgresql_insert(STAGING_GUARD).values(job_id=job_id).on_conflict_do_nothing())


def staging_lost(session: Session, job_id: int) -> bool:
    """Whether a crash emptied the staging tables since the job's guard was set."""
    if not _guarded(session):
        return False
    found = session.execute(select(literal(1)).where(STAGING_GUARD.c.job_id == job_id)).first()
    return found is None


def clear_staged(session: Session, job_id: int, import_type: str) -> None:
    """Delete a job's staged rows and its guard: what an ended job (completed, failed, cancelled) leaves."""
    clear_job(session, WRITERS[ImportType(import_type)].staging, job_id)
    clear_job(session, STAGING_GUARD, job_id)


def restage(session: Session, job: ImportStatus) -> int:
    """Put the job back as it was before its first chunk, with a new guard; how many chunks it has. The
    caller holds the job's row (its finalize claim) and enqueues the chunks once this commits. Its
    percentComplete stays where it was until the chunks staged again pass it."""
    assert job.id is not None
    clear_job(session, WRITERS[ImportType(job.import_type)].staging, job.id)
    session.execute(update(ImportChunk).where(col(ImportChunk.job_id) == job.id).values(done=False))
    session.execute(
        delete(ImportProblem).where(
            col(ImportProblem.job_id) == job.id, col(ImportProblem.kind) == ProblemKind.RECORD.value
        )
    )
    counts = {"processed_records": 0, "chunks_done": 0, "problem_count": 0, "error_count": 0}
    session.execute(
        update(ImportStatus)
        .where(col(ImportStatus.id) == job.id)
        .values(**counts, message=RESTAGING, updated_at=jobs.utcnow())
    )
    set_guard(session, job.id)
    logger.warning("import.staging_lost job_id=%s chunks=%s", job.id, job.chunk_count)
    return job.chunk_count or 0
