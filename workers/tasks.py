"""Thin named tasks: each takes ids, calls one pipeline function, and fails the job on a lasting error."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from celery import Celery, Task
from celery.exceptions import Retry
from celery.signals import worker_process_init
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError, OperationalError

from app import jobs
from app.errors import ImportFailed, JobNotInDatabase, SpecificationNotInstalled, UploadMissing, WaitsForEarlierImport
from app.full_disk import full_disk_reason
from app.heap import freeze_startup_heap
from app.importing import pipeline, reaper
from app.runtime import Runtime
from workers.celery_app import CHUNK_TASK, PIECE_TASK, PLAN_TASK, REAP_TASK, RuntimeHolder

logger = logging.getLogger(__name__)

MAX_RETRIES = 5  # of each kind: a task's database retries, and its hand-backs by workers on another database
# What a task was sent again for, counted in headers of its message: Celery's count of retries holds every kind,
# and hand-backs by misconfigured workers must not use up the retries a database restart needs (nor the reverse).
HANDED_BACK = "importer_handed_back"
DATABASE_FAILURES = "importer_database_failures"
ANY_RETRIES = 1_000_000  # Celery's own bound on a task's retries: the counts above are what bound them
WAIT_SECONDS = 2  # how often a plan waiting for an earlier import looks again
INTERNAL_ERROR = "an internal error stopped this import; the worker log has the details (job {job_id})"
DISK_FULL = (
    "the disk is full ({reason}) where the workers write (IMPORTER_DATA_DIR, or the database's disk): nothing was "
    "written; free some space, then retry the import"
)


def _fail(runtime: Runtime, job_id: int, message: str) -> None:
    with runtime.db.write() as session:
        jobs.fail(session, job_id, message)


def _count(task: Task[Any, Any], header: str) -> int:
    return int(getattr(task.request, header, 0) or 0)


def _again(task: Task[Any, Any], countdown: float, error: Exception, **counts: int) -> Retry:
    """The task sent again in `countdown` seconds, its counts carried over (`counts` sets some anew)."""
    headers = {header: str(_count(task, header)) for header in (HANDED_BACK, DATABASE_FAILURES)}
    headers |= {header: str(value) for header, value in counts.items()}
    return task.retry(countdown=countdown, headers=headers, max_retries=ANY_RETRIES, exc=error)


def _hand_back(task: Task[Any, Any], runtime: Runtime, error: JobNotInDatabase) -> None:
    """Give a job this worker cannot see back to the queue, so that a worker on the API's database takes it;
    after a few tries leave it to their reaper, which hands out a job without progress after a lease."""
    shown = make_url(runtime.settings.database_url).render_as_string(hide_password=True)
    handed_back = _count(task, HANDED_BACK)
    then = "giving the task up" if handed_back >= MAX_RETRIES else "handing the task back"
    logger.error(
        "import.job_not_in_database job_id=%s database=%s: this worker reads another database than the API that "
        "queued the job (is its IMPORTER_DATABASE_URL the API's?); %s",
        error.job_id, shown, then,
    )  # fmt: skip
    if handed_back < MAX_RETRIES:
        raise _again(task, min(2**handed_back, 30), error, **{HANDED_BACK: handed_back + 1}) from error


def _retry_database(task: Task[Any, Any], runtime: Runtime, job_id: int, error: Exception) -> None:
    """Try the step again after a database error, up to MAX_RETRIES times (other retries are not counted); a
    database whose disk is full through every retry fails the import saying so."""
    failures, full = _count(task, DATABASE_FAILURES), full_disk_reason(error)
    if failures >= MAX_RETRIES:
        logger.exception("import.database_gave_up job_id=%s", job_id)
        gave_up = f"the database failed {MAX_RETRIES + 1} times while importing; giving up"
        _fail(runtime, job_id, DISK_FULL.format(reason=full) if full else gave_up)
        return
    shown = type(error).__name__ if full is None else f"{type(error).__name__} ({full})"
    logger.warning("import.database_retry job_id=%s error=%s", job_id, shown)
    raise _again(task, min(2**failures, 30), error, **{DATABASE_FAILURES: failures + 1}) from error


def _upload_missing(runtime: Runtime, job_id: int, error: UploadMissing) -> str:
    """Log where this worker looked for the job's upload; the message the job is failed with."""
    settings = runtime.settings
    where = f"the folder {settings.uploads_dir}" if settings.upload_storage == "local" else "the database"
    logger.error(
        "import.upload_missing job_id=%s key=%s storage=%s: not in %s",
        job_id, error.key, settings.upload_storage, where,
    )  # fmt: skip
    return (
        f"the upload of this import is not in {where}, where this worker reads uploads: with "
        "IMPORTER_UPLOAD_STORAGE=local the API and every worker need that same folder (on several machines, set "
        "IMPORTER_UPLOAD_STORAGE=database everywhere), and an upload is kept IMPORTER_UPLOAD_RETENTION_HOURS. "
        "Nothing was written"
    )


