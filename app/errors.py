"""The exception tree of the service.

    ImporterError
    ├── SettingsError            a setting is malformed (raised at start-up)
    ├── RequestError             a client's request is refused; carries its HTTP status
    │   ├── BadRequest           400: a parameter, import type, specification or fileType is wrong
    │   ├── Unauthorized         401: missing or wrong credentials
    │   ├── Forbidden            403: the account may not do this
    │   ├── NotFound             404: no such job or record (or not visible to this account)
    │   ├── Conflict             409: the job's state does not allow this
    │   ├── UploadTooLarge       413: the body is over IMPORTER_MAX_UPLOAD_BYTES
    │   ├── BodyTooLarge         413: a JSON body (not an upload) is over its small fixed limit
    │   ├── UnsupportedMediaType 415: the body's bytes contradict the declared fileType
    │   ├── IdempotencyMismatch  422: an Idempotency-Key reused with another body
    │   ├── TooManyRequests      429: a limit was reached; carries the seconds to wait (Retry-After)
    │   ├── ServiceStopping      503: the service stopped while the request ran; send it again (Retry-After)
    │   └── InsufficientStorage  507: what was sent could not be stored (a disk full, the uploads folder gone)
    ├── AccountError             `importer users ...` was given something it cannot do
    ├── SpecificationNotInstalled  a worker has no specification file the API accepted the import by
    ├── JobNotInDatabase         a worker was handed a job its database does not hold: not the API's database
    ├── UploadMissing            an upload is not in the storage this process reads (also a FileNotFoundError)
    ├── WaitsForEarlierImport    an import's rows name records an earlier import, not finished yet, writes
    └── ImportFailed             the import cannot go on; its message is shown on the job
        └── UnreadableFile       damage found while reading the upload

Problems with single rows are not exceptions: they are `ValidationProblem` values, stored and shown.
"""

from __future__ import annotations


class ImporterError(Exception):
    """Base of every error the service raises on purpose."""


class SettingsError(ImporterError):
    pass


class RequestError(ImporterError):
    status_code = 400

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail

    @property
    def name(self) -> str:
        return type(self).__name__


class BadRequest(RequestError):
    status_code = 400


class Unauthorized(RequestError):
    status_code = 401


class Forbidden(RequestError):
    status_code = 403


class NotFound(RequestError):
    status_code = 404


class Conflict(RequestError):
    status_code = 409


class UploadTooLarge(RequestError):
    status_code = 413


class BodyTooLarge(RequestError):
    status_code = 413


class UnsupportedMediaType(RequestError):
    status_code = 415


class IdempotencyMismatch(RequestError):
    status_code = 422


class TooManyRequests(RequestError):
    """A limit (failed logins, request rate, running imports) was reached; try again in `retry_after` seconds."""

    status_code = 429

    def __init__(self, detail: str, retry_after: int) -> None:
        super().__init__(detail)
        self.retry_after = max(1, retry_after)


class ServiceStopping(RequestError):
    """The service is stopping and cut the request short (an upload still arriving); nothing of it was kept."""

    status_code = 503
    retry_after = 10


class InsufficientStorage(RequestError):
    """What a request sent could not be stored (the disk of the uploads folder or of the database full, the uploads
    folder gone or not writable); nothing of it was kept. Not the request's fault: the same request succeeds once
    there is room, or once the operator has seen to the folder."""

    status_code = 507
    retry_after = 60


class AccountError(ImporterError):
    pass


class SpecificationNotInstalled(ImporterError):
    """A worker knows no specification of the job's name: its IMPORTER_SPECIFICATIONS_DIR is not the API's, or
    it was started before the file was added. The deployment's fault, not the file's; str(error) says what to fix."""

    def __init__(self, specification: str, folder: object) -> None:
        super().__init__(
            f"the worker that took this import has no specification '{specification}' (its "
            f"IMPORTER_SPECIFICATIONS_DIR is {folder or 'unset'}): every worker needs the API's specification files, "
            "and a restart once a file is added. Nothing was written; retry the import once the workers have it"
        )
        self.specification = specification


class JobNotInDatabase(ImporterError):
    """A task names a job the worker's database does not hold. Jobs are never deleted and are queued only once
    committed, so the worker reads another database than the API that queued it (its IMPORTER_DATABASE_URL)."""

    def __init__(self, job_id: int) -> None:
        super().__init__(f"job {job_id} is not in this worker's database")
        self.job_id = job_id


class UploadMissing(ImporterError, FileNotFoundError):
    """No upload of this key where this process reads uploads: purged after IMPORTER_UPLOAD_RETENTION_HOURS, or
    stored by an API on another machine in a local folder (IMPORTER_UPLOAD_STORAGE=local) this process cannot see."""

    def __init__(self, key: str) -> None:
        super().__init__(f"no upload {key}")
        self.key = key


class WaitsForEarlierImport(ImporterError):
    """A job's plan waits: an import submitted before it, not finished yet, writes records its rows name."""

    def __init__(self, job_id: int, earlier_id: int) -> None:
        super().__init__(f"import {job_id} waits for import {earlier_id}")
        self.job_id = job_id
        self.earlier_id = earlier_id


class ImportFailed(ImporterError):
    """The whole import stops; str(error) is the message a user reads on the job."""


class UnreadableFile(ImportFailed):
    pass
