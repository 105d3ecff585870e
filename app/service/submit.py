"""Submitting an import: check the request, record the job, enqueue it (once per Idempotency-Key)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace

from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlmodel import Session, select

from app import jobs
from app.accounts import Principal
from app.errors import BadRequest, Forbidden, IdempotencyMismatch
from app.importing.formats import FileType
from app.importing.planning import ReadOptions
from app.jobs import ImportState, ImportStatus, OnError
from app.runtime import Runtime
from app.service.audit import record_event
from app.service.running_limit import hold_running_limit
from app.service.sandboxes import sandbox_for_import
from specifications import ImportType, all_specifications, find_specification, specifications_for
from specifications.asset import DEFAULT_ASSET

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Submission:
    """A checked request to import: what, how to read it, where it goes and how to treat bad rows."""

    import_type: ImportType
    specification: str
    file_type: FileType | None  # None: detected from the body's first bytes
    catalog_id: int
    site_id: int
    user_id: int | None
    on_error: OnError = OnError.ABORT
    max_errors: int | None = None
    dry_run: bool = False
    reading: ReadOptions = field(default_factory=ReadOptions)
    to_sandbox: bool = False
    sandbox_id: int | None = None
    asked_file_type: FileType | None = None  # the fileType the request named (an ASSET import takes a ZIP whatever)


ENCODING_NAMES = {
    "utf-8": "utf-8", "utf8": "utf-8", "windows-1252": "cp1252", "cp1252": "cp1252",
    "iso-8859-1": "latin-1", "latin-1": "latin-1", "latin1": "latin-1",
}  # fmt: skip
DELIMITER_NAMES = {",": ",", ";": ";", "\t": "\t", "|": "|", "comma": ",", "semicolon": ";", "tab": "\t", "pipe": "|"}


def check_reading(encoding: str | None, delimiter: str | None, sheet_name: str | None) -> ReadOptions:
    """The reading options a request gives, each checked; none given means detect."""
    if encoding and encoding.strip().lower() not in ENCODING_NAMES:
        raise BadRequest(f"encoding must be UTF-8, Windows-1252 or ISO-8859-1, got '{encoding}'")
    if delimiter and delimiter.lower() not in DELIMITER_NAMES:
        raise BadRequest(f"delimiter must be a comma, semicolon, tab or pipe, got '{delimiter}'")
    if sheet_name is not None and (not 0 < len(sheet_name.strip()) <= 100 or any(ord(c) < 32 for c in sheet_name)):
        raise BadRequest("sheetName must be 1 to 100 characters, with no control characters")
    return ReadOptions(
        ENCODING_NAMES[encoding.strip().lower()] if encoding else None,
        DELIMITER_NAMES[delimiter.lower()] if delimiter else None,
        sheet_name.strip() if sheet_name else None,
    )


@dataclass(frozen=True)
class Upload:
    key: str
    size: int
    sha256: str
    file_type: FileType | None = None  # what the body was taken to be
    is_utf8: bool = False  # a CSV body valid UTF-8 throughout (checked as it streamed in; not for other types)


def parse_import_type(text: str) -> ImportType:
    valid = ", ".join(kind.value for kind in ImportType)
    try:
        import_type = ImportType(text.strip().upper())
    except ValueError:
        raise BadRequest(f"unknown importType '{text}'; valid import types are {valid}") from None
    return import_type


def _file_type(text: str | None) -> FileType | None:
    if text is None or not text.strip():
        return None
    try:
        return FileType(text.strip().upper())
    except ValueError:
        valid = ", ".join(kind.value for kind in FileType)
        raise BadRequest(f"unknown fileType '{text}'; valid file types are {valid}") from None


def _error_policy(on_error: str | None, max_errors: int | None) -> OnError:
    try:
        policy = OnError((on_error or OnError.ABORT.value).strip().lower())
    except ValueError:
        raise BadRequest(f"onError must be 'abort' or 'skip', got '{on_error}'") from None
    if max_errors is not None and (max_errors < 0 or policy is not OnError.SKIP):
        raise BadRequest("maxErrors is a whole number of 0 or more, and goes with onError=skip")
    return policy


def check_submission(
    import_type: ImportType,
    specification: str | None,
    file_type: str | None,
    catalog_id: int,
    site_id: int,
    user_id: int | None,
    on_error: str | None = None,
    max_errors: int | None = None,
    dry_run: bool = False,
) -> Submission:
    names = ", ".join(spec.name for spec in specifications_for(import_type))
    if not specification or not specification.strip():
        raise BadRequest(f"importSpecification is required; for {import_type.value} use one of: {names}")
    kind = _file_type(file_type)
    if import_type is ImportType.ASSET:
        asset = _asset_submission(specification, catalog_id, site_id, user_id, on_error, max_errors, dry_run)
        return replace(asset, asked_file_type=kind)
    spec = find_specification(import_type, specification)
    if spec is None:
        raise BadRequest(f"unknown importSpecification '{specification}' for {import_type.value}; use one of: {names}")
    policy = _error_policy(on_error, max_errors)
    return Submission(
        import_type, spec.name, kind, catalog_id, site_id, user_id, policy, max_errors, dry_run, asked_file_type=kind
    )


def _asset_submission(
    specification: str,
    catalog_id: int,
    site_id: int,
    user_id: int | None,
    on_error: str | None,
    max_errors: int | None,
    dry_run: bool,
) -> Submission:
    """The body of an ASSET import is always a ZIP; as the contract allows, any valid specification names it."""
    if not any(spec.name.lower() == specification.strip().lower() for spec in all_specifications()):
        valid = ", ".join(spec.name for spec in all_specifications())
        raise BadRequest(f"unknown importSpecification '{specification}'; use one of: {valid}")
    policy = _error_policy(on_error, max_errors)
    return Submission(
        ImportType.ASSET, DEFAULT_ASSET.name, FileType.ZIP, catalog_id, site_id, user_id, policy, max_errors, dry_run
    )


def authorise_submission(principal: Principal, import_type: ImportType) -> None:
    if not principal.may_import(import_type.value):
        raise Forbidden(f"account '{principal.username}' may not submit {import_type.value} imports")


def _earlier_job(session: Session, principal: Principal, key: str) -> ImportStatus | None:
    return session.exec(
        select(ImportStatus).where(ImportStatus.account_id == principal.account_id, ImportStatus.idempotency_key == key)
    ).first()


# What an import is, beside its body: an Idempotency-Key reused with any of these changed is another request.
DEFINING = {
    "import_type": "importType", "specification": "importSpecification", "catalog_id": "catalogId",
    "site_id": "siteId", "user_id": "userId", "on_error": "onError", "max_errors": "maxErrors", "dry_run": "dryRun",
}  # fmt: skip
# Recorded as asked or as detected: another request only when this one names them.
READING = {"file_type": "fileType", "encoding": "encoding", "delimiter": "delimiter", "sheet_name": "sheetName"}


def _differences(earlier: ImportStatus, job: ImportStatus, submission: Submission) -> list[str]:
    """The request parameters in which `job` (not yet stored) differs from the import the key named first."""
    named = {
        "file_type": submission.asked_file_type or submission.file_type,
        "encoding": submission.reading.encoding,
        "delimiter": submission.reading.delimiter,
        "sheet_name": submission.reading.sheet_name,
    }
    differing = [wire for name, wire in DEFINING.items() if getattr(earlier, name) != getattr(job, name)]
    differing += [
        wire for name, wire in READING.items() if named[name] and getattr(earlier, name) != getattr(job, name)
    ]
    if submission.to_sandbox != bool(earlier.sandbox_id) or submission.sandbox_id not in (None, earlier.sandbox_id):
        differing.append("importToSandbox/sandboxId")
    return differing


def _same_request(earlier: ImportStatus, job: ImportStatus, submission: Submission) -> ImportStatus:
    if earlier.body_sha256 != job.body_sha256:
        raise IdempotencyMismatch(
            f"Idempotency-Key was already used for import {earlier.id} with a different body; use a new key"
        )
    differing = _differences(earlier, job, submission)
    if differing:
        raise IdempotencyMismatch(
            f"Idempotency-Key was already used for import {earlier.id} with a different {', '.join(differing)}; "
            "use a new key"
        )
    return earlier


BROKER_UNREACHABLE = (
    "waiting for the broker (IMPORTER_BROKER_URL), which could not be reached when the import was queued: "
    "the workers hand it out once it is back, within IMPORTER_LEASE_SECONDS"
)


def not_queued(error: Exception) -> str:
    return (
        f"not queued yet: handing it to the workers failed with {type(error).__name__} (in the service's log as "
        "import.enqueue_failed); the workers' reaper tries again within IMPORTER_LEASE_SECONDS"
    )


def enqueue(runtime: Runtime, job: ImportStatus) -> ImportStatus:
    """Hand a committed job to the workers. A broker that cannot be reached (Redis restarting) loses nothing: the
    job stays START_REQUESTED, saying so, and the workers' reaper hands it out once the broker is back. Any other
    failure (a message that cannot be made) leaves it so too, saying what failed rather than blaming the broker."""
    assert job.id is not None
    try:
        runtime.queue.enqueue_plan(job.id)
    except BrokerError as error:  # kombu's name for every broker it could not reach (refused, unknown host, auth)
        logger.warning(
            "import.enqueue_failed job_id=%s error=%s: left START_REQUESTED for the workers' reaper",
            job.id, type(error).__name__,
        )  # fmt: skip
        return _note_waiting(runtime, job.id, BROKER_UNREACHABLE)
    except Exception as error:
        logger.exception("import.enqueue_failed job_id=%s: left START_REQUESTED for the workers' reaper", job.id)
        return _note_waiting(runtime, job.id, not_queued(error))
    return job


def _note_waiting(runtime: Runtime, job_id: int, message: str) -> ImportStatus:
    with runtime.db.write() as session:
        jobs.note_waiting(session, job_id, message)
        refreshed = session.get(ImportStatus, job_id, populate_existing=True)
    assert refreshed is not None
    return refreshed


def _discard_unrecorded(runtime: Runtime, key: str) -> None:
    """Delete a stored upload that no job refers to, so that a refused submit leaves nothing behind."""
    try:
        with runtime.db.read() as session:
            recorded = session.exec(select(ImportStatus.id).where(ImportStatus.upload_key == key)).first()
        if recorded is None:
            runtime.storage.delete(key)
    except (SQLAlchemyError, OSError):  # the submit's own error is the one to answer; the purge takes the upload
        logger.warning("import.upload_not_discarded key=%s", key, exc_info=True)


def create_job(
    runtime: Runtime,
    principal: Principal,
    submission: Submission,
    upload: Upload,
    idempotency_key: str | None = None,
) -> tuple[ImportStatus, bool]:
    """Record the job, commit, then enqueue its plan. Returns the job and whether it is new.

    A job that is not recorded (a refusal, a database error) takes its stored upload with it."""
    try:
        return _record_job(runtime, principal, submission, upload, idempotency_key)
    except Exception:
        _discard_unrecorded(runtime, upload.key)
        raise


def _record_job(
    runtime: Runtime, principal: Principal, submission: Submission, upload: Upload, idempotency_key: str | None
) -> tuple[ImportStatus, bool]:
    job = new_job(principal, submission, upload, idempotency_key)
    try:
        with runtime.db.write() as session:
            if idempotency_key and (earlier := _earlier_job(session, principal, idempotency_key)):
                return _same_request(earlier, job, submission), False
            hold_running_limit(session, runtime, principal)
            job.sandbox_id = sandbox_for_import(session, principal, submission.to_sandbox, submission.sandbox_id)
            session.add(job)
            session.flush()
            record_event(session, principal, "import.submitted", job.id, job.sandbox_id or None, job.user_id,
                         importType=job.import_type, bytes=upload.size)  # fmt: skip
    except IntegrityError:  # the same key, submitted at the same moment by another request
        with runtime.db.read() as session:
            earlier = _earlier_job(session, principal, idempotency_key or "")
        if earlier is None:
            raise
        return _same_request(earlier, job, submission), False
    logger.info("import.accepted job_id=%s type=%s bytes=%s", job.id, job.import_type, upload.size)
    return enqueue(runtime, job), True


def _known_encoding(submission: Submission, upload: Upload) -> str | None:
    """UTF-8 for a CSV that streamed in as valid UTF-8 (what detection would find, known without reading)."""
    file_type = upload.file_type or submission.file_type or FileType.CSV
    return "utf-8" if upload.is_utf8 and file_type is FileType.CSV else None


def new_job(
    principal: Principal,
    submission: Submission,
    upload: Upload,
    idempotency_key: str | None = None,
    retry_of: int | None = None,
) -> ImportStatus:
    return ImportStatus(
        import_type=submission.import_type.value,
        specification=submission.specification,
        state=ImportState.START_REQUESTED.value,
        file_type=(upload.file_type or submission.file_type or FileType.CSV).value,
        catalog_id=submission.catalog_id,
        site_id=submission.site_id,
        user_id=submission.user_id,
        account_id=principal.account_id,
        submitted_by=principal.username,
        upload_key=upload.key,
        upload_bytes=upload.size,
        body_sha256=upload.sha256,
        on_error=submission.on_error.value,
        max_errors=submission.max_errors,
        dry_run=submission.dry_run,
        idempotency_key=idempotency_key,
        retry_of=retry_of,
        encoding=submission.reading.encoding or _known_encoding(submission, upload),
        delimiter=submission.reading.delimiter,
        sheet_name=submission.reading.sheet_name,
    )