def run_step(task: Task[Any, Any], holder: RuntimeHolder, job_id: int, step: Callable[[Runtime], None]) -> None:
    """Run one pipeline step; database outages are retried, anything else fails the job with a message."""
    runtime = holder.get()
    try:
        step(runtime)
    except BrokerError as error:
        # The step's own writes are committed; what it could not enqueue, the reaper hands out later.
        logger.warning("import.broker_unavailable job_id=%s error=%s", job_id, error)
    except JobNotInDatabase as error:
        _hand_back(task, runtime, error)
    except WaitsForEarlierImport as error:
        logger.info("import.waiting job_id=%s for_import=%s", job_id, error.earlier_id)
        raise _again(task, WAIT_SECONDS, error) from error  # a wait counts as no retry of either kind
    except UploadMissing as error:
        _fail(runtime, job_id, _upload_missing(runtime, job_id, error))
    except SpecificationNotInstalled as error:
        logger.error(
            "import.specification_not_installed job_id=%s specification=%r specifications_dir=%s",
            job_id, error.specification, runtime.settings.specifications_dir,
        )  # fmt: skip
        _fail(runtime, job_id, str(error))
    except ImportFailed as error:
        logger.info("import.failed job_id=%s reason=%s", job_id, error)
        _fail(runtime, job_id, f"Error in the uploaded file: {error}")
    except (OperationalError, DBAPIError) as error:
        _retry_database(task, runtime, job_id, error)
    except Exception as error:
        full = full_disk_reason(error)
        if full is None:
            logger.exception("import.internal_error job_id=%s", job_id)
            _fail(runtime, job_id, INTERNAL_ERROR.format(job_id=job_id))
            return
        logger.error("import.disk_full job_id=%s reason=%s", job_id, error)
        _fail(runtime, job_id, DISK_FULL.format(reason=full))


def register_tasks(app: Celery, holder: RuntimeHolder) -> None:
    @worker_process_init.connect(weak=False)
    def _after_fork(**_: Any) -> None:
        holder.reset()
        # The chunk step's columnar reader, with polars and the threads polars starts: imported here, in
        # the process that runs chunks, after the fork, instead of by the first chunk of the first import.
        import app.importing.clean_chunks  # noqa: F401

        freeze_startup_heap()

    @app.task(name=PLAN_TASK, bind=True, max_retries=ANY_RETRIES)
    def plan_task(self: Task[Any, Any], job_id: int) -> None:
        run_step(self, holder, job_id, lambda runtime: pipeline.plan(runtime, job_id))

    @app.task(name=CHUNK_TASK, bind=True, max_retries=ANY_RETRIES)
    def chunk_task(self: Task[Any, Any], job_id: int, chunk_no: int) -> None:
        run_step(self, holder, job_id, lambda runtime: pipeline.run_chunk(runtime, job_id, chunk_no))

    @app.task(name=PIECE_TASK, bind=True, max_retries=ANY_RETRIES)
    def piece_task(self: Task[Any, Any], job_id: int) -> None:
        run_step(self, holder, job_id, lambda runtime: pipeline.read_sheet_piece(runtime, job_id))

    @app.task(name=REAP_TASK)
    def reap_task() -> None:
        reaper.reap(holder.get())
