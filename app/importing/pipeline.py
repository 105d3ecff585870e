"""The steps of an import after it is accepted: plan and chunk (finalize.py merges it)."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Iterable, Sequence
from functools import partial
from typing import NamedTuple

from sqlalchemy import select, update
from sqlmodel import Session, col

from app import jobs
from app.errors import ImportFailed, JobNotInDatabase, SpecificationNotInstalled, WaitsForEarlierImport
from app.heap import collection_paused
from app.importing import rolling_merge
from app.importing.asset_planning import plan_assets
from app.importing.cells import TRUE_WORDS, read_identifier
from app.importing.chunking import ChunkLayout, Heartbeat
from app.importing.dependencies import earlier_import_depended_on, waiting_message
from app.importing.finalize import fail_job, over_limit, try_finalize
from app.importing.formats import FileType
from app.importing.header import HeaderMap, Slot, resolve_header
from app.importing.images import asset_ids, resolve_images
from app.importing.limits import ReadLimits
from app.importing.normalized_planning import plan_keyed, plan_xlsx, plan_zip
from app.importing.planning import Layout, Plan, ReadOptions, chunk_bytes, chunk_rows, plan_csv
from app.importing.problem_log import record_problems
from app.importing.problems import ValidationProblem, row_problem
from app.importing.publishing import ChunkPublisher, PlanAbandoned, claim_planning, reading_of, store_chunks
from app.importing.readers.delimited import SourceRow, set_field_limit
from app.importing.sheet_pieces import SheetSplit, mark_joined, run_piece
from app.importing.staging_guard import clear_staged, set_guard
from app.importing.validation import RowValidator, unquoted
from app.importing.writers.base import ImportWriter, RowOutcome
from app.importing.writers.registry import WRITERS
from app.importing.writers.staging import StagedRows, StagingRow, load_rows
from app.jobs import ImportChunk, ImportState, ImportStatus, OnError, ProblemKind, Severity
from app.runtime import Runtime
from specifications import ImportType, Specification, find_specification

logger = logging.getLogger(__name__)


class _Abandon(Exception):
    """The chunk's transaction must not commit: the job moved on, or another worker did the chunk."""


def _spec_of(runtime: Runtime, job: ImportStatus) -> Specification:
    """The job's specification as this worker knows it; the API accepted the job by it, so a worker that lacks
    it was started with other specification files than the API's."""
    spec = find_specification(ImportType(job.import_type), job.specification)
    if spec is None:
        raise SpecificationNotInstalled(job.specification, runtime.settings.specifications_dir)
    return spec


# --- plan ------------------------------------------------------------------------------------


def plan(runtime: Runtime, job_id: int) -> None:
    """Start a job: read its upload once, check the header, cut chunks and enqueue them (a CSV's as they
    are cut, see publishing.py)."""
    with runtime.db.write() as session:
        job = session.get(ImportStatus, job_id)
        if job is None:
            raise JobNotInDatabase(job_id)
        if job.import_state.is_terminal:
            return
        starting = job.import_state is ImportState.START_REQUESTED
        earlier = earlier_import_depended_on(session, job) if starting else None
        if earlier is not None:
            jobs.note_waiting(session, job_id, waiting_message(earlier), heartbeat=True)
        elif starting and jobs.move(session, job_id, ImportState.IN_PROCESS, message=None):
            set_guard(session, job_id)  # once, before any chunk: a plan run again must not renew it
        already_planned = job.chunk_count is not None
    if earlier is not None:
        assert earlier.id is not None
        raise WaitsForEarlierImport(job_id, earlier.id)
    if already_planned:
        enqueue_pending(runtime, job_id)
        return
    rolling = rolling_merge.wanted(runtime, job)
    if rolling:
        rolling_merge.start(runtime, job_id)
    published = _published_chunks(runtime, job_id)
    publisher = None if published else ChunkPublisher(runtime, job_id)
    set_field_limit(runtime.settings.max_field_bytes)
    try:
        layout = _plan(runtime, job, publisher)
    except PlanAbandoned:
        return
    except ImportFailed as error:
        logger.info("import.unreadable job_id=%s reason=%s", job_id, error)
        with runtime.db.write() as session:
            if jobs.fail(session, job_id, f"Error in the uploaded file: {error}"):
                clear_staged(session, job_id, job.import_type)
        return
    if layout.header.problems:
        _fail_on_header(runtime, job_id, layout.header)
        return
    if published and layout.chunks[: len(published)] != published:
        with runtime.db.write() as session:
            jobs.fail(session, job_id, RECUT)
        return
    stored = publisher.published if publisher else len(published)
    try:
        with runtime.db.write() as session:
            if not _store_layout(session, job_id, layout, stored):
                return
    except PlanAbandoned:  # the sheet's piece was let go meanwhile: the plan runs again (see the reaper)
        return
    logger.info("import.planned job_id=%s records=%s chunks=%s", job_id, layout.total_records, len(layout.chunks))
    if not rolling and layout.rows_key is not None and rolling_merge.wanted(runtime, job, layout.rows_bytes):
        rolling_merge.start(runtime, job_id)
    if published:
        enqueue_pending(runtime, job_id)
        return
    for chunk_no in range(stored, len(layout.chunks)):
        runtime.queue.enqueue_chunk(job_id, chunk_no)
    if stored == len(layout.chunks):
        try_finalize(runtime, job_id)


