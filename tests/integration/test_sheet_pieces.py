"""A large sheet is read by two workers at once: the plan from its start, a piece from its middle. The import
lands as a reading from the start would land it, whether the piece is taken, taken over or never started."""

from __future__ import annotations

import io
import time
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from unittest import mock

from kombu.exceptions import OperationalError as BrokerError
from openpyxl import load_workbook
from sqlmodel import col, select

from app import jobs
from app.commerce.products import Product, Sku
from app.db import Database
from app.importing import pipeline, sheet_pieces
from app.importing.formats import FileType
from app.importing.normalized import NormalizedWriter
from app.importing.sheet_pieces import STALE_SECONDS, SheetPiece, SheetSplit
from app.jobs import ImportChunk, ImportState, OnError
from app.runtime import Runtime
from app.service import failed_rows
from tests.factories import CONTRACT_HEADER, make_xlsx, product_row, rewrite_sheet
from tests.integration.pipeline_driver import RecordingQueue, drain, job, make_principal, make_runtime, submit

HEADER = [*CONTRACT_HEADER, "options[Size]"]


def catalog(products: int) -> list[list[str]]:
    """Products 0, 1, ... each followed by two SKU rows of its own."""
    rows = []
    for n in range(products):
        rows.append([*product_row(f"P{n}"), ""])
        rows += [[*product_row(f"P{n}-{size}", **{"SKU Indicator": "Y"}), size] for size in ("S", "M")]
    return rows


@dataclass
class SecondWorker(RecordingQueue):
    """A queue standing for a second worker: what it does with the piece's task, each subclass says."""

    runtime: Runtime | None = None

    @property
    def ready(self) -> Runtime:
        assert self.runtime is not None
        return self.runtime


@dataclass
class IdleSecondWorker(SecondWorker):
    """A queue whose piece runs the moment the plan asks for it, as a second, idle worker would take it."""

    def enqueue_piece(self, job_id: int) -> None:
        pipeline.read_sheet_piece(self.ready, job_id)


def split_runtime(database: Database, tmp_path: Path, queue: RecordingQueue) -> tuple[Runtime, RecordingQueue]:
    """A runtime that reads every sheet in two, with this queue (and, for a second worker, its runtime)."""
    runtime, _ = make_runtime(database, tmp_path, chunk_rows=4)
    runtime = replace(runtime, queue=queue, settings=replace(runtime.settings, sheet_split_bytes=1))
    if isinstance(queue, SecondWorker):
        queue.runtime = runtime
    return runtime, queue


def chunks(database: Database, job_id: int) -> list[ImportChunk]:
    with database.read() as session:
        return list(
            session.exec(select(ImportChunk).where(ImportChunk.job_id == job_id).order_by(col(ImportChunk.chunk_no)))
        )


def piece(database: Database, job_id: int) -> SheetPiece:
    with database.read() as session:
        found = session.get(SheetPiece, job_id)
    assert found is not None
    return found


def landed(database: Database) -> tuple[list[str], list[tuple[str, str]]]:
    with database.read() as session:
        products = sorted(session.exec(select(Product.sku_number).where(Product.catalog_id == -2)))
        skus = sorted(session.exec(select(Sku.sku_number, Sku.product_sku_number).where(Sku.catalog_id == -2)))
    return products, [(sku, parent) for sku, parent in skus]


def expected(products: int) -> tuple[list[str], list[tuple[str, str]]]:
    names = [f"P{n}" for n in range(products)]
    return sorted(names), sorted((f"{name}-{size}", name) for name in names for size in ("S", "M"))


def test_the_second_half_read_by_another_worker_lands_with_every_sku_beside_its_product(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = split_runtime(database, tmp_path, IdleSecondWorker())
    job_id = submit(runtime, make_principal(database), make_xlsx(catalog(20), header=HEADER), FileType.XLSX)

    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.total_records, done.records_created) == (ImportState.COMPLETED, 60, 60)
    assert landed(database) == expected(20)
    halves = chunks(database, job_id)
    second = [chunk for chunk in halves if chunk.rows_key is not None]
    assert second and halves[-1].rows_key is not None and halves[0].rows_key is None  # the piece's chunks came last
    assert (second[0].first_row - 2) % 3 == 0  # the piece starts at a product's row, never at one of its SKUs
    assert piece(database, job_id).state == "joined"


