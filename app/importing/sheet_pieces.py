"""The last part of a large sheet, read by another worker while the plan reads the rest (sheet_split.py).

One row per job in `sheet_piece` says where the piece stands:
- queued: its task is on the queue. The plan, reaching the place where the piece would begin before the
  task started, takes it ("taken") and reads on by itself, so one worker alone never waits for itself.
- reading: a worker reads it, touching the row at least every few seconds, and writes where it began as
  soon as it knows. The plan waits for it; it takes it at once if the piece began elsewhere than where
  the plan would cut, and if the row goes untouched for STALE_SECONDS (its worker died).
- done: where it began, its chunks, rows file and records, or the damage it found. The plan joins those
  rows if the piece began where it would cut; otherwise it reads on by itself.
- joined: the plan stored the piece's chunks as the job's, in the transaction that stored its plan.
- taken: the plan reads those rows itself, or ended without them. A worker still reading the piece stops
  at its next heartbeat and drops its rows; rows already written are dropped by the plan.

Every change of state is an update of the state the changer saw, so that the plan and a worker (or two
workers, a redelivered task beside a live one) never both think they hold the piece. A plan run again
after its worker died finds the same row and decides the same way, so it cuts the chunks it cut before.
"""

from __future__ import annotations

import json
import logging
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy import DateTime, String, Text, Update, update
from sqlmodel import Field, Session, SQLModel, col

from app import jobs
from app.errors import JobNotInDatabase
from app.importing.chunking import ChunkLayout, Heartbeat
from app.importing.planning import PieceRows, Plan
from app.importing.publishing import PlanAbandoned
from app.importing.sheet_split import PieceRead, read_piece
from app.jobs import ImportState, ImportStatus
from app.runtime import Runtime

logger = logging.getLogger(__name__)

STALE_SECONDS = 30.0  # a piece being read touches its row every BEAT_SECONDS while it reads rows
BEAT_SECONDS = 2.0
WAIT_SECONDS = 0.05  # between two looks at a piece the plan waits for
# The share of the sheet's XML the plan reads itself. More than half: the piece's worker also inflates all
# that comes before its start (a deflate stream cannot be entered in the middle), and starts a little
# later. With half each, the plan waited about 0.25 s for the piece of a 100,000-row sheet; the 100,000-row
# XLSX benchmark took 2.73-2.96 s with half, 2.52-2.74 s with 0.58 and with 0.64.
PLAN_SHARE = 0.6


class SheetPiece(SQLModel, table=True):
    """The last part of a job's sheet: see the module's text."""

    __tablename__ = "sheet_piece"

    job_id: int = Field(primary_key=True, foreign_key="import_status.id")
    target: int  # the byte of the sheet's XML the piece reads from
    state: str = Field(sa_type=String(10))
    reader: str | None = Field(default=None, sa_type=String(32))  # which reading of it holds it
    start: int | None = None  # the byte where its first row begins
    first_row: int | None = None
    rows_key: str | None = Field(default=None, sa_type=String(200))
    chunks: str | None = Field(default=None, sa_type=Text)  # [[first_row, records, start, end], ...]
    records: int = 0
    error: str | None = Field(default=None, sa_type=Text)
    updated_at: datetime = Field(default_factory=jobs.utcnow, sa_type=DateTime(timezone=True))


def _as_seen(seen: SheetPiece) -> Update:
    """An update of the piece if it is still as it was seen (its state, and when that was written)."""
    return update(SheetPiece).where(
        col(SheetPiece.job_id) == seen.job_id,
        col(SheetPiece.state) == seen.state,
        col(SheetPiece.updated_at) == seen.updated_at,
    )


def _held(job_id: int, reader: str) -> Update:
    """An update of the piece while this reading of it holds it."""
    return update(SheetPiece).where(
        col(SheetPiece.job_id) == job_id, col(SheetPiece.reader) == reader, col(SheetPiece.state) == "reading"
    )


def _stale(piece: SheetPiece) -> bool:
    return jobs.utcnow() - jobs.as_utc(piece.updated_at) > timedelta(seconds=STALE_SECONDS)


