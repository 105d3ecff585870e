"""Running imports are counted in the database, per account: what every API process sees alike."""

from __future__ import annotations

from pathlib import Path

from app import jobs
from app.api.limits import running_imports
from app.db import Database
from app.jobs import ImportState
from tests.factories import make_csv, product_row
from tests.integration.pipeline_driver import make_principal, make_runtime, submit


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
