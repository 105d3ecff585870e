"""On PostgreSQL staged rows are unlogged: a crash empties them, and the import stages its chunks again."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlmodel import col, select

from app.api.rendering import render_status
from app.commerce.products import Product
from app.db import MERGE_LOCK_ID, Database
from app.importing import pipeline, rolling_merge
from app.importing.staging_guard import RESTAGING
from app.jobs import ImportProblem, ImportState, OnError
from app.runtime import Runtime
from app.service import StatusView
from tests.factories import make_csv, product_row
from tests.integration.pipeline_driver import RecordingQueue, drain, job, make_principal, make_runtime, submit
from tests.integration.private_postgres import PrivatePostgres
from tests.integration.test_rolling_merge import advisory_holder, wait_for

ROWS = [product_row(f"P{n}") for n in range(24)]
ROWS.insert(13, product_row("P-BAD", price="twelve"))  # row 15 of the file


@pytest.fixture
def crashable() -> Iterator[tuple[PrivatePostgres, Database]]:
    """A PostgreSQL server of the test's own, which it may crash, and the service's database on it."""
    server = PrivatePostgres()
    db = Database(server.url)
    try:
        db.create_schema()
        yield server, db
    finally:
        db.dispose()
        server.remove()


def crash(server: PrivatePostgres, db: Database) -> None:
    """Crash the server mid-import; it recovers, and has emptied the unlogged tables, guards and all."""
    with db.read() as session:
        assert session.execute(text("SELECT count(*) FROM product_staging")).scalar_one() > 0
    server.crash()
    with db.read() as session:
        left = session.execute(
            text("SELECT (SELECT count(*) FROM product_staging), (SELECT count(*) FROM staging_guard)")
        )
        assert left.one() == (0, 0)


def staged_but_the_last_chunk(
    db: Database, tmp_path: Path, rolling_merge_bytes: int = 0
) -> tuple[Runtime, RecordingQueue, int, tuple[int, ...]]:
    """A 25-row import (one invalid, onError=skip) in chunks of 5, staged but for its last chunk: the
    runtime, its queue, the job and the chunk held back."""
    runtime, queue = make_runtime(db, tmp_path, chunk_rows=5)
    runtime = replace(runtime, settings=replace(runtime.settings, rolling_merge_bytes=rolling_merge_bytes))
    job_id = submit(runtime, make_principal(db), make_csv(ROWS), on_error=OnError.SKIP)
    step, args = queue.steps.popleft()
    assert step == "plan"
    pipeline.plan(runtime, *args)
    _, last_chunk = queue.steps.pop()
    drain(runtime, queue)
    return runtime, queue, job_id, last_chunk


def products(db: Database) -> list[str]:
    with db.read() as session:
        return sorted(row.sku_number for row in session.exec(select(Product)).all())


def test_staging_tables_are_unlogged(pg: Database) -> None:
    with pg.read() as session:
        persistence = dict(
            session.execute(
                text("SELECT relname, relpersistence FROM pg_class WHERE relname LIKE '%staging%' AND relkind = 'r'")
            ).all()
        )
    assert persistence["product_staging"] == persistence["staging_guard"] == persistence["order_staging"] == "u"
    assert len(persistence) >= 7 and set(persistence.values()) == {"u"}


def test_an_import_whose_staged_rows_a_crash_emptied_stages_them_again_and_writes_each_row_once(
    crashable: tuple[PrivatePostgres, Database], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server, pg = crashable
    runtime, queue, job_id, last_chunk = staged_but_the_last_chunk(pg, tmp_path)
    crash(server, pg)

    pipeline.run_chunk(runtime, *last_chunk)  # every chunk is done now, but four of them lost their rows

    waiting = job(runtime, job_id)
    assert (waiting.state, waiting.message) == (ImportState.IN_PROCESS.value, RESTAGING)
    assert (waiting.chunks_done, waiting.error_count, waiting.percent_complete) == (0, 0, 95.0)  # it never goes back
    details = render_status(StatusView(waiting, [], []))["details"]
    assert isinstance(details, list) and {"type": "message", "description": RESTAGING} in details  # its status says why
    assert [step for step, _ in queue.steps] == ["chunk"] * 5
    assert products(pg) == []
    assert "import.staging_lost" in caplog.text

    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.message) == (ImportState.COMPLETED.value, None)
    assert (done.records_created, done.records_failed, done.problem_count) == (24, 1, 2)
    assert products(pg) == sorted(f"P{n}" for n in range(24))
    with pg.read() as session:
        named = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.id))
        ).all()
    assert [(problem.row_number, problem.field_value, problem.severity) for problem in named] == [
        (15, "twelve", "error"),
        (2, "2007", "warning"),  # the category the products name is not imported yet
    ]


def test_a_rolling_merge_cut_short_by_the_crash_leaves_the_rows_to_be_staged_again(
    crashable: tuple[PrivatePostgres, Database], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server, pg = crashable
    runtime, queue, job_id, last_chunk = staged_but_the_last_chunk(pg, tmp_path, rolling_merge_bytes=1)
    crash(server, pg)  # the rolling merge's connection ends with it, and its transaction is rolled back

    pipeline.run_chunk(runtime, *last_chunk)
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.records_failed) == (ImportState.COMPLETED.value, 24, 1)
    assert products(pg) == sorted(f"P{n}" for n in range(24))
    assert "import.staging_lost" in caplog.text


def test_a_rolling_merge_begun_after_the_crash_finds_the_rows_gone_and_gives_up(
    crashable: tuple[PrivatePostgres, Database], tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="app.importing.rolling_merge")
    server, pg = crashable
    runtime, queue, job_id, last_chunk = staged_but_the_last_chunk(pg, tmp_path)
    crash(server, pg)
    # as when a plan is run again after the crash and starts a rolling merge over the chunks marked done
    rolling = threading.Thread(target=rolling_merge.run, args=(runtime, job_id))
    rolling.start()
    wait_for(lambda: advisory_holder(pg, MERGE_LOCK_ID) is not None, "the rolling merge to take the merge lock")

    pipeline.run_chunk(runtime, *last_chunk)
    rolling.join(10)
    assert "reason=the staged rows were lost in a database crash" in caplog.text
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.records_failed) == (ImportState.COMPLETED.value, 24, 1)
    assert products(pg) == sorted(f"P{n}" for n in range(24))


def test_an_import_in_process_across_the_upgrade_to_unlogged_staging_keeps_its_rows(
    pg: Database, tmp_path: Path
) -> None:
    runtime, queue, job_id, last_chunk = staged_but_the_last_chunk(pg, tmp_path)
    with pg.engine.begin() as connection:  # the tables as an earlier version made them
        connection.execute(text("DROP TABLE staging_guard"))
        connection.execute(text("ALTER TABLE product_staging SET LOGGED"))

    pg.create_schema()  # what the new version's processes do when they start
    pipeline.run_chunk(runtime, *last_chunk)

    done = job(runtime, job_id)
    assert (done.state, done.message, done.records_created) == (ImportState.COMPLETED.value, None, 24)
    assert not queue.steps  # nothing staged again


def test_an_import_the_crash_did_not_touch_is_not_staged_again(pg: Database, tmp_path: Path) -> None:
    runtime, queue, job_id, last_chunk = staged_but_the_last_chunk(pg, tmp_path)

    pipeline.run_chunk(runtime, *last_chunk)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.records_failed) == (ImportState.COMPLETED.value, 24, 1)
    assert not queue.steps
    with pg.read() as session:
        guards = session.execute(text("SELECT count(*) FROM staging_guard")).scalar_one()
    assert guards == 0  # the guard goes with the staged rows


def test_an_import_that_fails_leaves_neither_staged_rows_nor_a_guard(pg: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(pg, tmp_path, chunk_rows=5)
    job_id = submit(runtime, make_principal(pg), make_csv(ROWS))  # onError=abort, and row 15 is invalid
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.FAILED.value
    with pg.read() as session:
        left = session.execute(
            text("SELECT (SELECT count(*) FROM product_staging), (SELECT count(*) FROM staging_guard)")
        ).one()
    assert tuple(left) == (0, 0)
