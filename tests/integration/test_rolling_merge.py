"""On PostgreSQL a large import is merged while its chunks are staged, and still lands whole or not at all."""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlmodel import select

from app.accounts import Principal
from app.commerce.products import Product, Sku
from app.db import MERGE_LOCK_ID, Database
from app.importing import pipeline
from app.importing.finalize import ROLLING_LOCKS
from app.importing.formats import FileType
from app.importing.writers.merge import key_in_two_targets
from app.importing.writers.registry import WRITERS
from app.jobs import ImportProblem, ImportState, ImportStatus
from app.runtime import Runtime
from app.service import sandboxes
from specifications import ImportType
from tests.factories import CONTRACT_HEADER, make_csv, make_xlsx, product_row
from tests.integration.pipeline_driver import RecordingQueue, drain, job, make_principal, make_runtime, submit

HEADER = [*CONTRACT_HEADER, "options[Size]"]


@pytest.fixture(autouse=True)
def merge_log(caplog: pytest.LogCaptureFixture) -> None:
    """What the rolling merge tells the operator: that it completed a job, or why it gave up."""
    caplog.set_level(logging.INFO, logger="app.importing.rolling_merge")


def rolling_runtime(db: Database, tmp_path: Path) -> tuple[Runtime, RecordingQueue]:
    """Every upload is large enough for a rolling merge; chunks of 10 rows."""
    runtime, queue = make_runtime(db, tmp_path, chunk_rows=10)
    return replace(runtime, settings=replace(runtime.settings, rolling_merge_bytes=1)), queue


def catalog(products: int, price: str = "9.99", first: int = 0) -> list[list[str]]:
    """Products first, first + 1, ...; every fifth has two SKU rows."""
    rows = []
    for n in range(first, first + products):
        rows.append([*product_row(f"P{n}", price=price), ""])
        if n % 5 == 0:
            rows += [[*product_row(f"P{n}-{s}", price=price, **{"SKU Indicator": "Y"}), s] for s in ("S", "M")]
    return rows


def wait_for(condition: Callable[[], bool], what: str, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition():
        assert time.monotonic() < deadline, f"waited {seconds} s for {what}"
        time.sleep(0.02)


def merger(job_id: int) -> threading.Thread:
    found = [thread for thread in threading.enumerate() if thread.name == f"rolling-merge-{job_id}"]
    assert found, "the plan started no rolling merge"
    return found[0]


def advisory_holder(db: Database, key: int) -> int | None:
    """The backend that holds the advisory lock `key`, if one does."""
    with db.read() as session:
        return session.execute(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted"
                " AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
                " AND classid = :high AND objid = :low AND objsubid = 1"
            ),
            {"high": key >> 32, "low": key & 0xFFFFFFFF},
        ).scalar()


def writes_products(db: Database, pid: int) -> bool:
    """Whether backend `pid` has begun writing the product table (a lock it keeps until it commits)."""
    with db.read() as session:
        return bool(
            session.execute(
                text(
                    "SELECT EXISTS (SELECT 1 FROM pg_locks WHERE pid = :pid AND relation = 'product'::regclass"
                    " AND mode = 'RowExclusiveLock')"
                ),
                {"pid": pid},
            ).scalar_one()
        )


def stored(db: Database) -> dict[str, str | None]:
    """Production's products and SKUs of the test catalog, with their prices."""
    with db.read() as session:
        products = session.exec(select(Product).where(Product.catalog_id == -2, Product.sandbox_id == 0)).all()
        skus = session.exec(select(Sku).where(Sku.catalog_id == -2, Sku.sandbox_id == 0)).all()
    return {row.sku_number: row.retail_price for row in products} | {row.sku_number: row.retail_price for row in skus}


def problems_named(db: Database, job_id: int) -> list[ImportProblem]:
    """The problems the import named."""
    with db.read() as session:
        return list(session.exec(select(ImportProblem).where(ImportProblem.job_id == job_id)).all())


def twice(first: int, later: int, key: str = "P3") -> str:
    """What the import says of a SKU number given twice."""
    return f"SKU Number '{key}' appears more than once in this file (rows {first} and {later})"


def plan(runtime: Runtime, queue: RecordingQueue) -> threading.Thread:
    """Run the queued plan once the rolling merges before it have ended (one a process); the one it started."""
    for thread in threading.enumerate():
        if thread.name.startswith("rolling-merge-"):
            thread.join(10)
    step, args = queue.steps.popleft()
    assert step == "plan"
    pipeline.plan(runtime, *args)
    return merger(args[0])


