"""The job row (ImportStatus), its states and legal moves, its chunks and its problems."""

from __future__ import annotations

from datetime import UTC, datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import DateTime, Index, Numeric, String, Text, UniqueConstraint, case, cast, func, update
from sqlmodel import Field, Session, SQLModel, col, select


def utcnow() -> datetime:
    return datetime.now(UTC)


def as_utc(moment: datetime) -> datetime:
    """A stored time in UTC: SQLite gives it back without its zone."""
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


class ImportState(StrEnum):
    START_REQUESTED = "START_REQUESTED"
    IN_PROCESS = "IN_PROCESS"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATES


TERMINAL_STATES = frozenset({ImportState.COMPLETED, ImportState.FAILED, ImportState.CANCELLED})

LEGAL_MOVES: dict[ImportState, frozenset[ImportState]] = {
    ImportState.START_REQUESTED: frozenset({ImportState.IN_PROCESS, ImportState.FAILED, ImportState.CANCELLED}),
    ImportState.IN_PROCESS: frozenset({ImportState.COMPLETED, ImportState.FAILED, ImportState.CANCELLED}),
    ImportState.COMPLETED: frozenset(),
    ImportState.FAILED: frozenset(),
    ImportState.CANCELLED: frozenset(),
}

# The share of percentComplete the chunk phase may reach; the rest is the final merge.
CHUNK_PHASE_PERCENT = 95.0


class OnError(StrEnum):
    ABORT = "abort"
    SKIP = "skip"


class Severity(StrEnum):
    ERROR = "error"
    WARNING = "warning"


class ProblemKind(StrEnum):
    HEADER = "header"
    RECORD = "record"


class ImportStatus(SQLModel, table=True):
    """One import: everything a poller sees. Only the functions below change its state."""

    __tablename__ = "import_status"
    __table_args__ = (UniqueConstraint("account_id", "idempotency_key", name="uq_import_status_idempotency"),)

    id: int | None = Field(default=None, primary_key=True)
    import_type: str = Field(sa_type=String(20))
    specification: str = Field(sa_type=String(100))
    state: str = Field(sa_type=String(20), index=True)
    file_type: str = Field(sa_type=String(10))
    encoding: str | None = Field(default=None, sa_type=String(20))
    delimiter: str | None = Field(default=None, sa_type=String(2))
    sheet_name: str | None = Field(default=None, sa_type=String(100))
    catalog_id: int
    site_id: int
    sandbox_id: int = 0
    user_id: int | None = None
    account_id: int
    submitted_by: str = Field(sa_type=String(150))
    upload_key: str = Field(sa_type=String(200))
    upload_bytes: int = 0
    header: str | None = Field(default=None, sa_type=Text)
    rows_key: str | None = Field(default=None, sa_type=String(200))
    files: str | None = Field(default=None, sa_type=Text)  # a ZIP's data files: name, type, row offset, records
    on_error: str = Field(default=OnError.ABORT.value, sa_type=String(10))
    max_errors: int | None = None
    dry_run: bool = False
    idempotency_key: str | None = Field(default=None, sa_type=String(255))
    body_sha256: str | None = Field(default=None, sa_type=String(64))
    retry_of: int | None = None
    retried_as: int | None = None
    total_records: int = 0
    processed_records: int = 0
    percent_complete: float = 0.0
    chunk_count: int | None = None
    chunks_done: int = 0
    records_created: int = 0
    records_updated: int = 0
    records_skipped: int = 0
    records_failed: int = 0
    problem_count: int = 0
    error_count: int = 0
    message: str | None = Field(default=None, sa_type=Text)
    plan_attempts: int = 0
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    started_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    finished_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))

    @property
    def import_state(self) -> ImportState:
        return ImportState(self.state)


class ImportChunk(SQLModel, table=True):
    """A slice of an upload's records that one task validates and stages."""

    __tablename__ = "import_chunk"

    job_id: int = Field(primary_key=True, foreign_key="import_status.id")
    chunk_no: int = Field(primary_key=True)
    first_row: int
    record_count: int
    start_offset: int
    end_offset: int
    # Where its rows are when not where the job's are: the last part of a sheet, read at once with the rest.
    rows_key: str | None = Field(default=None, sa_type=String(200))
    done: bool = False
    attempts: int = 0


