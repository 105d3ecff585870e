"""A worker started with other settings than the API's says which, and never acks a task silently."""

from __future__ import annotations

import logging
from dataclasses import replace
from pathlib import Path

import pytest
from celery.exceptions import Retry
from sqlalchemy.exc import OperationalError

from app.db import Database
from app.importing import pipeline
from app.jobs import ImportState
from app.runtime import Runtime
from app.storage import LocalUploadStorage
from tests.factories import make_csv, product_row
from tests.integration.pipeline_driver import Delivery, WorkerOf, drain, job, make_principal, make_runtime, submit
from workers.tasks import MAX_RETRIES, run_step


@pytest.fixture
def stray_worker_database(tmp_path: Path) -> Database:
    """The database of a worker started without the API's IMPORTER_DATABASE_URL: the embedded default's SQLite."""
    db = Database(f"sqlite:///{tmp_path / 'stray' / 'importer.db'}")
    (tmp_path / "stray").mkdir()
    db.create_schema()
    return db


def test_a_worker_on_another_database_logs_which_and_hands_the_plan_back_for_a_worker_of_the_apis(
    database: Database, stray_worker_database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    job_id = submit(runtime, make_principal(database), make_csv([product_row("SKU-1")]))
    stray, _ = make_runtime(stray_worker_database, tmp_path / "stray")
    delivery = Delivery()

    with caplog.at_level(logging.ERROR), pytest.raises(Retry):
        run_step(delivery.task, WorkerOf(stray), job_id, lambda worker: pipeline.plan(worker, job_id))

    assert delivery.retried_in == [1]
    assert f"import.job_not_in_database job_id={job_id} database=sqlite:///{tmp_path}/stray/importer.db" in caplog.text
    assert "is its IMPORTER_DATABASE_URL the API's?" in caplog.text
    drain(runtime, queue)  # the worker on the API's database takes it
    assert job(runtime, job_id).state == ImportState.COMPLETED


def test_a_worker_on_another_database_hands_a_sheets_second_half_back_too(
    database: Database, stray_worker_database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    job_id = submit(runtime, make_principal(database), make_csv([product_row("SKU-1")]))
    stray, _ = make_runtime(stray_worker_database, tmp_path / "stray")
    delivery = Delivery()

    with caplog.at_level(logging.ERROR), pytest.raises(Retry):
        run_step(delivery.task, WorkerOf(stray), job_id, lambda worker: pipeline.read_sheet_piece(worker, job_id))

    assert delivery.retried_in == [1]
    assert f"import.job_not_in_database job_id={job_id}" in caplog.text


def test_a_worker_on_another_database_gives_a_chunk_up_after_its_retries_saying_so(
    database: Database, stray_worker_database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    job_id = submit(runtime, make_principal(database), make_csv([product_row("SKU-1")]))
    stray, _ = make_runtime(stray_worker_database, tmp_path / "stray")
    last = Delivery(retries=MAX_RETRIES, importer_handed_back=MAX_RETRIES)

    with caplog.at_level(logging.ERROR):
        run_step(last.task, WorkerOf(stray), job_id, lambda worker: pipeline.run_chunk(worker, job_id, 0))

    assert last.retried_in == []
    assert f"import.job_not_in_database job_id={job_id}" in caplog.text
    assert "giving the task up" in caplog.text
    assert job(runtime, job_id).state == ImportState.START_REQUESTED  # the reaper of the API's workers hands it out


def database_restarting(runtime: Runtime) -> None:
    """A step as it goes when the database restarts under it."""
    raise OperationalError("SELECT 1", {}, Exception("server closed the connection unexpectedly"))


def test_a_task_handed_back_by_other_workers_still_has_its_database_retries_on_a_worker_of_the_apis(
    database: Database, tmp_path: Path
) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    job_id = submit(runtime, make_principal(database), make_csv([product_row("SKU-1")]))
    handed_back = Delivery(retries=MAX_RETRIES, importer_handed_back=MAX_RETRIES)

    with pytest.raises(Retry):
        run_step(handed_back.task, WorkerOf(runtime), job_id, database_restarting)

    assert handed_back.retried_with == [{"importer_handed_back": str(MAX_RETRIES), "importer_database_failures": "1"}]
    assert job(runtime, job_id).state == ImportState.START_REQUESTED  # tried again, not failed


def test_a_task_retried_for_the_database_is_still_handed_back_by_a_worker_on_another_database(
    database: Database, stray_worker_database: Database, tmp_path: Path
) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    job_id = submit(runtime, make_principal(database), make_csv([product_row("SKU-1")]))
    stray, _ = make_runtime(stray_worker_database, tmp_path / "stray")
    retried = Delivery(retries=MAX_RETRIES, importer_database_failures=MAX_RETRIES)  # each time the database failed

    with pytest.raises(Retry):
        run_step(retried.task, WorkerOf(stray), job_id, lambda worker: pipeline.plan(worker, job_id))

    assert retried.retried_with == [{"importer_handed_back": "1", "importer_database_failures": str(MAX_RETRIES)}]


def test_a_task_whose_database_fails_every_time_fails_the_import_saying_so(database: Database, tmp_path: Path) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    job_id = submit(runtime, make_principal(database), make_csv([product_row("SKU-1")]))
    last = Delivery(retries=MAX_RETRIES + 2, importer_handed_back=2, importer_database_failures=MAX_RETRIES)

    run_step(last.task, WorkerOf(runtime), job_id, database_restarting)

    failed = job(runtime, job_id)
    assert (failed.state, failed.message) == (
        ImportState.FAILED,
        f"the database failed {MAX_RETRIES + 1} times while importing; giving up",
    )


def test_a_worker_on_another_machine_than_a_local_upload_folder_fails_the_import_naming_the_setting(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    job_id = submit(runtime, make_principal(database), make_csv([product_row("SKU-1")]))
    elsewhere = tmp_path / "other-machine"
    settings = replace(runtime.settings, upload_storage="local", data_dir=elsewhere)
    worker = replace(runtime, settings=settings, storage=LocalUploadStorage(settings.uploads_dir))

    with caplog.at_level(logging.ERROR):
        run_step(Delivery().task, WorkerOf(worker), job_id, lambda it: pipeline.plan(it, job_id))

    failed = job(runtime, job_id)
    assert failed.state == ImportState.FAILED
    assert failed.message == (
        f"the upload of this import is not in the folder {elsewhere}/uploads, where this worker reads uploads: with "
        "IMPORTER_UPLOAD_STORAGE=local the API and every worker need that same folder (on several machines, set "
        "IMPORTER_UPLOAD_STORAGE=database everywhere), and an upload is kept IMPORTER_UPLOAD_RETENTION_HOURS. "
        "Nothing was written"
    )
    assert f"import.upload_missing job_id={job_id}" in caplog.text