def test_one_worker_alone_reads_the_whole_sheet_when_the_piece_has_not_started(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = split_runtime(database, tmp_path, RecordingQueue())
    job_id = submit(runtime, make_principal(database), make_xlsx(catalog(20), header=HEADER), FileType.XLSX)

    drain(runtime, queue)  # one step at a time: the plan reaches the middle before the piece's task runs

    done = job(runtime, job_id)
    assert (done.state, done.records_created) == (ImportState.COMPLETED, 60)
    assert landed(database) == expected(20)
    assert all(chunk.rows_key is None for chunk in chunks(database, job_id))
    assert piece(database, job_id).state == "taken"  # and its task, run after, read nothing


def test_failed_rows_of_both_halves_are_in_the_download(database: Database, tmp_path: Path) -> None:
    runtime, queue = split_runtime(database, tmp_path, IdleSecondWorker())
    rows = catalog(20)
    rows[3][HEADER.index("Retail Price")] = "cheap"  # a product in the first half
    rows[54][HEADER.index("Retail Price")] = "dear"  # and one in the second
    principal = make_principal(database)
    job_id = submit(runtime, principal, make_xlsx(rows, header=HEADER), FileType.XLSX, on_error=OnError.SKIP)

    drain(runtime, queue)

    assert any(chunk.rows_key for chunk in chunks(database, job_id))
    assert job(runtime, job_id).records_failed == 6  # each product with its two SKU rows
    _, _, body = failed_rows(runtime, principal, job_id)  # a workbook, as the upload was
    sheet = load_workbook(io.BytesIO(b"".join(body))).active
    assert sheet is not None
    skus = [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)]
    assert skus == ["P1", "P1-S", "P1-M", "P18", "P18-S", "P18-M"]


@dataclass
class DyingSecondWorker(SecondWorker):
    """A queue whose worker claims the piece and dies at once: its row is left "reading", untouched since."""

    def enqueue_piece(self, job_id: int) -> None:
        super().enqueue_piece(job_id)  # redelivered later, as a message whose worker was lost
        with self.ready.db.write() as session:
            found = session.get(SheetPiece, job_id)
            assert found is not None
            found.state, found.reader = "reading", "a worker that died"
            found.updated_at = jobs.utcnow() - timedelta(seconds=STALE_SECONDS + 1)


def test_a_piece_whose_worker_died_is_read_by_the_plan_and_the_import_lands_once(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = split_runtime(database, tmp_path, DyingSecondWorker())
    job_id = submit(runtime, make_principal(database), make_xlsx(catalog(20), header=HEADER), FileType.XLSX)

    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.records_created) == (ImportState.COMPLETED, 60)
    assert landed(database) == expected(20)
    assert all(chunk.rows_key is None for chunk in chunks(database, job_id))
    assert piece(database, job_id).state == "taken"


def test_a_piece_the_plan_took_between_its_task_looking_and_claiming_is_left_alone(
    database: Database, tmp_path: Path
) -> None:
    runtime, _ = split_runtime(database, tmp_path, RecordingQueue())
    job_id = submit(runtime, make_principal(database), make_xlsx(catalog(2), header=HEADER), FileType.XLSX)
    with database.write() as session:
        jobs.move(session, job_id, ImportState.IN_PROCESS)
        session.add(SheetPiece(job_id=job_id, target=100, state="queued"))
    seen_by_task, seen_by_plan = piece(database, job_id), piece(database, job_id)

    plan_took = sheet_pieces._take(runtime, seen_by_plan)
    task_claimed = sheet_pieces._claim(runtime, seen_by_task, "the piece's task")

    assert (plan_took, task_claimed) == (True, False)
    assert (piece(database, job_id).state, piece(database, job_id).reader) == ("taken", None)


def test_a_piece_left_unused_by_a_plan_that_failed_leaves_no_rows_behind(database: Database, tmp_path: Path) -> None:
    runtime, queue = split_runtime(database, tmp_path, IdleSecondWorker())
    body = damaged_row(make_xlsx(catalog(20), header=HEADER), "P2")  # in the first half
    job_id = submit(runtime, make_principal(database), body, FileType.XLSX)

    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.FAILED
    left = piece(database, job_id)
    assert left.state == "taken" and left.rows_key is not None  # the piece had read its half
    assert not runtime.storage.exists(left.rows_key)


@dataclass
class FailingSecondWorker(IdleSecondWorker):
    """A second worker whose disk is full while it reads the piece."""

    def enqueue_piece(self, job_id: int) -> None:
        def disk_full(*_: object) -> int:
            raise OSError(28, "No space left on device")

        with mock.patch.object(NormalizedWriter, "write_record", disk_full):
            super().enqueue_piece(job_id)


def test_a_piece_that_cannot_write_its_rows_is_read_by_the_plan_instead(database: Database, tmp_path: Path) -> None:
    runtime, queue = split_runtime(database, tmp_path, FailingSecondWorker())
    job_id = submit(runtime, make_principal(database), make_xlsx(catalog(20), header=HEADER), FileType.XLSX)

    drain(runtime, queue)

    assert (job(runtime, job_id).state, job(runtime, job_id).records_created) == (ImportState.COMPLETED, 60)
    assert landed(database) == expected(20)
    assert all(chunk.rows_key is None for chunk in chunks(database, job_id))
    assert piece(database, job_id).state == "taken"


