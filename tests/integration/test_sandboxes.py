"""Sandboxes on real SQLite and PostgreSQL: review an import, promote it whole or discard it."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import pytest

from app.accounts import Principal, Role
from app.db import Database
from app.errors import BadRequest, Conflict, NotFound
from app.importing import pipeline
from app.jobs import ImportState
from app.runtime import Runtime
from app.service import cancel_job, list_records, read_record, retry_job, sandboxes
from app.service.audit import list_events
from specifications import ImportType
from tests.factories import make_csv, product_row
from tests.integration.pipeline_driver import (
    RecordingQueue,
    drain,
    job,
    make_principal,
    make_runtime,
    stored_uploads,
    submit,
)


def into_sandbox(runtime: Runtime, queue: RecordingQueue, who: Principal, body: bytes, sandbox_id: int | None) -> int:
    job_id = submit(runtime, who, body, to_sandbox=True, sandbox_id=sandbox_id)
    drain(runtime, queue)
    return job_id


def title(runtime: Runtime, sku: str, sandbox_id: int = 0) -> object:
    try:
        return read_record(runtime, ImportType.PRODUCT, [sku], -2, -3, sandbox_id)["product_title"]
    except NotFound:
        return None


def production_and_a_sandbox(database: Database, tmp_path: Path) -> tuple[Runtime, RecordingQueue, Principal, int]:
    """Products 1 ("old one") and 2 ("two") in production, and an empty sandbox their importer owns."""
    runtime, queue = make_runtime(database, tmp_path)
    ops = make_principal(database)
    submit(runtime, ops, make_csv([product_row("1", title="old one"), product_row("2", title="two")]))
    drain(runtime, queue)
    box = sandboxes.create_sandbox(runtime, ops, "spring catalog")
    assert box.id is not None
    return runtime, queue, ops, box.id


def test_a_sandbox_import_is_seen_only_in_the_sandbox_until_promoted(database: Database, tmp_path: Path) -> None:
    runtime, queue, ops, box_id = production_and_a_sandbox(database, tmp_path)

    first = into_sandbox(runtime, queue, ops, make_csv([product_row("1", title="new one"), product_row("3")]), box_id)
    second = into_sandbox(runtime, queue, ops, make_csv([product_row("3", title="three, revised")]), box_id)

    assert (job(runtime, first).state, job(runtime, second).state) == (ImportState.COMPLETED, ImportState.COMPLETED)
    assert (job(runtime, second).records_created, job(runtime, second).records_updated) == (0, 1)
    assert (title(runtime, "1"), title(runtime, "3")) == ("old one", None)
    assert (title(runtime, "1", box_id), title(runtime, "2", box_id), title(runtime, "3", box_id)) == (
        "new one", "two", "three, revised",
    )  # fmt: skip
    assert list_records(runtime, ImportType.PRODUCT, -2, -3, 1, 10)[1] == 2
    assert list_records(runtime, ImportType.PRODUCT, -2, -3, 1, 10, box_id)[1] == 3
    changes, total = sandboxes.sandbox_changes(runtime, ops, box_id, 1, 10)
    assert total == 2
    by_key = {change.key["sku_number"]: change for change in changes}
    assert by_key["1"].change == "updated"
    assert [f for f in by_key["1"].fields if f["field"] == "product_title"] == [
        {"field": "product_title", "before": "old one", "after": "new one"}
    ]
    assert by_key["3"].change == "created"

    assert sandboxes.promote(runtime, ops, box_id) == 2
    assert (title(runtime, "1"), title(runtime, "2"), title(runtime, "3")) == ("new one", "two", "three, revised")
    assert sandboxes.get_sandbox(runtime, ops, box_id)[0].state == "PROMOTED"
    with pytest.raises(Conflict, match="is PROMOTED"):
        sandboxes.promote(runtime, ops, box_id)
    actions = [event.action for event in list_events(runtime, ops, 1, 50)[0]]
    assert actions[:2] == ["sandbox.promoted", "import.submitted"] and "sandbox.created" in actions


def test_a_sandbox_import_counts_records_against_what_the_sandbox_shows(database: Database, tmp_path: Path) -> None:
    runtime, queue, ops, box_id = production_and_a_sandbox(database, tmp_path)
    body = make_csv([product_row("1", title="new one"), product_row("2", title="two"), product_row("3")])

    tried = submit(runtime, ops, body, to_sandbox=True, sandbox_id=box_id, dry_run=True)
    drain(runtime, queue)
    imported = into_sandbox(runtime, queue, ops, body, box_id)
    again = into_sandbox(runtime, queue, ops, body, box_id)

    # 1 changes production's record, 2 is as production has it, 3 is new: as the sandbox's changes list them.
    for job_id in (tried, imported):
        done = job(runtime, job_id)
        assert (done.records_created, done.records_updated, done.records_skipped) == (1, 1, 1)
    assert (job(runtime, again).records_created, job(runtime, again).records_updated) == (0, 0)
    assert job(runtime, again).records_skipped == 3
    assert (title(runtime, "1", box_id), title(runtime, "1")) == ("new one", "old one")
    changes, total = sandboxes.sandbox_changes(runtime, ops, box_id, 1, 10)
    assert total == 2  # product 2, imported as production has it, is no change to review
    assert [(change.key, change.change) for change in changes] == [
        ({"sku_number": "1"}, "updated"), ({"sku_number": "3"}, "created"),
    ]  # fmt: skip
    assert changes[0].fields == [{"field": "product_title", "before": "old one", "after": "new one"}]
    assert all(field["after"] is not None for field in changes[1].fields)  # what the new record gives


def test_an_import_to_a_sandbox_without_an_id_creates_one_for_its_submitter(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    ops = make_principal(database)

    job_id = into_sandbox(runtime, queue, ops, make_csv([product_row("9")]), None)

    sandbox_id = job(runtime, job_id).sandbox_id
    assert sandbox_id > 0
    created, records = sandboxes.get_sandbox(runtime, ops, sandbox_id)
    assert (created.created_by, created.state, records) == ("ops", "OPEN", 1)
    assert title(runtime, "9") is None and title(runtime, "9", sandbox_id) == "Product 9"


def test_sandbox_parameters_that_do_not_fit_are_refused(database: Database, tmp_path: Path) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    ops = make_principal(database)
    other = make_principal(database, "other", Role.IMPORTER)
    theirs = sandboxes.create_sandbox(runtime, ops, "admin's")

    with pytest.raises(BadRequest, match="sandboxId goes with importToSandbox=true"):
        submit(runtime, ops, make_csv([product_row("1")]), sandbox_id=7)
    with pytest.raises(BadRequest, match="no sandbox 999"):
        submit(runtime, ops, make_csv([product_row("1")]), to_sandbox=True, sandbox_id=999)
    with pytest.raises(BadRequest, match=f"no sandbox {theirs.id}"):
        submit(runtime, other, make_csv([product_row("1")]), to_sandbox=True, sandbox_id=theirs.id)


def test_a_promote_is_refused_naming_records_production_changed_since(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    ops = make_principal(database)
    submit(runtime, ops, make_csv([product_row("1"), product_row("2")]))
    drain(runtime, queue)
    box = sandboxes.create_sandbox(runtime, ops, "review")
    assert box.id is not None
    into_sandbox(
        runtime, queue, ops, make_csv([product_row("1", title="sandbox"), product_row("2", title="sb")]), box.id
    )
    submit(runtime, ops, make_csv([product_row("2", title="production moved on")]))
    drain(runtime, queue)

    with pytest.raises(Conflict, match="production changed since these records were imported into sandbox") as caught:
        sandboxes.promote(runtime, ops, box.id)

    assert "PRODUCT 2" in str(caught.value) and "PRODUCT 1" not in str(caught.value)
    assert (title(runtime, "1"), title(runtime, "2")) == ("Product 1", "production moved on")
    assert sandboxes.discard(runtime, ops, box.id) == 2
    assert title(runtime, "1", box.id) == "Product 1"  # nothing of the sandbox is left
    with pytest.raises(BadRequest, match="is DISCARDED"):
        submit(runtime, ops, make_csv([product_row("1")]), to_sandbox=True, sandbox_id=box.id)


def test_a_record_imported_into_a_sandbox_as_production_has_it_is_left_to_production(
    database: Database, tmp_path: Path
) -> None:
    # A whole catalog imported into a sandbox to review a few changes: the rest is no change of the sandbox's.
    runtime, queue, ops, box_id = production_and_a_sandbox(database, tmp_path)
    body = make_csv([product_row("1", title="new one"), product_row("2", title="two")])

    imported = into_sandbox(runtime, queue, ops, body, box_id)
    submit(runtime, ops, make_csv([product_row("2", title="two, moved on")]))
    drain(runtime, queue)

    done = job(runtime, imported)
    assert (done.records_created, done.records_updated, done.records_skipped) == (0, 1, 1)
    assert sandboxes.get_sandbox(runtime, ops, box_id)[1] == 1  # the sandbox holds product 1 alone
    assert (title(runtime, "1", box_id), title(runtime, "2", box_id)) == ("new one", "two, moved on")
    assert sandboxes.promote(runtime, ops, box_id) == 1  # production's later change of 2 is no conflict
    assert (title(runtime, "1"), title(runtime, "2")) == ("new one", "two, moved on")


def test_a_sandbox_record_imported_again_as_production_has_it_goes_back_to_production(
    database: Database, tmp_path: Path
) -> None:
    # A change reviewed and taken back: the file as production has it, imported into the sandbox again.
    runtime, queue, ops, box_id = production_and_a_sandbox(database, tmp_path)
    into_sandbox(runtime, queue, ops, make_csv([product_row("1", title="new one"), product_row("3")]), box_id)

    taken_back = into_sandbox(runtime, queue, ops, make_csv([product_row("1", title="old one")]), box_id)
    submit(runtime, ops, make_csv([product_row("1", title="old one, moved on")]))
    drain(runtime, queue)

    done = job(runtime, taken_back)  # the sandbox showed "new one", and shows production's again
    assert (done.records_created, done.records_updated, done.records_skipped) == (0, 1, 0)
    assert title(runtime, "1", box_id) == "old one, moved on"
    changes, total = sandboxes.sandbox_changes(runtime, ops, box_id, 1, 10)
    assert [change.key for change in changes] == [{"sku_number": "3"}]
    assert sandboxes.get_sandbox(runtime, ops, box_id)[1] == total == 1
    assert sandboxes.promote(runtime, ops, box_id) == 1  # production's later change of 1 is no conflict
    assert (title(runtime, "1"), title(runtime, "3")) == ("old one, moved on", "Product 3")


def test_a_promote_racing_a_production_import_never_loses_the_import(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=1000)
    ops = make_principal(database)
    rows = [product_row(str(n), title=f"first {n}") for n in range(300)]
    submit(runtime, ops, make_csv(rows))
    drain(runtime, queue)
    box = sandboxes.create_sandbox(runtime, ops, "race")
    assert box.id is not None
    into_sandbox(runtime, queue, ops, make_csv([product_row(str(n), title=f"sandbox {n}") for n in range(300)]), box.id)
    production = submit(runtime, ops, make_csv([product_row(str(n), title=f"import {n}") for n in range(300)]))
    _, args = queue.steps.popleft()
    pipeline.plan(runtime, *args)
    outcome: list[object] = []

    def promote() -> None:
        try:
            outcome.append(sandboxes.promote(runtime, ops, box.id or 0))
        except Conflict as error:
            outcome.append(error)

    racer = threading.Thread(target=promote)
    racer.start()
    drain(runtime, queue)
    racer.join(timeout=120)

    assert job(runtime, production).state == ImportState.COMPLETED
    titles = {str(title(runtime, str(n))) for n in range(300)}
    assert titles == {f"import {n}" for n in range(300)}, f"promote outcome {outcome}"


def cancelled_sandbox_import(runtime: Runtime, queue: RecordingQueue, ops: Principal, sku: str) -> tuple[int, int]:
    """A new sandbox, and an import of one product into it, cancelled before it ran: (sandbox, import)."""
    box = sandboxes.create_sandbox(runtime, ops, f"for {sku}")
    assert box.id is not None
    job_id = submit(runtime, ops, make_csv([product_row(sku)]), to_sandbox=True, sandbox_id=box.id)
    cancel_job(runtime, ops, job_id)
    queue.steps.clear()
    return box.id, job_id


def test_a_retried_sandbox_import_goes_into_the_same_sandbox(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    ops = make_principal(database)
    box_id, job_id = cancelled_sandbox_import(runtime, queue, ops, "r-1")

    retry = retry_job(runtime, ops, job_id)
    drain(runtime, queue)

    assert (retry.sandbox_id, job(runtime, retry.id or 0).state) == (box_id, ImportState.COMPLETED)
    assert title(runtime, "r-1") is None
    assert title(runtime, "r-1", box_id) == "Product r-1"
    assert sandboxes.get_sandbox(runtime, ops, box_id)[1] == 1


@pytest.mark.parametrize("close, state", [(sandboxes.promote, "PROMOTED"), (sandboxes.discard, "DISCARDED")])
def test_an_import_whose_sandbox_is_closed_is_not_retried(
    database: Database, tmp_path: Path, close: Callable[[Runtime, Principal, int], int], state: str
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    ops = make_principal(database)
    box_id, job_id = cancelled_sandbox_import(runtime, queue, ops, "r-2")
    close(runtime, ops, box_id)

    with pytest.raises(Conflict, match=f"went into sandbox {box_id}, which is {state}"):
        retry_job(runtime, ops, job_id)

    assert job(runtime, job_id).retried_as is None
    assert not queue.steps
    assert (title(runtime, "r-2"), title(runtime, "r-2", box_id)) == (None, None)


def test_a_sandbox_is_readable_by_its_owner_admins_and_viewers_only(database: Database, tmp_path: Path) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    owner, other = make_principal(database, "owner", Role.IMPORTER), make_principal(database, "other", Role.IMPORTER)
    box = sandboxes.create_sandbox(runtime, owner, "mine")
    assert box.id is not None

    for stranger, sandbox_id in ((other, box.id), (owner, 999)):
        with pytest.raises(NotFound, match=f"^no sandbox {sandbox_id}$"):
            sandboxes.readable_sandbox(runtime, stranger, sandbox_id)

    readers = (owner, make_principal(database), make_principal(database, "watcher", Role.VIEWER))
    assert [sandboxes.readable_sandbox(runtime, reader, box.id) for reader in readers] == [box.id] * 3
    assert sandboxes.readable_sandbox(runtime, other, 0) == 0


def test_a_submit_refused_for_its_sandbox_leaves_no_upload_stored(database: Database, tmp_path: Path) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    ops = make_principal(database)
    closed = sandboxes.create_sandbox(runtime, ops, "closed")
    assert closed.id is not None
    sandboxes.discard(runtime, ops, closed.id)
    submit(runtime, ops, make_csv([product_row("1")]))
    before = stored_uploads(runtime)

    with pytest.raises(BadRequest, match="sandboxId goes with importToSandbox=true"):
        submit(runtime, ops, make_csv([product_row("2")]), sandbox_id=closed.id)
    with pytest.raises(BadRequest, match="no sandbox 999"):
        submit(runtime, ops, make_csv([product_row("2")]), to_sandbox=True, sandbox_id=999)
    with pytest.raises(BadRequest, match=f"sandbox {closed.id} is DISCARDED"):
        submit(runtime, ops, make_csv([product_row("2")]), to_sandbox=True, sandbox_id=closed.id)

    assert len(before) == 1
    assert stored_uploads(runtime) == before