def _take(runtime: Runtime, seen: SheetPiece) -> bool:
    """Move the piece to "taken" if it is still as seen; whether it was. A piece taken when done leaves its
    rows file to whoever took it."""
    with runtime.db.write() as session:
        moved = session.execute(_as_seen(seen).values(state="taken", updated_at=jobs.utcnow())).rowcount  # type: ignore[attr-defined]
    if moved == 1:
        logger.info("import.sheet_piece_taken job_id=%s was=%s", seen.job_id, seen.state)
    return bool(moved == 1)


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
            target = int(sheet_bytes * PLAN_SHARE)
            session.add(SheetPiece(job_id=self.job_id, target=target, state="queued"))
        try:
            self.runtime.queue.enqueue_piece(self.job_id)
        except BrokerError as error:  # the piece stays queued, and the plan takes it when it gets there
            logger.warning("import.sheet_piece_not_queued job_id=%s error=%s", self.job_id, error)
        logger.info("import.sheet_piece_queued job_id=%s sheet_bytes=%s", self.job_id, sheet_bytes)
        return target

    def piece_at(self, start: int, first_row: int) -> PieceRows | None:
        touched = time.monotonic()
        while True:
            piece = self._look()
            if piece.state == "taken":
                return None
            if piece.state in ("done", "joined"):  # joined: by a run of this plan beside this one
                return _joined(piece, start, first_row)
            elsewhere = piece.start is not None and (piece.start, piece.first_row) != (start, first_row)
            if piece.state == "queued" or elsewhere or _stale(piece):
                if _take(self.runtime, piece):
                    return None
                time.sleep(WAIT_SECONDS)  # its worker moved first: look again
                continue
            if time.monotonic() - touched > 1.0:  # the job is not stale while its plan waits
                _touch_job(self.runtime, self.job_id)
                touched = time.monotonic()
            time.sleep(WAIT_SECONDS)

    def release(self) -> None:
        while (piece := self._look(abandoned_too=True)).state not in ("taken", "joined"):
            if _take(self.runtime, piece):
                if piece.state == "done" and piece.rows_key is not None:
                    self.runtime.storage.delete(piece.rows_key)
                return
            time.sleep(WAIT_SECONDS)

    def _look(self, abandoned_too: bool = False) -> SheetPiece:
        with self.runtime.db.read() as session:
            piece, job = session.get(SheetPiece, self.job_id), session.get(ImportStatus, self.job_id)
        assert piece is not None
        if not abandoned_too and (job is None or job.import_state is not ImportState.IN_PROCESS):
            raise PlanAbandoned
        return piece


def _joined(piece: SheetPiece, start: int, first_row: int) -> PieceRows | None:
    """What the piece read, if it began where the plan would cut."""
    if (piece.start, piece.first_row) != (start, first_row):
        logger.info(
            "import.sheet_piece_left job_id=%s began=%s,%s cut=%s,%s",
            piece.job_id, piece.start, piece.first_row, start, first_row,
        )  # fmt: skip
        return None
    chunks = [
        ChunkLayout(first, records, start_offset, end_offset, piece.rows_key)
        for first, records, start_offset, end_offset in json.loads(piece.chunks or "[]")
    ]
    logger.info(
        "import.sheet_piece_joined job_id=%s start=%s first_row=%s chunks=%s",
        piece.job_id, start, first_row, len(chunks),
    )  # fmt: skip
    return PieceRows(chunks, piece.records, piece.error)


def mark_joined(session: Session, job_id: int, rows_key: str) -> bool:
    """In the transaction that stores the plan: the piece's rows are the job's from now on, never let go."""
    moved = session.execute(
        update(SheetPiece)
        .where(
            col(SheetPiece.job_id) == job_id,
            col(SheetPiece.rows_key) == rows_key,
            col(SheetPiece.state).in_(["done", "joined"]),
        )
        .values(state="joined")
    ).rowcount  # type: ignore[attr-defined]
    return bool(moved == 1)