class ImportProblem(SQLModel, table=True):
    """A problem found in a header or a row: shown to the user, never raised."""

    __tablename__ = "import_problem"
    __table_args__ = (Index("ix_import_problem_job_row", "job_id", "row_number"),)

    id: int | None = Field(default=None, primary_key=True)
    # The job's id, without a foreign key: problems are written only by the job's own steps, after its
    # row, and no job is ever deleted. A foreign key checked every problem by a query of its own and
    # took a share lock on the job's row: 600,000 problems took 4.5 s to COPY with it, 2.3 s without.
    job_id: int
    kind: str = Field(sa_type=String(10))
    severity: str = Field(sa_type=String(10))
    row_number: int | None = None
    column: str | None = Field(default=None, sa_type=String(10))
    field_name: str | None = Field(default=None, sa_type=Text)
    field_value: str | None = Field(default=None, sa_type=Text)
    message: str = Field(sa_type=Text)


def move(session: Session, job_id: int, to: ImportState, **values: Any) -> bool:
    """Move a job to `to` if its current state allows it; False when another process got there first."""
    sources = [state.value for state, targets in LEGAL_MOVES.items() if to in targets]
    now = utcnow()
    values.setdefault("updated_at", now)
    if to.is_terminal:
        values.setdefault("finished_at", now)
    if to is ImportState.IN_PROCESS:
        values.setdefault("started_at", now)
    statement = (
        update(ImportStatus)
        .where(col(ImportStatus.id) == job_id, col(ImportStatus.state).in_(sources))
        .values(state=to.value, **values)
    )
    return session.execute(statement).rowcount == 1  # type: ignore[attr-defined,no-any-return]


def touch(session: Session, job_id: int) -> None:
    """A heartbeat: the job is making progress, so the reaper must not take it for stale."""
    session.execute(update(ImportStatus).where(col(ImportStatus.id) == job_id).values(updated_at=utcnow()))


def note_waiting(session: Session, job_id: int, message: str, heartbeat: bool = False) -> None:
    """Say on a job still START_REQUESTED what holds it up; the plan's move to IN_PROCESS clears it. With
    `heartbeat`, a worker is looking after it: the reaper leaves it alone for a lease."""
    values: dict[str, object] = {"message": message}
    if heartbeat:
        values["updated_at"] = utcnow()
    session.execute(
        update(ImportStatus)
        .where(col(ImportStatus.id) == job_id, col(ImportStatus.state) == ImportState.START_REQUESTED.value)
        .values(**values)
    )


def fail(session: Session, job_id: int, message: str) -> bool:
    return move(session, job_id, ImportState.FAILED, message=message)


def add_chunk_progress(session: Session, job_id: int, records: int, problems: int, errors: int) -> int:
    """Count a finished chunk and return the job's failed rows so far.

    percentComplete only grows, and stays below 100 until the job completes.
    """
    processed = col(ImportStatus.processed_records) + records
    total = col(ImportStatus.total_records)
    percent = func.round(cast(processed * CHUNK_PHASE_PERCENT / func.nullif(total, 0), Numeric), 1)
    shown = col(ImportStatus.percent_complete)  # kept when higher: a job staged again counts from 0 again
    errors_so_far = session.execute(
        update(ImportStatus)
        .where(col(ImportStatus.id) == job_id)
        .values(
            processed_records=processed,
            chunks_done=col(ImportStatus.chunks_done) + 1,
            problem_count=col(ImportStatus.problem_count) + problems,
            error_count=col(ImportStatus.error_count) + errors,
            percent_complete=case((percent > shown, percent), else_=shown),
            updated_at=utcnow(),
        )
        .returning(col(ImportStatus.error_count))
    ).scalar_one()
    return int(errors_so_far)


def problems_of(
    session: Session, job_id: int, kind: ProblemKind, limit: int, offset: int = 0, severity: Severity | None = None
) -> list[ImportProblem]:
    """The job's problems of a kind (and of a severity, when given), by row."""
    statement = (
        select(ImportProblem)
        .where(ImportProblem.job_id == job_id, ImportProblem.kind == kind.value)
        .where(*([ImportProblem.severity == severity.value] if severity is not None else []))
        .order_by(col(ImportProblem.row_number), col(ImportProblem.id))
        .offset(offset)
        .limit(limit)
    )
    return list(session.exec(statement))
