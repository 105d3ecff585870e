"""The disk fills up: an upload arriving while the uploads folder has no room left, or while the database has
none, is refused saying the storage is full (507), and nothing of it is kept. Never a 500. An import a worker
cannot write for a full disk fails saying so."""

from __future__ import annotations

import errno
import logging
import os
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event

from app.db import Database
from app.importing import pipeline
from app.importing.formats import FileType
from app.jobs import ImportState
from app.main import create_app
from app.storage import LocalUploadStorage, UploadWriter
from tests.factories import make_csv, make_xlsx, product_row
from tests.integration.in_process_api import HEADER, PRODUCTS, SUBMIT, deployed, jobs, post
from tests.integration.pipeline_driver import (
    Delivery,
    WorkerOf,
    job,
    make_principal,
    make_runtime,
    stored_uploads,
    submit,
)
from workers.tasks import MAX_RETRIES, run_step


@pytest.fixture
def sqlite_db(tmp_path: Path) -> Iterator[Database]:
    """The embedded default's database, a SQLite file."""
    db = Database(f"sqlite:///{tmp_path / 'importer.db'}")
    db.create_schema()
    yield db
    db.dispose()


class _WriterOnAFullDisk:
    """Writes to a real file until `room` bytes are used, then answers as a full disk does."""

    def __init__(self, writer: UploadWriter, room: int) -> None:
        self._writer = writer
        self._room = room

    def write(self, data: bytes) -> None:
        if len(data) > self._room:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        self._room -= len(data)
        self._writer.write(data)

    def readable(self) -> int:
        return self._writer.readable()

    def close(self) -> int:
        return self._writer.close()

    def discard(self) -> None:
        self._writer.discard()


class FullFolder(LocalUploadStorage):
    """An uploads folder on a disk with `room` bytes left."""

    def __init__(self, folder: Path, room: int) -> None:
        super().__init__(folder)
        self.room = room

    def create(self, key: str) -> UploadWriter:
        return _WriterOnAFullDisk(super().create(key), self.room)


def test_an_upload_that_fills_the_uploads_folder_gets_507_and_nothing_is_kept(
    sqlite_db: Database, tmp_path: Path
) -> None:
    runtime, _, _ = deployed(sqlite_db, tmp_path)
    runtime = replace(runtime, storage=FullFolder(tmp_path / "uploads", room=100_000))
    large = make_csv([[f"F{n}", "t", "d", "1"] for n in range(20_000)], header=HEADER)

    answer = post(create_app(runtime), SUBMIT, content=large)

    assert answer.status_code == 507, answer.text
    assert answer.json() == {
        "error": "InsufficientStorage",
        "detail": "the service's disk is full (No space left on device), so nothing of this request was kept: "
        "free some space where the service keeps its files (IMPORTER_DATA_DIR, or the database's disk), then "
        "send it again",
    }
    assert "Retry-After" in answer.headers
    assert jobs(runtime) == []
    assert stored_uploads(runtime) == set()


def _with_no_room_to_grow(db: Database) -> None:
    """Every connection of the database may use no page beyond those it has: SQLite's own 'database or disk is
    full', as when the disk holding it has no room left."""

    @event.listens_for(db.engine, "connect")
    def no_more_pages(dbapi_connection: Any, _record: object) -> None:
        cursor = dbapi_connection.cursor()
        pages = cursor.execute("PRAGMA page_count").fetchone()[0]
        cursor.execute(f"PRAGMA max_page_count = {pages}")
        cursor.close()

    db.engine.dispose()


def test_a_submit_the_full_database_cannot_record_gets_507_and_its_upload_is_not_kept(
    sqlite_db: Database, tmp_path: Path
) -> None:
    runtime, _, _ = deployed(sqlite_db, tmp_path)
    runtime = replace(runtime, settings=replace(runtime.settings, max_running_imports=0))
    app = create_app(runtime)
    _with_no_room_to_grow(runtime.db)

    answers = [post(app, SUBMIT, content=PRODUCTS) for _ in range(40)]

    statuses = [answer.status_code for answer in answers]
    assert set(statuses) == {200, 507}, statuses
    refused = next(answer for answer in answers if answer.status_code == 507)
    assert refused.json()["error"] == "InsufficientStorage"
    assert refused.json()["detail"].startswith("the service's disk is full (database or disk is full)")
    recorded = {job.upload_key for job in jobs(runtime)}
    assert len(recorded) == statuses.count(200)
    assert stored_uploads(runtime) == recorded


def test_an_import_whose_worker_finds_the_disk_full_fails_saying_so_and_can_be_retried(
    sqlite_db: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A spreadsheet's rows are written beside its upload as the plan reads them: the disk fills up meanwhile.
    runtime, _ = make_runtime(sqlite_db, tmp_path)
    job_id = submit(runtime, make_principal(sqlite_db), make_xlsx([product_row("1")]), file_type=FileType.XLSX)
    worker = replace(runtime, storage=FullFolder(tmp_path / "uploads", room=0))

    with caplog.at_level(logging.ERROR):
        run_step(Delivery().task, WorkerOf(worker), job_id, lambda it: pipeline.plan(it, job_id))

    failed = job(runtime, job_id)
    assert failed.state == ImportState.FAILED
    assert failed.message == (
        "the disk is full (No space left on device) where the workers write (IMPORTER_DATA_DIR, or the database's "
        "disk): nothing was written; free some space, then retry the import"
    )
    assert f"import.disk_full job_id={job_id}" in caplog.text


def test_an_import_whose_database_stays_full_through_its_retries_fails_saying_the_disk_is_full(
    sqlite_db: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(sqlite_db, tmp_path, chunk_rows=1000)
    job_id = submit(runtime, make_principal(sqlite_db), make_csv([product_row(str(n)) for n in range(500)]))
    queue.steps.clear()
    pipeline.plan(runtime, job_id)
    _with_no_room_to_grow(runtime.db)
    last = Delivery(retries=MAX_RETRIES, importer_database_failures=MAX_RETRIES)

    run_step(last.task, WorkerOf(runtime), job_id, lambda it: pipeline.run_chunk(it, job_id, 0))

    failed = job(runtime, job_id)
    assert failed.state == ImportState.FAILED
    assert failed.message == (
        "the disk is full (database or disk is full) where the workers write (IMPORTER_DATA_DIR, or the database's "
        "disk): nothing was written; free some space, then retry the import"
    )