def _touch_job(runtime: Runtime, job_id: int) -> None:
    with runtime.db.write() as session:
        jobs.touch(session, job_id)


# --- the piece's task --------------------------------------------------------------------------


def run_piece(runtime: Runtime, job_id: int, plan_of: Callable[[ImportStatus, Heartbeat], Plan]) -> None:
    """Read the last part of a job's sheet, if the plan has not taken it (see the module's text);
    `plan_of` gives the job's Plan with this heartbeat."""
    reader = uuid.uuid4().hex
    with runtime.db.read() as session:
        piece, job = session.get(SheetPiece, job_id), session.get(ImportStatus, job_id)
    if job is None:
        raise JobNotInDatabase(job_id)
    if piece is None or job.import_state is not ImportState.IN_PROCESS:
        return
    if not (piece.state == "queued" or (piece.state == "reading" and _stale(piece))):
        return  # taken or done, or read by a live worker
    if not _claim(runtime, piece, reader):
        return
    started = time.perf_counter()
    plan = plan_of(job, _heartbeat(runtime, job_id, reader))
    try:
        read = read_piece(plan, piece.target, lambda start, first: _found(runtime, job_id, reader, start, first))
    except PlanAbandoned:
        return
    except Exception:  # what the piece could not do, the plan does: it reads that part itself
        logger.exception("import.sheet_piece_failed job_id=%s", job_id)
        read = PieceRead()
    if not _finish(runtime, job_id, reader, read) and read.rows_key is not None:
        runtime.storage.delete(read.rows_key)
    logger.info(
        "import.sheet_piece_read job_id=%s start=%s chunks=%s seconds=%.3f",
        job_id, read.start, len(read.chunks), time.perf_counter() - started,
    )  # fmt: skip


def _claim(runtime: Runtime, seen: SheetPiece, reader: str) -> bool:
    """Hold the piece for this reading, if it is still as seen (the plan may have taken it since)."""
    with runtime.db.write() as session:
        fresh = {"start": None, "first_row": None, "rows_key": None}  # what a reading before this one said
        claimed = session.execute(
            _as_seen(seen).values(state="reading", reader=reader, updated_at=jobs.utcnow(), **fresh)
        ).rowcount  # type: ignore[attr-defined]
    return bool(claimed == 1)


def _heartbeat(runtime: Runtime, job_id: int, reader: str) -> Heartbeat:
    """Touch the piece's row every BEAT_SECONDS while it is this reading's and its job runs; else stop."""
    beaten = time.monotonic()

    def beat() -> None:
        nonlocal beaten
        if time.monotonic() - beaten < BEAT_SECONDS:
            return
        beaten = time.monotonic()
        with runtime.db.write() as session:
            kept = session.execute(_held(job_id, reader).values(updated_at=jobs.utcnow())).rowcount  # type: ignore[attr-defined]
            job = session.get(ImportStatus, job_id)
        if kept != 1 or job is None or job.import_state is not ImportState.IN_PROCESS:
            raise PlanAbandoned

    return beat


def _found(runtime: Runtime, job_id: int, reader: str, start: int, first_row: int) -> None:
    """Say where the piece begins, so that a plan that would cut elsewhere need not wait for it."""
    with runtime.db.write() as session:
        kept = session.execute(
            _held(job_id, reader).values(start=start, first_row=first_row, updated_at=jobs.utcnow())
        ).rowcount  # type: ignore[attr-defined]
    if kept != 1:
        raise PlanAbandoned


def _finish(runtime: Runtime, job_id: int, reader: str, read: PieceRead) -> bool:
    chunks = [[c.first_row, c.record_count, c.start_offset, c.end_offset] for c in read.chunks]
    values = {
        "state": "done", "start": read.start, "first_row": read.first_row, "rows_key": read.rows_key,
        "chunks": json.dumps(chunks), "records": read.records, "error": read.error, "updated_at": jobs.utcnow(),
    }  # fmt: skip
    with runtime.db.write() as session:
        stored = session.execute(_held(job_id, reader).values(**values)).rowcount  # type: ignore[attr-defined]
    return bool(stored == 1)
