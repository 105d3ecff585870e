"""A CSV whose encoding is known, and a spreadsheet, have their chunks validated while the plan still reads."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import delete, func, select
from sqlmodel import col

from app.commerce.products import Product, ProductStaging
from app.db import Database
from app.errors import Conflict
from app.importing import pipeline
from app.importing.formats import FileType
from app.importing.planning import ReadOptions
from app.jobs import ImportState
from app.runtime import Runtime
from app.service import failed_rows
from app.storage import LocalUploadStorage, StoredUpload
from tests.factories import make_csv, make_xlsx, product_row
from tests.integration.pipeline_driver import RecordingQueue, drain, job, make_principal, make_runtime, submit

UTF8 = ReadOptions(encoding="utf-8")  # what the API sets for a CSV that streamed in as valid UTF-8


class WorkerStopped(Exception):
    """Stands for the planning worker's process dying at that moment."""


@dataclass
class EagerWorkers(RecordingQueue):
    """A queue whose chunks run the moment they are enqueued, as an idle worker would take them while the
    plan goes on; it notes the job's chunk count as each chunk arrives, and can stop the plan."""

    runtime: Runtime | None = None
    seen_chunk_counts: list[int | None] = field(default_factory=list)
    stop_at_chunk: int | None = None

    def enqueue_chunk(self, job_id: int, chunk_no: int) -> None:
        assert self.runtime is not None
        if chunk_no == self.stop_at_chunk:
            raise WorkerStopped
        self.seen_chunk_counts.append(job(self.runtime, job_id).chunk_count)
        pipeline.run_chunk(self.runtime, job_id, chunk_no)


def with_eager_workers(
    database: Database, tmp_path: Path, chunk_rows: int, **settings: Any
) -> tuple[Runtime, EagerWorkers]:
    runtime, _ = make_runtime(database, tmp_path, chunk_rows=chunk_rows)
    workers = EagerWorkers()
    runtime = replace(runtime, queue=workers, settings=replace(runtime.settings, **settings))
    workers.runtime = runtime
    return runtime, workers


def plan(runtime: Runtime, job_id: int) -> None:
    pipeline.plan(runtime, job_id)


def stored_products(database: Database) -> list[str]:
    with database.read() as session:
        return sorted(session.execute(select(col(Product.sku_number)).where(col(Product.catalog_id) == -2)).scalars())


def staged(database: Database, job_id: int) -> int:
    with database.read() as session:
        count = select(func.count()).select_from(ProductStaging).where(col(ProductStaging.job_id) == job_id)
        return int(session.execute(count).scalar_one())


def assert_every_row_landed_once(runtime: Runtime, job_id: int, rows: int) -> None:
    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.processed_records) == (ImportState.COMPLETED, rows, rows)
    assert stored_products(runtime.db) == sorted(str(n) for n in range(rows))


def plan_stopped_at_chunk_3(database: Database, tmp_path: Path) -> tuple[Runtime, int]:
    """Six one-row chunks: the planning worker dies as it hands out the fourth, the first three done."""
    runtime, workers = with_eager_workers(database, tmp_path, chunk_rows=1)
    job_id = submit(runtime, make_principal(database), make_csv([product_row(str(n)) for n in range(6)]), reading=UTF8)
    workers.stop_at_chunk = 3
    with pytest.raises(WorkerStopped):
        plan(runtime, job_id)
    return runtime, job_id


def test_chunks_are_validated_while_the_plan_reads_and_the_import_lands_whole(
    database: Database, tmp_path: Path
) -> None:
    runtime, workers = with_eager_workers(database, tmp_path, chunk_rows=2)
    rows = [product_row(str(n)) for n in range(7)]
    job_id = submit(runtime, make_principal(database), make_csv(rows), reading=UTF8)

    plan(runtime, job_id)

    # The first three chunks reached a worker before the plan knew how many there would be.
    assert workers.seen_chunk_counts == [None, None, None, 4]
    assert_every_row_landed_once(runtime, job_id, 7)
    assert (job(runtime, job_id).total_records, job(runtime, job_id).chunk_count) == (7, 4)


def test_a_plan_stopped_after_handing_out_chunks_runs_again_and_every_row_lands_once(
    database: Database, tmp_path: Path
) -> None:
    runtime, job_id = plan_stopped_at_chunk_3(database, tmp_path)
    assert (job(runtime, job_id).chunk_count, job(runtime, job_id).chunks_done) == (None, 3)

    queue = RecordingQueue()
    again = replace(runtime, queue=queue)
    plan(again, job_id)  # what the reaper's hand-out does once the lease runs out
    drain(again, queue)

    assert_every_row_landed_once(runtime, job_id, 6)


def test_a_plan_run_again_with_another_chunk_size_fails_cleanly_instead_of_cutting_twice(
    database: Database, tmp_path: Path
) -> None:
    runtime, job_id = plan_stopped_at_chunk_3(database, tmp_path)

    other = replace(runtime, settings=replace(runtime.settings, chunk_rows=2), queue=RecordingQueue())
    plan(other, job_id)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED
    assert "IMPORTER_CHUNK_ROWS" in (done.message or "")
    assert stored_products(database) == []


