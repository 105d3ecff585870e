"""Use cases called by the HTTP API and the command line: submit an import, read its status and data."""

from __future__ import annotations

import logging
from dataclasses import dataclass

from app import jobs
from app.accounts import Principal
from app.commerce import product_reads
from app.errors import BadRequest, Forbidden, NotFound
from app.importing.formats import FileType
from app.jobs import ImportState, ImportStatus, ProblemKind
from app.runtime import Runtime
from specifications import SUPPORTED_TYPES, ImportType, find_specification, specifications_for

logger = logging.getLogger(__name__)

STATUS_PROBLEM_LIMIT = 100


@dataclass(frozen=True)
class Submission:
    """A checked request to import: what, how to read it, and where it goes."""

    import_type: ImportType
    specification: str
    file_type: FileType
    catalog_id: int
    site_id: int
    user_id: int | None


@dataclass(frozen=True)
class StatusView:
    job: ImportStatus
    header_problems: list[jobs.ImportProblem]
    record_problems: list[jobs.ImportProblem]


def parse_import_type(text: str) -> ImportType:
    valid = ", ".join(kind.value for kind in ImportType)
    try:
        import_type = ImportType(text.strip().upper())
    except ValueError:
        raise BadRequest(f"unknown importType '{text}'; valid import types are {valid}") from None
    if import_type not in SUPPORTED_TYPES:
        ready = ", ".join(kind.value for kind in SUPPORTED_TYPES)
        raise BadRequest(f"{import_type.value} imports are not available in this version; available: {ready}")
    return import_type


def check_submission(
    import_type: ImportType,
    specification: str | None,
    file_type: str | None,
    catalog_id: int,
    site_id: int,
    user_id: int | None,
) -> Submission:
    names = ", ".join(spec.name for spec in specifications_for(import_type))
    if not specification or not specification.strip():
        raise BadRequest(f"importSpecification is required; for {import_type.value} use one of: {names}")
    spec = find_specification(import_type, specification)
    if spec is None:
        raise BadRequest(f"unknown importSpecification '{specification}' for {import_type.value}; use one of: {names}")
    kind_text = (file_type or FileType.CSV.value).strip().upper()
    try:
        kind = FileType(kind_text)
    except ValueError:
        valid = ", ".join(kind.value for kind in FileType)
        raise BadRequest(f"unknown fileType '{file_type}'; valid file types are {valid}") from None
    return Submission(import_type, spec.name, kind, catalog_id, site_id, user_id)


def authorise_submission(principal: Principal, import_type: ImportType) -> None:
    if not principal.may_import(import_type.value):
        raise Forbidden(f"account '{principal.username}' may not submit {import_type.value} imports")


def create_job(
    runtime: Runtime, principal: Principal, submission: Submission, upload_key: str, upload_bytes: int
) -> ImportStatus:
    """Record the job, commit, then enqueue its plan; a failed enqueue fails the job with the reason."""
    job = ImportStatus(
        import_type=submission.import_type.value,
        specification=submission.specification,
        state=ImportState.START_REQUESTED.value,
        file_type=submission.file_type.value,
        catalog_id=submission.catalog_id,
        site_id=submission.site_id,
        user_id=submission.user_id,
        account_id=principal.account_id,
        submitted_by=principal.username,
        upload_key=upload_key,
        upload_bytes=upload_bytes,
    )
    with runtime.db.write() as session:
        session.add(job)
        session.flush()
    assert job.id is not None
    try:
        runtime.queue.enqueue_plan(job.id)
    except Exception as error:  # the broker may be down: the job must say so, not hang
        logger.exception("import.enqueue_failed job_id=%s", job.id)
        with runtime.db.write() as session:
            jobs.fail(session, job.id, f"the job could not be queued for a worker: {type(error).__name__}")
            refreshed = session.get(ImportStatus, job.id)
        assert refreshed is not None
        return refreshed
    logger.info("import.accepted job_id=%s type=%s bytes=%s", job.id, job.import_type, upload_bytes)
    return job


def job_status(runtime: Runtime, principal: Principal, job_id: int) -> StatusView:
    with runtime.db.read() as session:
        job = session.get(ImportStatus, job_id)
        if job is None:
            raise NotFound(f"no import with statusId {job_id}")
        header = jobs.problems_of(session, job_id, ProblemKind.HEADER, STATUS_PROBLEM_LIMIT)
        records = jobs.problems_of(session, job_id, ProblemKind.RECORD, STATUS_PROBLEM_LIMIT)
    return StatusView(job, header, records)


def read_record(
    runtime: Runtime, import_type: ImportType, key: list[str], catalog_id: int, site_id: int
) -> dict[str, object]:
    if import_type is not ImportType.PRODUCT or len(key) != 1:
        raise NotFound(f"no {import_type.value} record '{'/'.join(key)}'")
    with runtime.db.read() as session:
        record = product_reads.find_product(session, catalog_id, 0, key[0])
    if record is None:
        raise NotFound(f"no PRODUCT '{key[0]}' in catalog {catalog_id}")
    return record


def list_records(
    runtime: Runtime, import_type: ImportType, catalog_id: int, site_id: int, page: int, page_size: int
) -> tuple[list[dict[str, object]], int]:
    if import_type is not ImportType.PRODUCT:
        return [], 0
    with runtime.db.read() as session:
        return product_reads.list_products(session, catalog_id, 0, page, page_size)