def imported(runtime: Runtime, queue: RecordingQueue, principal: Principal, rows: list[list[str]], **to: Any) -> int:
    """Submit `rows` as a CSV, plan, run every chunk and wait for its rolling merge to end: the job."""
    job_id = submit(runtime, principal, make_csv(rows, header=HEADER), **to)
    rolling = plan(runtime, queue)
    drain(runtime, queue)
    rolling.join(10)
    return job_id


def all_but_the_last_chunk(pg: Database, tmp_path: Path) -> tuple[Runtime, int, tuple[int, ...], threading.Thread]:
    """A 56-row import planned and staged but for its last chunk: the runtime, the job, the chunk held
    back, and the rolling merge, which is merging the chunks staged."""
    runtime, queue = rolling_runtime(pg, tmp_path)
    job_id = submit(runtime, make_principal(pg), make_csv(catalog(40), header=HEADER))
    rolling = plan(runtime, queue)
    _, last_chunk = queue.steps.pop()
    drain(runtime, queue)
    return runtime, job_id, last_chunk, rolling


def test_rows_are_merged_while_the_last_chunk_is_pending_and_seen_only_once_it_is_in(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, job_id, last_chunk, rolling = all_but_the_last_chunk(pg, tmp_path)
    pid = advisory_holder(pg, ROLLING_LOCKS + job_id)
    assert pid is not None
    wait_for(lambda: writes_products(pg, pid), "the rolling merge to write products")
    assert stored(pg) == {}
    assert job(runtime, job_id).state == ImportState.IN_PROCESS.value

    pipeline.run_chunk(runtime, *last_chunk)
    rolling.join(10)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.records_updated, done.records_skipped) == ("COMPLETED", 56, 0, 0)
    assert done.percent_complete == 100.0
    assert len(stored(pg)) == 56 and set(stored(pg).values()) == {"9.99"}
    assert "import.rolling_merge_completed" in caplog.text


@pytest.mark.parametrize("rows_reach_it", [True, False])
def test_a_sheet_zipped_under_the_threshold_is_merged_while_staged_once_read_if_its_rows_reach_it(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture, rows_reach_it: bool
) -> None:
    rows = catalog(400)
    sheet, as_csv = make_xlsx(rows, header=HEADER), make_csv(rows, header=HEADER)
    assert len(sheet) < len(as_csv)  # zipped, the sheet is smaller than its rows
    runtime, queue = make_runtime(pg, tmp_path, chunk_rows=100)
    threshold = len(sheet) + 1 if rows_reach_it else 2 * len(as_csv)
    runtime = replace(runtime, settings=replace(runtime.settings, rolling_merge_bytes=threshold))
    job_id = submit(runtime, make_principal(pg), sheet, file_type=FileType.XLSX)

    pipeline.plan(runtime, *queue.steps.popleft()[1])
    drain(runtime, queue)
    for thread in threading.enumerate():
        if thread.name == f"rolling-merge-{job_id}":
            thread.join(10)

    done = job(runtime, job_id)
    assert (done.state, done.records_created) == ("COMPLETED", 560)
    assert len(stored(pg)) == 560
    assert ("import.rolling_merge_completed" in caplog.text) is rows_reach_it


def test_a_second_import_updates_changed_rows_creates_new_ones_and_skips_the_rest(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, queue = rolling_runtime(pg, tmp_path)
    principal = make_principal(pg)
    imported(runtime, queue, principal, catalog(30))

    # P0..P9 unchanged, P10..P29 repriced, P30..P39 new (each fifth with its two SKUs)
    rows = catalog(10) + catalog(20, price="12.50", first=10) + catalog(10, first=30)
    job_id = imported(runtime, queue, principal, rows)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.records_updated, done.records_skipped) == ("COMPLETED", 14, 28, 14)
    prices = stored(pg)
    assert len(prices) == 56
    assert prices["P0"] == prices["P5-M"] == prices["P30"] == "9.99"
    assert prices["P10"] == prices["P25-S"] == "12.50"
    assert caplog.text.count("import.rolling_merge_completed") == 2


