"""Running imports are counted in the database, per account: what every API process sees alike, and what
the transaction recording a new import counts again, so that submits arriving together cannot pass the limit."""

from __future__ import annotations

import dataclasses
import threading
from pathlib import Path

import pytest
from sqlmodel import col, func, select

from app import jobs
from app.accounts import Principal
from app.db import Database
from app.errors import TooManyRequests
from app.jobs import ImportState, ImportStatus
from app.runtime import Runtime
from app.service import cancel_job, retry_job
from app.service.running_limit import running_imports
from tests.factories import make_csv, product_row
from tests.integration.pipeline_driver import job, make_principal, make_runtime, stored_uploads, submit


def limited_to(runtime: Runtime, ceiling: int) -> Runtime:
    return dataclasses.replace(runtime, settings=dataclasses.replace(runtime.settings, max_running_imports=ceiling))


def recorded_jobs(runtime: Runtime, principal: Principal) -> int:
    with runtime.db.read() as session:
        count = session.exec(
            select(func.count()).select_from(ImportStatus).where(col(ImportStatus.account_id) == principal.account_id)
        ).one()
    return int(count)


def test_only_imports_not_yet_ended_count_and_only_for_their_own_account(database: Database, tmp_path: Path) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    busy, other = make_principal(database, "busy"), make_principal(database, "other")
    body = make_csv([product_row("r-1")])
    _waiting, working, done, failed, cancelled = (submit(runtime, busy, body) for _ in range(5))
    submit(runtime, other, body)

    with database.write() as session:
        jobs.move(session, working, ImportState.IN_PROCESS)
        jobs.move(session, done, ImportState.IN_PROCESS)
        jobs.move(session, done, ImportState.COMPLETED)
        jobs.fail(session, failed, "broken")
        jobs.move(session, cancelled, ImportState.CANCELLED)

    assert running_imports(runtime, busy.account_id) == 2
    assert running_imports(runtime, other.account_id) == 1
    assert running_imports(runtime, 999) == 0


def test_a_submit_past_the_limit_is_refused_when_its_job_would_be_recorded_and_leaves_no_upload(
    database: Database, tmp_path: Path
) -> None:
    runtime = limited_to(make_runtime(database, tmp_path)[0], 2)
    busy, other = make_principal(database, "busy"), make_principal(database, "other")
    body = make_csv([product_row("l-1")])
    submit(runtime, busy, body), submit(runtime, busy, body)
    before = stored_uploads(runtime)

    with pytest.raises(TooManyRequests, match=r"'busy' already has 2 imports running.*IMPORTER_MAX_RUNNING_IMPORTS"):
        submit(runtime, busy, body)

    assert (recorded_jobs(runtime, busy), stored_uploads(runtime)) == (2, before)
    submit(runtime, other, body)
    assert running_imports(runtime, other.account_id) == 1


def test_a_retry_past_the_limit_is_refused_and_links_nothing(database: Database, tmp_path: Path) -> None:
    runtime = limited_to(make_runtime(database, tmp_path)[0], 2)
    busy = make_principal(database, "busy")
    body = make_csv([product_row("l-2")])
    first = submit(runtime, busy, body)
    cancel_job(runtime, busy, first)
    submit(runtime, busy, body), submit(runtime, busy, body)

    with pytest.raises(TooManyRequests, match="already has 2 imports running") as refused:
        retry_job(runtime, busy, first)

    assert refused.value.retry_after == 10
    assert job(runtime, first).retried_as is None
    assert recorded_jobs(runtime, busy) == 3


def test_submits_arriving_together_never_take_more_than_the_limit(database: Database, tmp_path: Path) -> None:
    runtime = limited_to(make_runtime(database, tmp_path)[0], 3)
    eager = make_principal(database, "eager")
    body = make_csv([product_row("l-3")])
    start = threading.Barrier(8)
    outcomes: list[str] = []

    def race() -> None:
        start.wait()
        try:
            submit(runtime, eager, body)
            outcomes.append("accepted")
        except TooManyRequests:
            outcomes.append("refused")

    racers = [threading.Thread(target=race) for _ in range(8)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join(timeout=60)

    assert sorted(outcomes) == ["accepted"] * 3 + ["refused"] * 5
    assert running_imports(runtime, eager.account_id) == 3
    assert len(stored_uploads(runtime)) == 3