RECUT = (
    "the upload was cut into different chunks when its plan ran again (do all workers have the same "
    "IMPORTER_CHUNK_ROWS?); nothing was written. Retry the import"
)


def _published_chunks(runtime: Runtime, job_id: int) -> list[ChunkLayout]:
    """Chunks an earlier run of this plan stored before its worker stopped."""
    with runtime.db.read() as session:
        rows = session.execute(
            select(ImportChunk).where(col(ImportChunk.job_id) == job_id).order_by(col(ImportChunk.chunk_no))
        ).scalars()
        return [
            ChunkLayout(row.first_row, row.record_count, row.start_offset, row.end_offset, row.rows_key) for row in rows
        ]


def _plan_of(
    runtime: Runtime,
    job: ImportStatus,
    heartbeat: Heartbeat,
    publisher: ChunkPublisher | None = None,
    split: SheetSplit | None = None,
) -> Plan:
    return Plan(
        runtime.storage, job.upload_key, _spec_of(runtime, job), runtime.settings.chunk_rows,
        ReadLimits.from_settings(runtime.settings), ReadOptions(job.encoding, job.delimiter, job.sheet_name),
        heartbeat, publisher, split,
    )  # fmt: skip


def _plan(runtime: Runtime, job: ImportStatus, publisher: ChunkPublisher | None) -> Layout:
    assert job.id is not None
    job_id = job.id
    split = SheetSplit(runtime, job_id) if runtime.settings.sheet_split_bytes else None
    plan = _plan_of(runtime, job, lambda: _touch(runtime, job_id), publisher, split)
    file_type = FileType(job.file_type)
    if ImportType(job.import_type) is ImportType.ASSET:
        return plan_assets(plan, runtime.assets)
    if file_type is FileType.XLSX:
        return plan_xlsx(plan)
    if file_type is FileType.ZIP:
        return plan_zip(plan)
    if file_type in (FileType.JSON, FileType.JSONL):
        return plan_keyed(plan, file_type)
    return plan_csv(plan)


def read_sheet_piece(runtime: Runtime, job_id: int) -> None:
    """Read the last part of a large sheet while the plan reads the rest (see sheet_pieces.py)."""
    set_field_limit(runtime.settings.max_field_bytes)
    run_piece(runtime, job_id, lambda job, heartbeat: _plan_of(runtime, job, heartbeat))


def _touch(runtime: Runtime, job_id: int) -> None:
    """The planner's heartbeat: a job being read is not stale."""
    with runtime.db.write() as session:
        jobs.touch(session, job_id)


def _store_layout(session: Session, job_id: int, layout: Layout, stored: int) -> bool:
    """Record the finished plan: how to read the rows, the count of records and chunks, and the chunks
    not stored yet (the first `stored` were published while it read)."""
    counts = {"chunk_count": len(layout.chunks), "total_records": layout.total_records}
    if not claim_planning(session, job_id, **reading_of(layout), **counts):
        return False
    for rows_key in {chunk.rows_key for chunk in layout.chunks if chunk.rows_key}:
        if not mark_joined(session, job_id, rows_key):
            raise PlanAbandoned  # rolls the store back: a plan run beside this one let the piece go
    store_chunks(session, job_id, layout.chunks[stored:], stored)
    return True


