"""Reading jobs: one import's status, the history of imports, and every problem of one import."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import case, func
from sqlmodel import Session, col, select

from app import jobs
from app.accounts import Principal, Role
from app.errors import BadRequest, Conflict
from app.importing.failed_rows import failed_rows_file
from app.jobs import ImportProblem, ImportState, ImportStatus, ProblemKind, Severity
from app.runtime import Runtime
from app.service.access import visible
from app.service.submit import parse_import_type

STATUS_PROBLEM_LIMIT = 100


@dataclass(frozen=True)
class StatusView:
    job: ImportStatus
    header_problems: list[ImportProblem]
    record_problems: list[ImportProblem]


def job_status(runtime: Runtime, principal: Principal, job_id: int) -> StatusView:
    """The job with its header problems and its first record problems (problemCount has them all)."""
    with runtime.db.read() as session:
        return _view(session, visible(principal, session.get(ImportStatus, job_id), job_id))


def _view(session: Session, job: ImportStatus) -> StatusView:
    assert job.id is not None
    if not job.problem_count:  # the common case while polling: nothing more to read
        return StatusView(job, [], [])
    header = jobs.problems_of(session, job.id, ProblemKind.HEADER, STATUS_PROBLEM_LIMIT)
    return StatusView(job, header, _first_record_problems(session, job))


def _first_record_problems(session: Session, job: ImportStatus) -> list[ImportProblem]:
    """The first record problems by row; once an import with invalid rows has ended, its errors come
    first, so that one bad row among a hundred thousand warnings shows where the user looks first."""
    assert job.id is not None
    if not (job.import_state.is_terminal and job.error_count):
        return jobs.problems_of(session, job.id, ProblemKind.RECORD, STATUS_PROBLEM_LIMIT)
    errors = jobs.problems_of(session, job.id, ProblemKind.RECORD, STATUS_PROBLEM_LIMIT, severity=Severity.ERROR)
    room = STATUS_PROBLEM_LIMIT - len(errors)
    warnings = jobs.problems_of(session, job.id, ProblemKind.RECORD, room, severity=Severity.WARNING) if room else []
    return errors + warnings


def list_jobs(
    runtime: Runtime, principal: Principal, state: str | None, import_type: str | None, page: int, size: int
) -> tuple[list[StatusView], int]:
    """Imports, newest first; an importer sees its own. Each shows the details its status shows, so that a
    listed FAILED import never reads as one with no problem."""
    filters = []
    if state:
        try:
            filters.append(col(ImportStatus.state) == ImportState(state.strip().upper()).value)
        except ValueError:
            valid = ", ".join(s.value for s in ImportState)
            raise BadRequest(f"unknown status '{state}'; valid statuses are {valid}") from None
    if import_type:
        filters.append(col(ImportStatus.import_type) == parse_import_type(import_type).value)
    if principal.role is Role.IMPORTER:
        filters.append(col(ImportStatus.account_id) == principal.account_id)
    with runtime.db.read() as session:
        total = session.exec(select(func.count()).select_from(ImportStatus).where(*filters)).one()
        found = session.exec(
            select(ImportStatus)
            .where(*filters)
            .order_by(col(ImportStatus.id).desc())
            .offset((page - 1) * size)
            .limit(size)
        ).all()
        return [_view(session, job) for job in found], int(total)


def list_problems(
    runtime: Runtime, principal: Principal, job_id: int, page: int, size: int
) -> tuple[ImportStatus, list[ImportProblem], int]:
    """Every problem of an import, header problems first, then by row."""
    with runtime.db.read() as session:
        job = visible(principal, session.get(ImportStatus, job_id), job_id)
        total = session.exec(
            select(func.count()).select_from(ImportProblem).where(ImportProblem.job_id == job_id)
        ).one()
        header_first = case((col(ImportProblem.kind) == ProblemKind.HEADER.value, 0), else_=1)
        found = session.exec(
            select(ImportProblem)
            .where(ImportProblem.job_id == job_id)
            .order_by(header_first, col(ImportProblem.row_number), col(ImportProblem.id))
            .offset((page - 1) * size)
            .limit(size)
        ).all()
    return job, list(found), int(total)


def failed_rows(runtime: Runtime, principal: Principal, job_id: int) -> tuple[str, str, Iterator[bytes]]:
    """The invalid rows of an import as a file to fix and upload again: (media type, file name, body)."""
    with runtime.db.read() as session:
        job = visible(principal, session.get(ImportStatus, job_id), job_id)
        header_failed = session.exec(
            select(func.count())
            .select_from(ImportProblem)
            .where(ImportProblem.job_id == job_id, ImportProblem.kind == ProblemKind.HEADER.value)
        ).one()
    if header_failed:
        raise Conflict(f"import {job_id} failed on its header row, so no rows were checked; see headerValidation")
    if job.header is None:
        raise Conflict(f"import {job_id} has not been read yet; its rows are checked once it is IN_PROCESS")
    if job.rows_key is not None and job.chunk_count is None:
        # A sheet's rows are validated while its plan still writes them: that file is not whole yet.
        raise Conflict(f"import {job_id} is still being read; its failed rows can be downloaded once it is read")
    try:
        runtime.storage.read_range(job.upload_key, 0, 1)
    except FileNotFoundError:
        raise Conflict(f"the upload of import {job_id} is no longer kept (IMPORTER_UPLOAD_RETENTION_HOURS)") from None
    return failed_rows_file(runtime, job)