def test_a_file_found_unreadable_after_chunks_were_validated_fails_whole_and_leaves_no_staging(
    database: Database, tmp_path: Path
) -> None:
    runtime, workers = with_eager_workers(database, tmp_path, chunk_rows=1, max_line_bytes=2000)
    rows = [*(product_row(str(n)) for n in range(6)), product_row("long", title="x" * 5000)]
    job_id = submit(runtime, make_principal(database), make_csv(rows), reading=UTF8)

    plan(runtime, job_id)

    done = job(runtime, job_id)
    assert len(workers.seen_chunk_counts) == 5  # five chunks were validated and staged before the long line
    assert done.state == ImportState.FAILED
    assert "a line of row 8 is longer than the limit of 2000 bytes" in (done.message or "")
    assert stored_products(database) == []
    assert staged(database, job_id) == 0


def long_rows(count: int) -> list[list[str]]:
    """Rows of about 490 bytes as the plan writes them: the database stores 4096-byte blocks in these tests,
    so that a sheet's chunks (of three rows, about 1470 bytes) become readable a few at a time while the
    plan writes the rest."""
    return [product_row(str(n), title=f"title {n} " + "x" * 400) for n in range(count)]


def test_a_sheets_chunks_are_validated_while_the_plan_still_reads_it(database: Database, tmp_path: Path) -> None:
    runtime, workers = with_eager_workers(database, tmp_path, chunk_rows=3)
    job_id = submit(runtime, make_principal(database), make_xlsx(long_rows(40)), file_type=FileType.XLSX)

    plan(runtime, job_id)

    done = job(runtime, job_id)
    assert (done.state, done.total_records, done.chunk_count) == (ImportState.COMPLETED, 40, 14)
    assert len(workers.seen_chunk_counts) == 14
    # Handed out before the plan knew the chunk count: on PostgreSQL at most two blocks are being stored
    # at once, so once the fourth block is cut (row 35 of 41) the first two are, and the five chunks
    # within their 8192 bytes are readable; how many more depends on how fast the stores finish.
    assert workers.seen_chunk_counts[:5] == [None] * 5
    assert_every_row_landed_once(runtime, job_id, 40)


def test_a_sheets_plan_stopped_after_handing_out_chunks_runs_again_and_every_row_lands_once(
    database: Database, tmp_path: Path
) -> None:
    runtime, workers = with_eager_workers(database, tmp_path, chunk_rows=3)
    job_id = submit(runtime, make_principal(database), make_xlsx(long_rows(40)), file_type=FileType.XLSX)
    workers.stop_at_chunk = 4  # the last of the five chunks surely handed out mid-plan (see the test above)
    with pytest.raises(WorkerStopped):
        plan(runtime, job_id)
    assert (job(runtime, job_id).chunk_count, job(runtime, job_id).chunks_done) == (None, 4)

    rows_key = job(runtime, job_id).rows_key
    assert rows_key is not None
    left_as_a_killed_plan_leaves_it(runtime, rows_key)
    principal = make_principal(database, "viewer")
    with pytest.raises(Conflict, match="still being read"):
        failed_rows(runtime, principal, job_id)

    pipeline.run_chunk(runtime, job_id, 4)  # its delivery reaches a worker before the plan runs again
    queue = RecordingQueue()
    again = replace(runtime, queue=queue)
    plan(again, job_id)
    drain(again, queue)

    assert_every_row_landed_once(runtime, job_id, 40)


def left_as_a_killed_plan_leaves_it(runtime: Runtime, rows_key: str) -> None:
    """The rows file as a plan killed mid-write leaves it, never finished: locally its `.part` file, in the
    database its blocks without the upload's row. (The stopped plans of these tests finish it.)"""
    storage = runtime.storage
    if isinstance(storage, LocalUploadStorage):
        path = storage.folder / rows_key
        path.rename(path.with_name(path.name + ".part"))
        return
    with runtime.db.write() as session:
        removed = session.execute(delete(StoredUpload).where(col(StoredUpload.key) == rows_key))
        assert removed.rowcount == 1  # type: ignore[attr-defined]


def test_a_sheet_found_too_long_after_chunks_were_validated_fails_whole_and_leaves_no_staging(
    database: Database, tmp_path: Path
) -> None:
    runtime, workers = with_eager_workers(database, tmp_path, chunk_rows=3, max_rows=30)
    job_id = submit(runtime, make_principal(database), make_xlsx(long_rows(40)), file_type=FileType.XLSX)

    plan(runtime, job_id)

    done = job(runtime, job_id)
    assert workers.seen_chunk_counts  # chunks were validated and staged before the 31st row
    assert done.state == ImportState.FAILED
    assert "more than 30 rows" in (done.message or "")
    assert stored_products(database) == []
    assert staged(database, job_id) == 0


def test_a_sheet_with_a_bad_header_hands_out_no_chunk(database: Database, tmp_path: Path) -> None:
    runtime, workers = with_eager_workers(database, tmp_path, chunk_rows=3)
    header = ["Product Title", "Retail Price"]  # no SKU Number
    body = make_xlsx([[f"title {n} " + "x" * 400, "9.99"] for n in range(40)], header=header)
    job_id = submit(runtime, make_principal(database), body, file_type=FileType.XLSX)

    plan(runtime, job_id)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED and "header row" in (done.message or "")
    assert workers.seen_chunk_counts == []
    assert staged(database, job_id) == 0