def _fail_on_header(runtime: Runtime, job_id: int, header: HeaderMap) -> None:
    count = len(header.problems)
    message = f"Error in the uploaded file: the header row has {count} problem{'s' if count > 1 else ''}"
    with runtime.db.write() as session:
        if jobs.fail(session, job_id, message):
            record_problems(session, job_id, ProblemKind.HEADER, header.problems)
            session.execute(
                update(ImportStatus)
                .where(col(ImportStatus.id) == job_id)
                .values(problem_count=count, error_count=count)
            )


def enqueue_pending(runtime: Runtime, job_id: int) -> None:
    with runtime.db.read() as session:
        pending = list(
            session.execute(
                select(col(ImportChunk.chunk_no))
                .where(col(ImportChunk.job_id) == job_id, col(ImportChunk.done).is_(False))
                .order_by(col(ImportChunk.chunk_no))
            ).scalars()
        )
    for chunk_no in pending:
        runtime.queue.enqueue_chunk(job_id, chunk_no)
    if not pending:
        try_finalize(runtime, job_id)


# --- chunk -----------------------------------------------------------------------------------


def validate_rows(header: HeaderMap, rows: Iterable[SourceRow]) -> tuple[list[RowOutcome], list[ValidationProblem]]:
    """The row-by-row path's validation: each row's outcome (blank rows have none) and every problem."""
    validator = RowValidator(header)
    key_slot = header.spec.key_columns[0].field if header.spec.key_columns else None
    group = header.slot_for(header.spec.group_by) if header.spec.group_by else None
    outcomes: list[RowOutcome] = []
    problems: list[ValidationProblem] = []
    for row in rows:
        if row.problem is not None:
            problems.append(row_problem(row.number, row.problem))
            outcomes.append(RowOutcome(row.number, None, False, None))
            continue
        if row.is_blank:
            continue
        record, found = validator.validate(row.number, row.cells)
        problems.extend(found)
        is_child = record.is_child if record else _looks_like_child(header, row.cells)
        key = record.values.get(key_slot) if record and key_slot else None
        if record is None and group is not None:
            key = _group_of(group, row.cells)
        outcomes.append(RowOutcome(row.number, record, is_child, key if isinstance(key, str) else None))
    return outcomes, problems


def _group_of(slot: Slot, cells: list[str]) -> str | None:
    """The record an invalid row belongs to (an order's number), read as the plan read it to keep the
    record's rows in one chunk: so that the record's other rows know it has an invalid one."""
    raw = cells[slot.index].strip() if slot.index < len(cells) else ""
    raw = unquoted(raw) if raw[:1] == "'" else raw
    return str(read_identifier(raw, slot.header) or "") or None


def _looks_like_child(header: HeaderMap, cells: list[str]) -> bool:
    flag = header.spec.child_flag
    slot = header.slot_for(flag) if flag else None
    return slot is not None and slot.index < len(cells) and cells[slot.index].strip().lower() in TRUE_WORDS


def run_chunk(runtime: Runtime, job_id: int, chunk_no: int) -> None:
    """Validate one chunk and stage its valid rows; a redelivered chunk is written once."""
    with runtime.db.read() as session:
        job = session.get(ImportStatus, job_id)
        chunk = session.get(ImportChunk, (job_id, chunk_no))
    if job is None:
        raise JobNotInDatabase(job_id)
    if chunk is None or job.import_state is not ImportState.IN_PROCESS:
        return
    if not chunk.done:
        set_field_limit(runtime.settings.max_field_bytes)
        # The chunk's rows are made and freed while the collector sleeps: woken while they were still
        # alive, its first pass walked every one of them (a tenth of the chunk step).
        with collection_paused():
            written = _write_chunk(runtime, job, chunk)
        if written is None:
            return
        logger.info(
            "import.chunk_written job_id=%s chunk=%s rows=%s way=%s stage_s=%.3f total_s=%.3f",
            job_id, chunk_no, *written,
        )  # fmt: skip
    try_finalize(runtime, job_id)


class _Written(NamedTuple):
    """What a chunk step did, for its log line: rows staged, which way, and the seconds it took to
    stage them and in all."""

    rows: int
    way: str
    staged_s: float
    total_s: float