def test_a_key_given_twice_in_different_chunks_is_named_and_nothing_is_written(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, queue = rolling_runtime(pg, tmp_path)
    rows = catalog(30)
    rows.append([*product_row("P3", price="1.00"), ""])  # P3 again, chunks later
    first_p3 = 2 + [row[0] for row in rows].index("P3")
    job_id = imported(runtime, queue, make_principal(pg), rows)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED.value
    assert "failed validation, so nothing was written" in (done.message or "")
    named = problems_named(pg, job_id)
    assert [(p.row_number, p.field_value, p.message) for p in named] == [
        (len(rows) + 1, "P3", twice(first_p3, len(rows) + 1))
    ]
    assert stored(pg) == {}
    assert "import.rolling_merge_gave_up" in caplog.text


def test_a_key_given_twice_in_one_chunk_of_a_second_import_is_named_and_nothing_changes(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, queue = rolling_runtime(pg, tmp_path)
    principal = make_principal(pg)
    imported(runtime, queue, principal, catalog(30))
    rows = catalog(30, price="12.50")
    rows.insert(rows.index([*product_row("P4", price="12.50"), ""]) + 1, [*product_row("P3", price="1.00"), ""])
    job_id = imported(runtime, queue, principal, rows)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED.value
    named = problems_named(pg, job_id)
    assert [(p.field_value, p.message) for p in named] == [("P3", twice(7, 9))]
    assert set(stored(pg).values()) == {"9.99"}
    assert "reason=a key was staged twice" in caplog.text


def test_a_sku_numbered_as_a_product_chunks_earlier_is_named_and_nothing_is_written(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, queue = rolling_runtime(pg, tmp_path)
    rows = catalog(30)
    rows.append([*product_row("P3", price="1.00", **{"SKU Indicator": "Y"}), "XL"])  # a SKU of P29, numbered P3
    first_p3 = 2 + [row[0] for row in rows].index("P3")
    job_id = imported(runtime, queue, make_principal(pg), rows)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED.value
    named = problems_named(pg, job_id)
    assert [(p.row_number, p.field_value, p.message) for p in named] == [
        (len(rows) + 1, "P3", twice(first_p3, len(rows) + 1))
    ]
    assert stored(pg) == {}
    assert "reason=a key was staged for two tables" in caplog.text


def test_a_key_given_twice_in_different_chunks_of_a_second_import_is_named_and_nothing_changes(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, queue = rolling_runtime(pg, tmp_path)
    principal = make_principal(pg)
    imported(runtime, queue, principal, catalog(30))
    rows = catalog(30, price="12.50")
    rows.append([*product_row("P3", price="1.00"), ""])
    first_p3 = 2 + [row[0] for row in rows].index("P3")
    job_id = imported(runtime, queue, principal, rows)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED.value
    named = problems_named(pg, job_id)
    assert [(p.field_value, p.message) for p in named] == [("P3", twice(first_p3, len(rows) + 1))]
    assert set(stored(pg).values()) == {"9.99"}
    assert "reason=some rows fail checks of the whole upload" in caplog.text


def test_the_look_for_a_sku_numbered_as_a_product_takes_each_skus_whole_key_whatever_the_statistics(
    pg: Database,
) -> None:
    """As the rolling merge sees its targets at the end: filled in its own transaction, with statistics
    from before, when they were empty. Joined by the catalog alone, 2,000 SKUs against 18,000 products
    take a quarter of a minute; looked up by their whole key, milliseconds."""
    with pg.write() as session:
        session.execute(text("ANALYZE product"))
        session.execute(text("ANALYZE sku"))
    job = ImportStatus(id=1, import_type="PRODUCT", specification="", state="IN_PROCESS", file_type="CSV",
                       catalog_id=-2, site_id=-3, account_id=1, submitted_by="ops", upload_key="", upload_bytes=0,
                       body_sha256="")  # fmt: skip
    products, skus = WRITERS[ImportType.PRODUCT].merge_plans(job) or []
    written = "1, 1, now(), now()"
    with pg.write() as session:
        session.execute(text("SET LOCAL enable_hashjoin = off"))
        session.execute(text("SET LOCAL enable_mergejoin = off"))
        session.execute(text("SET LOCAL statement_timeout = '3s'"))
        session.execute(
            text(
                "INSERT INTO product (catalog_id, sandbox_id, site_id, sku_number, created_job_id, updated_job_id,"
                f" created_at, updated_at) SELECT -2, 0, -3, 'P' || g, {written} FROM generate_series(1, 18000) g"
            )
        )
        session.execute(
            text(
                "INSERT INTO sku (catalog_id, sandbox_id, site_id, sku_number, product_sku_number, created_job_id,"
                f" updated_job_id, created_at, updated_at) SELECT -2, 0, -3, 'S' || g, 'P' || g, {written}"
                " FROM generate_series(1, 2000) g"
            )
        )
        assert key_in_two_targets(session, [products, skus], [18000, 2000]) is False
        session.execute(text("UPDATE sku SET catalog_id = -5, sku_number = 'P17' WHERE sku_number = 'S1998'"))
        assert key_in_two_targets(session, [products, skus], [18000, 2000]) is False  # another catalog's SKU
        session.execute(text("UPDATE sku SET sku_number = 'P17' WHERE sku_number = 'S1999'"))
        assert key_in_two_targets(session, [products, skus], [18000, 2000]) is True


CATEGORY_HEADER = ["Category Id", "Category Name", "Parent Category Id"]


def test_a_first_category_import_is_merged_while_staged_and_its_parents_are_still_checked(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, queue = rolling_runtime(pg, tmp_path)
    principal = make_principal(pg)

    def categories(rows: list[list[str]], catalog_id: int) -> int:
        body = make_csv(rows, header=CATEGORY_HEADER)
        job_id = submit(runtime, principal, body, import_type=ImportType.CATEGORY, catalog_id=catalog_id)
        rolling = plan(runtime, queue)
        drain(runtime, queue)
        rolling.join(10)
        return job_id

    tree = categories([[f"C{n}", f"c{n}", f"C{n - 1}" if n else ""] for n in range(25)], catalog_id=-2)
    orphan = categories([[f"D{n}", f"d{n}", f"D{n - 1}" if n else ""] for n in range(25)] + [["E", "e", "ZZ"]], -5)

    done = job(runtime, tree)
    assert (done.state, done.records_created) == (ImportState.COMPLETED.value, 25)
    assert job(runtime, orphan).state == ImportState.FAILED.value
    with pg.read() as session:
        written = session.execute(text("SELECT catalog_id, count(*) FROM category GROUP BY catalog_id")).all()
    assert [(p.row_number, p.message) for p in problems_named(pg, orphan)] == [
        (
            27,
            "Parent Category Id 'ZZ' names no category of catalog -5 imported before, "
            "nor one of a valid row of this file (a row of it with a problem is not imported)",
        )
    ]
    assert written == [(-2, 25)]
    assert caplog.text.count("import.rolling_merge_completed") == 1
    assert "reason=some rows fail checks of the whole upload" in caplog.text


def test_another_merge_waiting_for_the_merge_lock_makes_the_rolling_merge_step_aside(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, job_id, last_chunk, _ = all_but_the_last_chunk(pg, tmp_path)
    wait_for(lambda: advisory_holder(pg, MERGE_LOCK_ID) is not None, "the rolling merge to hold the merge lock")

    started = time.monotonic()
    with pg.write() as session:  # what a promote or another import's finalize does first
        session.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": MERGE_LOCK_ID})
        waited = time.monotonic() - started
    assert waited < 2.0
    wait_for(lambda: "another merge waits for the merge lock" in caplog.text, "the rolling merge to say why")
    assert stored(pg) == {}

    pipeline.run_chunk(runtime, *last_chunk)
    done = job(runtime, job_id)
    assert (done.state, done.records_created) == ("COMPLETED", 56)
    assert len(stored(pg)) == 56


def test_a_rolling_merge_whose_connection_dies_leaves_the_job_to_the_finalize_and_no_row_twice(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, job_id, last_chunk, _ = all_but_the_last_chunk(pg, tmp_path)
    pid = advisory_holder(pg, ROLLING_LOCKS + job_id)
    assert pid is not None
    wait_for(lambda: writes_products(pg, pid), "the rolling merge to write products")

    with pg.write() as session:  # as when its worker is killed: PostgreSQL rolls its transaction back
        session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
    wait_for(lambda: "import.rolling_merge_failed" in caplog.text, "the rolling merge to stop")
    assert stored(pg) == {}

    pipeline.run_chunk(runtime, *last_chunk)
    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.records_updated) == ("COMPLETED", 56, 0)
    assert len(stored(pg)) == 56


def test_imports_into_a_sandbox_are_merged_while_staged_and_promote_as_reviewed(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, queue = rolling_runtime(pg, tmp_path)
    ops = make_principal(pg)
    imported(runtime, queue, ops, catalog(20))
    box = sandboxes.create_sandbox(runtime, ops, "repricing")
    assert box.id is not None

    # P0..P9 repriced (with 4 SKUs), P10..P12 as production has them (with 2 SKUs), P20..P24 new
    rows = catalog(10, price="12.50") + catalog(3, first=10) + catalog(5, first=20)
    first = imported(runtime, queue, ops, rows, to_sandbox=True, sandbox_id=box.id)
    rows = catalog(5, price="13.00")  # P0..P4 again, now in a sandbox that has rows
    second = imported(runtime, queue, ops, rows, to_sandbox=True, sandbox_id=box.id)

    done = job(runtime, first)  # the repriced rows update what the sandbox showed of production; the rest are new
    assert (done.state, done.records_created, done.records_updated, done.records_skipped) == ("COMPLETED", 7, 14, 5)
    assert (job(runtime, second).records_created, job(runtime, second).records_updated) == (0, 7)
    assert stored(pg)["P0"] == "9.99"  # production is untouched until the promote
    assert sandboxes.promote(runtime, ops, box.id) == 21
    prices = stored(pg)
    assert (prices["P0"], prices["P0-S"], prices["P7"], prices["P12"], prices["P20"]) == (
        "13.00", "13.00", "12.50", "9.99", "9.99",
    )  # fmt: skip
    assert caplog.text.count("import.rolling_merge_completed") == 3


def test_a_sandbox_discarded_while_an_import_merges_into_it_keeps_none_of_its_rows(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, queue = rolling_runtime(pg, tmp_path)
    ops = make_principal(pg)
    box = sandboxes.create_sandbox(runtime, ops, "abandoned")
    assert box.id is not None
    imported(runtime, queue, ops, catalog(10), to_sandbox=True, sandbox_id=box.id)
    rows = catalog(40, price="12.50")  # its first rows update the sandbox's
    job_id = submit(runtime, ops, make_csv(rows, header=HEADER), to_sandbox=True, sandbox_id=box.id)
    plan(runtime, queue)
    _, last_chunk = queue.steps.pop()
    drain(runtime, queue)
    pid = advisory_holder(pg, ROLLING_LOCKS + job_id)
    assert pid is not None
    wait_for(lambda: writes_products(pg, pid), "the rolling merge to write products")

    started = time.monotonic()
    sandboxes.discard(runtime, ops, box.id)
    assert time.monotonic() - started < 2.0
    pipeline.run_chunk(runtime, *last_chunk)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED.value
    assert done.message == f"sandbox {box.id} was discarded before this import finished; nothing was written"
    with pg.read() as session:
        left = session.exec(select(Product).where(Product.sandbox_id == box.id)).all()
    assert left == []


def test_a_key_given_twice_in_a_sandbox_import_is_named_though_one_row_is_as_production_has_it(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A whole catalog copied into a first sandbox import, P3 repriced in a row appended chunks later: the
    # first P3 is left to production, so no index refuses the second.
    runtime, queue = rolling_runtime(pg, tmp_path)
    ops = make_principal(pg)
    imported(runtime, queue, ops, catalog(30))
    box = sandboxes.create_sandbox(runtime, ops, "repricing")
    assert box.id is not None
    rows = catalog(30)
    rows.append([*product_row("P3", price="1.00"), ""])
    first_p3 = 2 + [row[0] for row in rows].index("P3")

    job_id = imported(runtime, queue, ops, rows, to_sandbox=True, sandbox_id=box.id)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED.value
    named = problems_named(pg, job_id)
    assert [(p.row_number, p.field_value, p.message) for p in named] == [
        (len(rows) + 1, "P3", twice(first_p3, len(rows) + 1))
    ]
    assert sandboxes.get_sandbox(runtime, ops, box.id)[1] == 0


def test_a_change_taken_back_in_a_large_sandbox_import_leaves_the_record_to_production(
    pg: Database, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    runtime, queue = rolling_runtime(pg, tmp_path)
    ops = make_principal(pg)
    imported(runtime, queue, ops, catalog(20))
    box = sandboxes.create_sandbox(runtime, ops, "repricing")
    assert box.id is not None
    imported(runtime, queue, ops, catalog(10, price="12.50"), to_sandbox=True, sandbox_id=box.id)

    taken_back = imported(runtime, queue, ops, catalog(5), to_sandbox=True, sandbox_id=box.id)  # P0..P4 as before
    imported(runtime, queue, ops, catalog(5, price="8.00"))  # production reprices P0..P4 meanwhile

    done = job(runtime, taken_back)
    assert (done.state, done.records_created, done.records_updated) == ("COMPLETED", 0, 7)
    total = sandboxes.sandbox_changes(runtime, ops, box.id, 1, 50)[1]
    assert total == sandboxes.get_sandbox(runtime, ops, box.id)[1] == 7  # P5..P9, with P5's two SKUs
    assert sandboxes.promote(runtime, ops, box.id) == 7
    prices = stored(pg)
    assert (prices["P0"], prices["P0-S"], prices["P5-S"], prices["P9"]) == ("8.00", "8.00", "12.50", "12.50")
    assert caplog.text.count("import.rolling_merge_completed") == 4
