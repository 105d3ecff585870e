"""The reaper hands out again work whose message was lost, and gives up after a retry cap."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import cast

import pytest
from kombu.exceptions import EncodeError
from kombu.exceptions import OperationalError as BrokerError
from sqlalchemy import func, select, update
from sqlmodel import col

from app import jobs
from app.accounts import Principal
from app.api.rendering import render_status
from app.db import Database
from app.importing import pipeline, reaper
from app.importing.formats import FileType
from app.importing.writers.registry import WRITERS
from app.jobs import ImportState, ImportStatus, utcnow
from app.runtime import Runtime
from app.service import job_status
from specifications import ImportType
from tests.factories import make_csv, make_xlsx, product_row
from tests.integration.pipeline_driver import (
    RecordingQueue,
    drain,
    job,
    make_principal,
    make_runtime,
    stored_uploads,
    submit,
)

PRODUCT_STAGING = WRITERS[ImportType.PRODUCT].staging


def age(runtime: Runtime, job_id: int, seconds: float) -> None:
    with runtime.db.write() as session:
        session.execute(
            update(ImportStatus)
            .where(col(ImportStatus.id) == job_id)
            .values(updated_at=utcnow() - timedelta(seconds=seconds))
        )


def staged_rows(runtime: Runtime, job_id: int) -> int:
    with runtime.db.read() as session:
        count = select(func.count()).select_from(PRODUCT_STAGING).where(PRODUCT_STAGING.c.job_id == job_id)
        return int(session.execute(count).scalar_one())


def start_with_one_chunk_done(runtime: Runtime, principal: Principal, queue: RecordingQueue, rows: int) -> int:
    job_id = submit(runtime, principal, make_csv([product_row(str(n)) for n in range(rows)]))
    steps = queue.steps
    _, args = steps.popleft()
    pipeline.plan(runtime, *args)
    _, first = steps.popleft()
    pipeline.run_chunk(runtime, *first)
    return job_id


def test_a_job_whose_plan_message_was_lost_is_planned_again(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    job_id = submit(runtime, make_principal(database), make_csv([product_row("1"), product_row("2")]))
    queue.steps.clear()  # the broker lost the message
    age(runtime, job_id, 600)

    assert reaper.reap(runtime) == 1
    drain(runtime, queue)

    done = job(runtime, job_id)
    # handed out again, but no worker had taken it: no attempt counts against the cap
    assert (done.state, done.records_created, done.plan_attempts) == (ImportState.COMPLETED, 2, 0)


class BrokerRestarting(RecordingQueue):
    """A queue whose broker cannot be reached until it is back."""

    back = False

    def enqueue_plan(self, job_id: int) -> None:
        if not self.back:
            raise BrokerError("Error 111 connecting to redis:6379. Connection refused.")
        super().enqueue_plan(job_id)


def test_an_import_submitted_while_the_broker_restarts_waits_saying_so_and_runs_once_it_is_back(
    database: Database, tmp_path: Path
) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    queue = BrokerRestarting()
    runtime = replace(runtime, queue=queue)
    principal = make_principal(database)

    job_id = submit(runtime, principal, make_csv([product_row("1"), product_row("2")]))

    waiting = render_status(job_status(runtime, principal, job_id))
    assert waiting["status"] == "START_REQUESTED"
    assert {"type": "message", "description": (
        "waiting for the broker (IMPORTER_BROKER_URL), which could not be reached when the import was queued: "
        "the workers hand it out once it is back, within IMPORTER_LEASE_SECONDS"
    )} in cast("list[dict[str, str]]", waiting["details"])  # fmt: skip

    queue.back = True
    age(runtime, job_id, 600)
    assert reaper.reap(runtime) == 1
    drain(runtime, queue)

    done = render_status(job_status(runtime, principal, job_id))
    assert (done["status"], done["recordsCreated"]) == ("COMPLETED", 2)
    assert not [detail for detail in cast("list[dict[str, str]]", done["details"]) if detail["type"] == "message"]


class MessageNotMade(RecordingQueue):
    """A queue that cannot make the message (a serializer that refuses it): the broker is not in question."""

    def enqueue_plan(self, job_id: int) -> None:
        raise EncodeError("Object of type bytes is not JSON serializable")


def test_an_import_that_could_not_be_queued_for_another_reason_than_the_broker_does_not_blame_the_broker(
    database: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    runtime = replace(runtime, queue=MessageNotMade())
    principal = make_principal(database)

    with caplog.at_level(logging.ERROR):
        job_id = submit(runtime, principal, make_csv([product_row("1")]))

    waiting = render_status(job_status(runtime, principal, job_id))
    assert waiting["status"] == "START_REQUESTED"
    assert {"type": "message", "description": (
        "not queued yet: handing it to the workers failed with EncodeError (in the service's log as "
        "import.enqueue_failed); the workers' reaper tries again within IMPORTER_LEASE_SECONDS"
    )} in cast("list[dict[str, str]]", waiting["details"])  # fmt: skip
    assert f"import.enqueue_failed job_id={job_id}" in caplog.text
    assert "Object of type bytes is not JSON serializable" in caplog.text  # the traceback, for whoever fixes it


def test_chunks_lost_mid_import_are_handed_out_again_and_written_once(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=1)
    job_id = submit(runtime, make_principal(database), make_csv([product_row(str(n)) for n in range(4)]))
    _, args = queue.steps.popleft()
    pipeline.plan(runtime, *args)
    _, first = queue.steps.popleft()
    pipeline.run_chunk(runtime, *first)
    queue.steps.clear()  # a worker died holding the rest
    age(runtime, job_id, 600)

    reaper.reap(runtime)
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.processed_records) == (ImportState.COMPLETED, 4, 4)


def test_a_job_past_the_retry_cap_fails_with_a_message_that_says_so(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    runtime = replace(runtime, settings=replace(runtime.settings, max_attempts=2))
    job_id = submit(runtime, make_principal(database), make_csv([product_row("1")]))
    with runtime.db.write() as session:  # a worker took it, and died each time it was handed out again
        jobs.move(session, job_id, ImportState.IN_PROCESS)

    for _ in range(3):
        queue.steps.clear()
        age(runtime, job_id, 600)
        reaper.reap(runtime)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED
    assert "retried 2 times; giving up" in (done.message or "")


def test_an_import_waiting_behind_long_ones_is_handed_out_again_never_failed(
    database: Database, tmp_path: Path
) -> None:
    # A script queued many imports; the workers are busy for far longer than the leases the cap allows.
    runtime, queue = make_runtime(database, tmp_path)
    runtime = replace(runtime, settings=replace(runtime.settings, max_attempts=2))
    job_id = submit(runtime, make_principal(database), make_csv([product_row("1")]))

    for _ in range(5):
        age(runtime, job_id, 600)
        reaper.reap(runtime)

    assert job(runtime, job_id).state == ImportState.START_REQUESTED
    assert [step for step, _ in queue.steps] == ["plan"] * 6  # the first message and one a lease
    drain(runtime, queue)  # a worker is free at last: the plan runs once, the copies find it planned
    done = job(runtime, job_id)
    assert (done.state, done.records_created) == (ImportState.COMPLETED, 1)


def test_a_job_making_progress_is_left_alone(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    job_id = submit(runtime, make_principal(database), make_csv([product_row("1")]))

    assert reaper.reap(runtime) == 0
    assert len(queue.steps) == 1
    assert job(runtime, job_id).state == ImportState.START_REQUESTED


def test_a_job_failed_mid_import_keeps_no_staging_rows_once_the_reaper_sweeps(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=1)
    job_id = start_with_one_chunk_done(runtime, make_principal(database), queue, rows=3)
    assert staged_rows(runtime, job_id) == 1
    with runtime.db.write() as session:  # what a worker does when a step raises an unexpected error
        jobs.fail(session, job_id, "an internal error stopped this import")
    reaper.reap(runtime)
    assert staged_rows(runtime, job_id) == 1  # a job that just ended may still be clearing its own rows

    age(runtime, job_id, reaper.SWEEP_GRACE_SECONDS + 1)
    reaper.reap(runtime)

    assert staged_rows(runtime, job_id) == 0
    assert job(runtime, job_id).state == ImportState.FAILED


def test_a_completed_import_leaves_no_staging_rows_and_the_sweep_spares_a_running_one(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=1)
    principal = make_principal(database)
    finished = submit(runtime, principal, make_csv([product_row("a"), product_row("b")]))
    drain(runtime, queue)
    running = start_with_one_chunk_done(runtime, principal, queue, rows=3)

    reaper.reap(runtime)

    assert (job(runtime, finished).state, job(runtime, finished).records_created) == (ImportState.COMPLETED, 2)
    assert staged_rows(runtime, finished) == 0
    assert staged_rows(runtime, running) == 1


def test_imports_unfinished_when_their_uploads_pass_the_retention_keep_them_and_complete(
    database: Database, tmp_path: Path
) -> None:
    # The workers were away (stopped, or busy with long imports) for longer than IMPORTER_UPLOAD_RETENTION_HOURS.
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=1)
    principal = make_principal(database)
    finished = submit(runtime, principal, make_csv([product_row("a")]))
    drain(runtime, queue)
    waiting = submit(runtime, principal, make_csv([product_row("b"), product_row("c")]))
    sheet = submit(runtime, principal, make_xlsx([product_row("d"), product_row("e")]), file_type=FileType.XLSX)
    queue.steps.clear()
    pipeline.plan(runtime, sheet)  # read into its rows file; its chunks wait
    past_retention = replace(runtime, settings=replace(runtime.settings, upload_retention_hours=-1))

    reaper.purge_expired_uploads(past_retention)
    queue.steps.clear()
    for job_id in (waiting, sheet):
        age(runtime, job_id, 600)
    reaper.reap(runtime)
    drain(runtime, queue)

    assert [(job(runtime, j).state, job(runtime, j).records_created) for j in (waiting, sheet)] == [
        (ImportState.COMPLETED, 2),
        (ImportState.COMPLETED, 2),
    ], [job(runtime, j).message for j in (waiting, sheet)]
    kept = stored_uploads(runtime)
    assert job(runtime, finished).upload_key not in kept
    assert {job(runtime, j).upload_key for j in (waiting, sheet)} <= kept
