"""Runs the pipeline's steps in-process against a real database, one queued step at a time.

Integration tests exercise plan/chunk/finalize as plain functions on SQLite and PostgreSQL;
the end-to-end tests run the same steps in real Celery worker processes.
"""

from __future__ import annotations

import hashlib
from collections import deque
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, cast

from celery import Celery, Task
from celery.exceptions import Retry
from sqlmodel import col, select

from app.accounts import Principal, Role, add_account, principal_of
from app.db import Database
from app.errors import WaitsForEarlierImport
from app.importing import pipeline
from app.importing.formats import FileType
from app.importing.planning import ReadOptions
from app.jobs import ImportStatus, OnError
from app.runtime import Runtime
from app.service import Submission, Upload, create_job
from app.settings import Settings
from app.storage import (
    UPLOAD_PREFIX,
    DatabaseUploadStorage,
    LocalUploadStorage,
    StoredUpload,
    UploadBlock,
    UploadStorage,
    new_upload_key,
)
from specifications import ImportType, specifications_for
from workers.celery_app import RuntimeHolder


@dataclass
class RecordingQueue:
    """A JobQueue that keeps what was enqueued until the test runs it."""

    steps: deque[tuple[str, tuple[int, ...]]] = field(default_factory=deque)

    def enqueue_plan(self, job_id: int) -> None:
        self.steps.append(("plan", (job_id,)))

    def enqueue_chunk(self, job_id: int, chunk_no: int) -> None:
        self.steps.append(("chunk", (job_id, chunk_no)))

    def enqueue_piece(self, job_id: int) -> None:
        self.steps.append(("piece", (job_id,)))


def make_runtime(db: Database, tmp_path: Path, chunk_rows: int = 2) -> tuple[Runtime, RecordingQueue]:
    settings = replace(Settings.from_env({"IMPORTER_DATA_DIR": str(tmp_path)}), chunk_rows=chunk_rows)
    storage: UploadStorage
    assets: UploadStorage
    if db.is_postgresql:
        storage = assets = DatabaseUploadStorage(db, block_bytes=4096)
    else:
        storage = LocalUploadStorage(tmp_path / "uploads")
        assets = LocalUploadStorage(tmp_path / "assets")
    queue = RecordingQueue()
    return Runtime(settings, db, storage, queue, assets), queue


def make_principal(db: Database, name: str = "ops", role: Role = Role.ADMIN) -> Principal:
    with db.write() as session:
        return principal_of(add_account(session, name, "password-123", role))


def store(runtime: Runtime, body: bytes) -> tuple[str, int]:
    key = new_upload_key()
    writer = runtime.storage.create(key)
    writer.write(body)
    return key, writer.close()


def stored_uploads(runtime: Runtime) -> set[str]:
    """Every upload the storage holds, whole or in part: files in its folder, or uploads and blocks in the database."""
    if isinstance(runtime.storage, LocalUploadStorage):
        return {path.name for path in runtime.storage.folder.iterdir()}
    with runtime.db.read() as session:
        uploads = session.exec(select(StoredUpload.key).where(col(StoredUpload.key).startswith(UPLOAD_PREFIX))).all()
        blocks = session.exec(select(UploadBlock.key).where(col(UploadBlock.key).startswith(UPLOAD_PREFIX))).all()
    return set(uploads) | set(blocks)


def submit(
    runtime: Runtime,
    principal: Principal,
    body: bytes,
    file_type: FileType = FileType.CSV,
    catalog_id: int = -2,
    site_id: int = -3,
    on_error: OnError = OnError.ABORT,
    max_errors: int | None = None,
    dry_run: bool = False,
    import_type: ImportType = ImportType.PRODUCT,
    reading: ReadOptions | None = None,
    specification: str | None = None,
    to_sandbox: bool = False,
    sandbox_id: int | None = None,
    idempotency_key: str | None = None,
) -> int:
    key, size = store(runtime, body)
    spec = specification or specifications_for(import_type)[0].name
    submission = Submission(
        import_type, spec, file_type, catalog_id, site_id, -2, on_error, max_errors, dry_run, reading or ReadOptions(),
        to_sandbox, sandbox_id,
    )  # fmt: skip
    upload = Upload(key, size, hashlib.sha256(body).hexdigest())
    job, _ = create_job(runtime, principal, submission, upload, idempotency_key)
    assert job.id is not None
    return job.id


def drain(runtime: Runtime, queue: RecordingQueue) -> int:
    """Run every queued step (and the steps they queue); returns how many ran."""
    ran = waiting = 0
    while queue.steps:
        name, args = queue.steps.popleft()
        if name == "plan":
            try:
                pipeline.plan(runtime, *args)
            except WaitsForEarlierImport as error:  # as a worker's task does: the plan is queued again
                queue.steps.append((name, args))
                waiting += 1
                if waiting > len(queue.steps):
                    raise AssertionError(f"import {error.job_id} waits for one no step in the queue finishes") from None
                continue
        elif name == "piece":
            pipeline.read_sheet_piece(runtime, *args)
        else:
            pipeline.run_chunk(runtime, *args)
        ran += 1
        waiting = 0
    return ran


def job(runtime: Runtime, job_id: int) -> ImportStatus:
    with runtime.db.read() as session:
        found = session.get(ImportStatus, job_id)
    assert found is not None
    return found


class WorkerOf(RuntimeHolder):
    """A worker process's holder of the runtime, handed one already built (its settings may not be the API's)."""

    def __init__(self, runtime: Runtime) -> None:
        super().__init__(runtime.settings, Celery(set_as_current=False))
        self._built = runtime

    def get(self) -> Runtime:
        return self._built


@dataclass
class Delivery:
    """One delivery of a task to `workers.tasks.run_step`: how many times it was retried (of which how many times
    a worker handed it back, and how many the database failed, headers of its message), and the countdown and
    headers of the retry it asked for."""

    retries: int = 0
    importer_handed_back: int | str = 0
    importer_database_failures: int | str = 0
    retried_in: list[int] = field(default_factory=list)
    retried_with: list[dict[str, Any]] = field(default_factory=list)

    @property
    def request(self) -> Delivery:
        return self

    def retry(
        self, countdown: int, headers: dict[str, Any] | None = None, max_retries: int | None = None, exc: object = None
    ) -> Retry:
        self.retried_in.append(countdown)
        self.retried_with.append(headers or {})
        return Retry(f"retry in {countdown} s")

    @property
    def task(self) -> Task[Any, Any]:
        return cast("Task[Any, Any]", self)
