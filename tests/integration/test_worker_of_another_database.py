"""A worker whose IMPORTER_DATABASE_URL is not the API's says so and hands its tasks back, never acks them silently."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from celery.exceptions import Retry

from app.db import Database
from app.importing import pipeline
from app.jobs import ImportState
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


def test_a_worker_on_another_database_gives_a_chunk_up_after_its_retries_saying_so(
    database: Database, stray_worker_database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    job_id = submit(runtime, make_principal(database), make_csv([product_row("SKU-1")]))
    stray, _ = make_runtime(stray_worker_database, tmp_path / "stray")
    last = Delivery(retries=MAX_RETRIES)

    with caplog.at_level(logging.ERROR):
        run_step(last.task, WorkerOf(stray), job_id, lambda worker: pipeline.run_chunk(worker, job_id, 0))

    assert last.retried_in == []
    assert f"import.job_not_in_database job_id={job_id}" in caplog.text
    assert "giving the task up" in caplog.text
    assert job(runtime, job_id).state == ImportState.START_REQUESTED  # the reaper of the API's workers hands it out