def _write_chunk(runtime: Runtime, job: ImportStatus, chunk: ImportChunk) -> _Written | None:
    """Validate and stage a chunk; what it wrote, or None when another run took it first."""
    started = time.perf_counter()
    writer = WRITERS[ImportType(job.import_type)]
    header = resolve_header(_spec_of(runtime, job), json.loads(job.header or "[]"))
    parts, problems, way = _stage_chunk(runtime, job, chunk, header, writer)
    staged = time.perf_counter()
    try:
        with runtime.db.write() as session:
            rows = _commit_chunk(session, writer, chunk, parts, problems, header.cells)
    except _Abandon:
        return None
    return _Written(rows, way, staged - started, time.perf_counter() - started)


def _stage_chunk(
    runtime: Runtime, job: ImportStatus, chunk: ImportChunk, header: HeaderMap, writer: ImportWriter
) -> tuple[list[StagedRows], list[ValidationProblem], str]:
    """The chunk's staging rows (in parts) and problems, and how they were read: "columns" (every row
    certain, see clean_chunks.py), "columns+rows" (the doubtful rows row by row) or "rows"."""
    # polars starts threads when imported: only in the process that runs chunks, never before a fork.
    from app.importing import clean_chunks

    layout = ChunkLayout(chunk.first_row, chunk.record_count, chunk.start_offset, chunk.end_offset)
    data = chunk_bytes(runtime.storage, job.upload_key, chunk.rows_key or job.rows_key, layout)
    lookup = partial(asset_ids, runtime, job)
    by_columns = clean_chunks.stage_columns(job, chunk, header, data, lookup) if clean_chunks.takes(job) else None
    if by_columns is None:
        normalized = job.rows_key is not None
        rows = chunk_rows(data, normalized, job.encoding or "utf-8", job.delimiter or ",", chunk.first_row)
        staged, problems = _stage_rows(runtime, job, chunk, header, writer, rows)
        return [staged], problems, "rows"
    if not by_columns.doubtful:
        return [by_columns.staged], by_columns.warnings, "columns"
    staged, problems = _stage_rows(runtime, job, chunk, header, writer, by_columns.doubtful)
    way = "columns+rows" if by_columns.staged.height else "rows"
    return [by_columns.staged, staged], problems + by_columns.warnings, way


def _stage_rows(
    runtime: Runtime,
    job: ImportStatus,
    chunk: ImportChunk,
    header: HeaderMap,
    writer: ImportWriter,
    rows: Iterable[SourceRow],
) -> tuple[list[StagingRow], list[ValidationProblem]]:
    """The row-by-row path: validate, resolve images, stage."""
    outcomes, problems = validate_rows(header, rows)
    if ImportType(job.import_type) is ImportType.PRODUCT:
        problems += resolve_images(runtime, job, outcomes)
    staging_rows, between = writer.stage(chunk.job_id, chunk.chunk_no, outcomes)
    return staging_rows, problems + between


def _commit_chunk(
    session: Session,
    writer: ImportWriter,
    chunk: ImportChunk,
    staging_parts: list[StagedRows],
    problems: list[ValidationProblem],
    header: Sequence[str],
) -> int:
    """Mark the chunk done and write its rows in one transaction; how many rows it staged. A delivery
    that finds it done already (another worker's, or this one's before a redelivery) writes nothing,
    so no row is staged twice and no earlier rows of the chunk ever need clearing."""
    job_id, chunk_no = chunk.job_id, chunk.chunk_no
    taken = session.execute(
        update(ImportChunk)
        .where(
            col(ImportChunk.job_id) == job_id,
            col(ImportChunk.chunk_no) == chunk_no,
            col(ImportChunk.done).is_(False),
        )
        .values(done=True, attempts=col(ImportChunk.attempts) + 1)
    ).rowcount  # type: ignore[attr-defined]
    state = session.execute(select(col(ImportStatus.state)).where(col(ImportStatus.id) == job_id)).scalar_one()
    if taken != 1 or state != ImportState.IN_PROCESS.value:
        raise _Abandon
    for part in staging_parts:
        load_rows(session, writer.staging, writer.staging_columns, part)
    staged = sum(len(part) for part in staging_parts)
    record_problems(session, job_id, ProblemKind.RECORD, problems, header)
    errors = len({problem.row for problem in problems if problem.severity is Severity.ERROR})
    failed_so_far = jobs.add_chunk_progress(session, job_id, staged + errors, len(problems), errors)
    job = session.get(ImportStatus, job_id, populate_existing=True)
    assert job is not None
    if OnError(job.on_error) is OnError.SKIP and (reason := over_limit(job, failed_so_far)):
        fail_job(session, job, reason, records_failed=failed_so_far)
    return staged