def damaged_row(body: bytes, sku: str) -> bytes:
    """The workbook with the cell holding `sku` not closed."""
    return rewrite_sheet(
        body, lambda data: data.replace(f"<t>{sku}</t></is></c>".encode(), f"<t>{sku}</t></is>".encode(), 1)
    )


@dataclass
class SecondWorkerStillReading(SecondWorker):
    """A second worker that claimed the piece and is reading it; it said where it began: `began`."""

    began: tuple[int, int] | None = None

    def enqueue_piece(self, job_id: int) -> None:
        with self.ready.db.write() as session:
            found = session.get(SheetPiece, job_id)
            assert found is not None
            found.state, found.reader, found.updated_at = "reading", "a live worker", jobs.utcnow()
            if self.began:
                found.start, found.first_row = self.began


def test_a_piece_that_began_elsewhere_is_taken_by_the_plan_without_waiting_for_it(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = split_runtime(database, tmp_path, SecondWorkerStillReading(began=(12, 34)))  # not the cut
    job_id = submit(runtime, make_principal(database), make_xlsx(catalog(20), header=HEADER), FileType.XLSX)

    started = time.monotonic()
    drain(runtime, queue)

    assert time.monotonic() - started < STALE_SECONDS / 3  # it did not wait for the piece to go stale
    assert (job(runtime, job_id).state, job(runtime, job_id).records_created) == (ImportState.COMPLETED, 60)
    assert piece(database, job_id).state == "taken"  # the live worker stops at its next heartbeat


def test_a_piece_still_being_read_when_its_plan_fails_is_let_go(database: Database, tmp_path: Path) -> None:
    runtime, queue = split_runtime(database, tmp_path, SecondWorkerStillReading())
    body = damaged_row(make_xlsx(catalog(20), header=HEADER), "P2")
    job_id = submit(runtime, make_principal(database), body, FileType.XLSX)

    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.FAILED
    assert piece(database, job_id).state == "taken"


def test_two_workers_taking_over_the_same_stale_piece_do_not_both_read_it(database: Database, tmp_path: Path) -> None:
    runtime, _ = split_runtime(database, tmp_path, RecordingQueue())
    job_id = submit(runtime, make_principal(database), make_xlsx(catalog(2), header=HEADER), FileType.XLSX)
    with database.write() as session:
        session.add(SheetPiece(job_id=job_id, target=100, state="reading", reader="a worker that died",
                               updated_at=jobs.utcnow() - timedelta(seconds=STALE_SECONDS + 1)))  # fmt: skip
    seen = piece(database, job_id)

    claims = [sheet_pieces._claim(runtime, seen, reader) for reader in ("redelivered task", "another worker")]

    assert claims == [True, False]
    assert piece(database, job_id).reader == "redelivered task"


class BrokerDown(RecordingQueue):
    def enqueue_piece(self, job_id: int) -> None:
        raise BrokerError("the broker is down")


def test_a_piece_that_could_not_be_queued_is_read_by_the_plan(database: Database, tmp_path: Path) -> None:
    runtime, queue = split_runtime(database, tmp_path, BrokerDown())
    job_id = submit(runtime, make_principal(database), make_xlsx(catalog(20), header=HEADER), FileType.XLSX)

    drain(runtime, queue)

    assert (job(runtime, job_id).state, job(runtime, job_id).records_created) == (ImportState.COMPLETED, 60)
    assert piece(database, job_id).state == "taken"


def test_a_plan_run_beside_the_one_that_joined_the_piece_leaves_its_rows_alone(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = split_runtime(database, tmp_path, IdleSecondWorker())
    principal = make_principal(database)
    rows = catalog(20)
    rows[54][HEADER.index("Retail Price")] = "dear"
    job_id = submit(runtime, principal, make_xlsx(rows, header=HEADER), FileType.XLSX, on_error=OnError.SKIP)
    drain(runtime, queue)
    joined = piece(database, job_id)
    assert joined.state == "joined" and joined.rows_key is not None

    SheetSplit(runtime, job_id).release()  # what a second delivery of the plan does when it ends

    assert piece(database, job_id).state == "joined"
    assert runtime.storage.exists(joined.rows_key)
    _, _, body = failed_rows(runtime, principal, job_id)
    sheet = load_workbook(io.BytesIO(b"".join(body))).active
    assert sheet is not None
    assert [row[0] for row in sheet.iter_rows(min_row=2, values_only=True)] == ["P18", "P18-S", "P18-M"]
