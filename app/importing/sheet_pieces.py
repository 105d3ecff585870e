"""The second half of a large sheet, read by another worker while the plan reads the first (sheet_split.py).

One row per job in `sheet_piece` says where the piece stands:
- queued: its task is on the queue. The plan, reaching the place where the piece would begin before the
  task started, takes it ("taken") and reads on by itself, so one worker alone never waits for itself.
- reading: a worker reads it, touching the row as it goes. The plan waits; if the row goes untouched for
  STALE_SECONDS (its worker died), the plan takes it.
- done: where it began, its chunks and rows file, or what stopped it. The plan takes the rows if the piece
  began where the plan would have cut, or reads on by itself.
- taken: the plan reads those rows itself; a worker still reading the piece stops and drops its rows.

A plan run again after its worker died finds the same row and decides the same way, so the chunks it cuts
are the ones it cut before.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import DateTime, String, Text, Update, update
from sqlmodel import Field, SQLModel, col

from app import jobs
from app.errors import UnreadableFile
from app.importing.chunking import ChunkLayout, Heartbeat
from app.importing.planning import PieceRows, Plan
from app.importing.publishing import PlanAbandoned
from app.importing.sheet_split import PieceRead, read_piece
from app.jobs import ImportState, ImportStatus
from app.runtime import Runtime

logger = logging.getLogger(__name__)

STALE_SECONDS = 30.0  # a piece being read touches its row every 5 s at most (chunking.HEARTBEAT_SECONDS)
WAIT_SECONDS = 0.05  # between two looks at a piece the plan waits for


class SheetPiece(SQLModel, table=True):
    """The second half of a job's sheet: see the module's text."""

    __tablename__ = "sheet_piece"

    job_id: int = Field(primary_key=True, foreign_key="import_status.id")
    target: int  # the byte of the sheet's XML the piece reads from
    state: str = Field(sa_type=String(10))
    reader: str | None = Field(default=None, sa_type=String(32))  # which reading of it holds it
    start: int | None = None  # the byte where its first row begins
    first_row: int | None = None
    rows_key: str | None = Field(default=None, sa_type=String(200))
    chunks: str | None = Field(default=None, sa_type=Text)  # [[first_row, records, start, end], ...]
    error: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime = Field(default_factory=jobs.utcnow, sa_type=DateTime(timezone=True))


@dataclass
class SheetSplit:
    """The plan's side (planning.Split) for one job."""

    runtime: Runtime
    job_id: int

    def begin(self, sheet_bytes: int) -> int | None:
        threshold = self.runtime.settings.sheet_split_bytes
        if not threshold or sheet_bytes < threshold:
            return None
        with self.runtime.db.write() as session:
            piece = session.get(SheetPiece, self.job_id)
            if piece is not None:  # this plan ran before: the piece's row decides as it did then
                return piece.target
            session.add(SheetPiece(job_id=self.job_id, target=sheet_bytes // 2, state="queued"))
        self.runtime.queue.enqueue_piece(self.job_id)
        logger.info("import.sheet_piece_queued job_id=%s sheet_bytes=%s", self.job_id, sheet_bytes)
        return sheet_bytes // 2

    def piece_at(self, start: int, first_row: int) -> PieceRows | None:
        touched = time.monotonic()
        while True:
            with self.runtime.db.read() as session:
                piece, job = session.get(SheetPiece, self.job_id), session.get(ImportStatus, self.job_id)
            assert piece is not None
            if job is None or job.import_state is not ImportState.IN_PROCESS:
                raise PlanAbandoned
            if piece.state == "queued" or (piece.state == "reading" and _stale(piece)):
                if _take(self.runtime, piece):
                    return None
                continue  # its worker moved first: look again
            if piece.state != "reading":
                return _taken(self.job_id, piece, start, first_row)
            if time.monotonic() - touched > 1.0:  # the job is not stale while its plan waits
                _touch_job(self.runtime, self.job_id)
                touched = time.monotonic()
            time.sleep(WAIT_SECONDS)


def _take(runtime: Runtime, seen: SheetPiece) -> bool:
    """Take the piece for the plan to read, if it is still as it was seen; whether it was."""
    with runtime.db.write() as session:
        taken = session.execute(
            update(SheetPiece)
            .where(
                col(SheetPiece.job_id) == seen.job_id,
                col(SheetPiece.state) == seen.state,
                col(SheetPiece.updated_at) == seen.updated_at,
            )
            .values(state="taken", updated_at=jobs.utcnow())
        ).rowcount  # type: ignore[attr-defined]
    if taken == 1:
        logger.info("import.sheet_piece_read_by_plan job_id=%s was=%s", seen.job_id, seen.state)
    return bool(taken == 1)


def _stale(piece: SheetPiece) -> bool:
    updated = piece.updated_at if piece.updated_at.tzinfo else piece.updated_at.replace(tzinfo=jobs.utcnow().tzinfo)
    return jobs.utcnow() - updated > timedelta(seconds=STALE_SECONDS)


def _taken(job_id: int, piece: SheetPiece, start: int, first_row: int) -> PieceRows | None:
    """The piece's rows, if it is done and began where the plan would have cut."""
    if piece.state != "done" or piece.start != start or piece.first_row != first_row:
        logger.info(
            "import.sheet_piece_left job_id=%s state=%s began=%s,%s cut=%s,%s",
            job_id, piece.state, piece.start, piece.first_row, start, first_row,
        )  # fmt: skip
        return None
    if piece.error is not None:
        raise UnreadableFile(piece.error)
    chunks = [
        ChunkLayout(first_row, records, start_offset, end_offset, piece.rows_key)
        for first_row, records, start_offset, end_offset in json.loads(piece.chunks or "[]")
    ]
    logger.info("import.sheet_piece_joined job_id=%s start=%s chunks=%s", job_id, start, len(chunks))
    return PieceRows(chunks, sum(chunk.record_count for chunk in chunks))


def _touch_job(runtime: Runtime, job_id: int) -> None:
    with runtime.db.write() as session:
        session.execute(update(ImportStatus).where(col(ImportStatus.id) == job_id).values(updated_at=jobs.utcnow()))


# --- the piece's task --------------------------------------------------------------------------


def run_piece(runtime: Runtime, job_id: int, plan_of: Callable[[ImportStatus, Heartbeat], Plan]) -> None:
    """Read the second half of a job's sheet, if the plan has not taken it (see the module's text);
    `plan_of` gives the job's Plan with this heartbeat."""
    reader = uuid.uuid4().hex
    with runtime.db.write() as session:
        piece = session.get(SheetPiece, job_id)
        job = session.get(ImportStatus, job_id)
        if piece is None or job is None or job.import_state is not ImportState.IN_PROCESS:
            return
        if not (piece.state == "queued" or (piece.state == "reading" and _stale(piece))):
            return  # taken or done, or read by a live worker
        piece.state, piece.reader, piece.updated_at = "reading", reader, jobs.utcnow()
        target = piece.target
    started = time.perf_counter()
    plan = plan_of(job, lambda: _keep(runtime, job_id, reader))
    try:
        read = read_piece(plan, target)
    except PlanAbandoned:
        return
    if not _finish(runtime, job_id, reader, read) and read.rows_key is not None:
        runtime.storage.delete(read.rows_key)
    logger.info(
        "import.sheet_piece_read job_id=%s start=%s chunks=%s seconds=%.3f",
        job_id, read.start, len(read.chunks), time.perf_counter() - started,
    )  # fmt: skip


def _keep(runtime: Runtime, job_id: int, reader: str) -> None:
    """The piece's heartbeat: touch its row while it is still this reading's and its job still runs."""
    with runtime.db.write() as session:
        kept = session.execute(_held(job_id, reader).values(updated_at=jobs.utcnow())).rowcount  # type: ignore[attr-defined]
        state = session.get(ImportStatus, job_id)
    if kept != 1 or state is None or state.import_state is not ImportState.IN_PROCESS:
        raise PlanAbandoned


def _finish(runtime: Runtime, job_id: int, reader: str, read: PieceRead) -> bool:
    chunks = [[c.first_row, c.record_count, c.start_offset, c.end_offset] for c in read.chunks]
    values = {
        "state": "done", "start": read.start, "first_row": read.first_row, "rows_key": read.rows_key,
        "chunks": json.dumps(chunks), "error": read.error, "updated_at": jobs.utcnow(),
    }  # fmt: skip
    with runtime.db.write() as session:
        stored = session.execute(_held(job_id, reader).values(**values)).rowcount  # type: ignore[attr-defined]
    return bool(stored == 1)


def _held(job_id: int, reader: str) -> Update:
    """An update of the piece while this reading of it holds it."""
    return update(SheetPiece).where(
        col(SheetPiece.job_id) == job_id, col(SheetPiece.reader) == reader, col(SheetPiece.state) == "reading"
    )
