"""Error policy, dry run, cancel, retry and the failed-rows file, on real SQLite and PostgreSQL."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest
from sqlmodel import select

from app.accounts import Role
from app.api.rendering import render_status
from app.commerce.products import Product, ProductStaging
from app.db import Database
from app.errors import Conflict, IdempotencyMismatch, NotFound
from app.importing import pipeline
from app.jobs import ImportState, ImportStatus, OnError
from app.service import cancel_job, control, failed_rows, job_status, list_problems, read_record, retry_job
from specifications import ImportType
from tests.factories import CONTRACT_HEADER, make_csv, product_row
from tests.integration.pipeline_driver import drain, job, make_principal, make_runtime, stored_uploads, submit


def skus(db: Database) -> list[str]:
    with db.read() as session:
        return sorted(session.exec(select(Product.sku_number)).all())


def mixed_rows() -> list[list[str]]:
    return [
        product_row("1"),
        product_row("2", price="x"),
        product_row("3"),
        product_row("4", title=" "),
        product_row("5"),
    ]


def test_under_skip_valid_rows_land_and_invalid_rows_are_reported(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)

    job_id = submit(runtime, principal, make_csv(mixed_rows()), on_error=OnError.SKIP)
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.records_failed) == (ImportState.COMPLETED, 3, 2)
    assert done.problem_count == 3  # the two invalid rows, and a warning: category 2007 is not imported yet
    assert skus(database) == ["1", "3", "5"]


def test_under_skip_more_invalid_rows_than_max_errors_fails_and_writes_nothing(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)

    job_id = submit(runtime, principal, make_csv(mixed_rows()), on_error=OnError.SKIP, max_errors=1)
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED
    assert "more than maxErrors=1, so nothing was written" in (done.message or "")
    assert skus(database) == []
    with database.read() as session:
        assert session.exec(select(ProductStaging)).all() == []


def test_under_skip_a_repeated_key_keeps_its_first_row(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=1)
    principal = make_principal(database)
    rows = [product_row("1", title="first"), product_row("2"), product_row("1", title="second")]

    job_id = submit(runtime, principal, make_csv(rows), on_error=OnError.SKIP)
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.records_failed) == (ImportState.COMPLETED, 2, 1)
    with database.read() as session:
        first = session.exec(select(Product).where(Product.sku_number == "1")).one()
    assert first.product_title == "first"


def test_a_dry_run_counts_what_would_change_and_writes_nothing(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    submit(runtime, principal, make_csv([product_row("1"), product_row("2")]))
    drain(runtime, queue)

    job_id = submit(
        runtime, principal, make_csv([product_row("1"), product_row("2", price="7.00"), product_row("3")]), dry_run=True
    )
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.dry_run, done.message) == (ImportState.COMPLETED, True, "dry run: nothing was written")
    assert (done.records_created, done.records_updated, done.records_skipped) == (1, 1, 1)
    assert skus(database) == ["1", "2"]


def test_a_dry_run_fails_when_the_real_import_would(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)

    job_id = submit(runtime, make_principal(database), make_csv(mixed_rows()), dry_run=True)
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED and (done.message or "").endswith("(onError=abort) (dry run)")


def test_a_cancelled_import_writes_nothing_even_when_its_chunks_run_later(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=1)
    principal = make_principal(database)
    job_id = submit(runtime, principal, make_csv([product_row(str(n)) for n in range(4)]))
    _, args = queue.steps.popleft()
    pipeline.plan(runtime, *args)
    _, first = queue.steps.popleft()
    pipeline.run_chunk(runtime, *first)

    cancel_job(runtime, principal, job_id)
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.message) == (ImportState.CANCELLED, "cancelled by ops")
    assert skus(database) == []
    with database.read() as session:
        assert session.exec(select(ProductStaging)).all() == []
    with pytest.raises(Conflict, match="is already CANCELLED; only an unfinished import can be cancelled"):
        cancel_job(runtime, principal, job_id)


def test_someone_watching_sees_the_rows_failed_so_far_and_what_a_cancelled_import_had_found(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=2)
    principal = make_principal(database)
    job_id = submit(runtime, principal, make_csv(mixed_rows()), on_error=OnError.SKIP)
    _, args = queue.steps.popleft()
    pipeline.plan(runtime, *args)
    _, first = queue.steps.popleft()
    pipeline.run_chunk(runtime, *first)  # rows 1 and 2: product 2's price is no number

    running = render_status(job_status(runtime, principal, job_id))
    cancel_job(runtime, principal, job_id)
    cancelled = render_status(job_status(runtime, principal, job_id))

    assert (running["status"], running["recordsFailed"], running["problemCount"]) == ("IN_PROCESS", 1, 1)
    assert (cancelled["status"], cancelled["recordsFailed"], cancelled["problemCount"]) == ("CANCELLED", 1, 1)


def test_a_failed_import_is_retried_from_its_stored_upload(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    job_id = submit(runtime, principal, make_csv([product_row("1")]))
    cancel_job(runtime, principal, job_id)
    queue.steps.clear()

    retry = retry_job(runtime, principal, job_id)
    drain(runtime, queue)

    assert retry.retry_of == job_id
    assert job(runtime, job_id).retried_as == retry.id
    assert job(runtime, retry.id or 0).state == ImportState.COMPLETED
    assert skus(database) == ["1"]
    with pytest.raises(Conflict, match="already retried as import"):
        retry_job(runtime, principal, job_id)
    with pytest.raises(Conflict, match="only a FAILED or CANCELLED import can be retried"):
        retry_job(runtime, principal, retry.id or 0)


def test_a_retry_that_loses_the_race_to_another_names_the_import_that_won(
    database: Database, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    principal = make_principal(database)
    job_id = submit(runtime, principal, make_csv([product_row("1")]))
    cancel_job(runtime, principal, job_id)
    won: list[int] = []
    check = control._check_specification

    def another_retry_meanwhile(failed: ImportStatus) -> None:
        check(failed)
        if not won:  # the retry below checks the specification too: it must not start a third
            won.append(0)
            won[0] = retry_job(runtime, principal, job_id).id or 0

    monkeypatch.setattr(control, "_check_specification", another_retry_meanwhile)

    with pytest.raises(Conflict) as refused:
        retry_job(runtime, principal, job_id)

    assert refused.value.detail == f"import {job_id} was already retried as import {won[0]}"
    assert job(runtime, job_id).retried_as == won[0]


def test_an_importer_cannot_see_or_control_another_accounts_import(database: Database, tmp_path: Path) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    owner = make_principal(database, "owner", Role.IMPORTER)
    other = make_principal(database, "other", Role.IMPORTER)
    job_id = submit(runtime, owner, make_csv([product_row("1")]))

    for action in (cancel_job, retry_job):
        with pytest.raises(NotFound):
            action(runtime, other, job_id)
    with pytest.raises(NotFound):
        list_problems(runtime, other, job_id, 1, 10)


def test_the_failed_rows_file_holds_the_invalid_rows_with_their_errors_and_round_trips(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    rows = [product_row("1"), product_row("=cmd", price="x"), product_row("3", title="-3"), product_row("4", title=" ")]
    job_id = submit(runtime, principal, make_csv(rows))
    drain(runtime, queue)

    media, name, body = failed_rows(runtime, principal, job_id)
    text = b"".join(body).decode("utf-8")

    assert (media, name) == ("text/csv; charset=utf-8", f"import-{job_id}-failed-rows.csv")
    lines = list(csv.reader(io.StringIO(text)))
    assert lines[0] == [*CONTRACT_HEADER, "Error"]
    assert [line[0] for line in lines[1:]] == ["'=cmd", "4"]
    assert lines[1][-1] == "Retail Price must be a decimal number, got 'x'"
    assert lines[2][-1] == "Missing Required Data: Product Title is required"

    fixed = [line[:-1] for line in lines[1:]]
    fixed[0][7], fixed[1][2] = "2.50", "Fixed title"
    retry_id = submit(runtime, principal, make_csv(fixed))
    drain(runtime, queue)

    assert job(runtime, retry_id).state == ImportState.COMPLETED
    assert skus(database) == ["4", "=cmd"]


def test_a_cell_a_spreadsheet_could_run_after_a_tab_is_neutralised_too(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    rows = [product_row("1", price="x", **{"Product URL": "\t=HYPERLINK(1)", "UPC": "\t@SUM(2)"})]
    job_id = submit(runtime, principal, make_csv(rows))
    drain(runtime, queue)

    _, _, body = failed_rows(runtime, principal, job_id)
    line = list(csv.reader(io.StringIO(b"".join(body).decode("utf-8"))))[1]

    assert (line[6], line[8]) == ("'\t=HYPERLINK(1)", "'\t@SUM(2)")
    again = submit(runtime, principal, make_csv([[*line[:7], "2.50", *line[8:-1]]]))  # the price fixed
    drain(runtime, queue)
    assert job(runtime, again).state == ImportState.COMPLETED
    stored = read_record(runtime, ImportType.PRODUCT, ["1"], -2, -3)
    assert (stored["product_url"], stored["upc"]) == ("=HYPERLINK(1)", "@SUM(2)")  # as the first import read them


def test_a_formula_after_another_separator_in_a_cell_stays_inside_its_quoted_cell(
    database: Database, tmp_path: Path
) -> None:
    # A spreadsheet whose list separator is ';' (or one that splits at tabs) would cut an unquoted cell there,
    # and the cell after the cut would start with the formula (OWASP: wrap every cell in double quotes).
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    rows = [product_row("1", price="x", **{"Product URL": "a;=HYPERLINK(1)", "UPC": "b\t@SUM(2)"})]
    job_id = submit(runtime, principal, make_csv(rows))
    drain(runtime, queue)

    text = b"".join(failed_rows(runtime, principal, job_id)[2]).decode("utf-8")

    header, row = text.splitlines()
    assert header.startswith('"SKU Number","SKU Indicator",')
    assert row.startswith('"1",')
    assert '"a;=HYPERLINK(1)"' in row
    assert '"b\t@SUM(2)"' in row
    line = list(csv.reader(io.StringIO(text)))[1]
    again = submit(runtime, principal, make_csv([[*line[:7], "2.50", *line[8:-1]]]))  # the price fixed
    drain(runtime, queue)
    assert job(runtime, again).state == ImportState.COMPLETED
    stored = read_record(runtime, ImportType.PRODUCT, ["1"], -2, -3)
    assert (stored["product_url"], stored["upc"]) == ("a;=HYPERLINK(1)", "b\t@SUM(2)")


def test_the_failed_rows_file_fixed_and_sent_back_as_it_is_imports_round_after_round(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    rows = [product_row("1"), product_row("2", price="x"), product_row("3", title=" ")]
    first = submit(runtime, principal, make_csv(rows))
    drain(runtime, queue)

    lines = list(csv.reader(io.StringIO(b"".join(failed_rows(runtime, principal, first)[2]).decode("utf-8"))))
    lines[1][7] = "2.50"  # the price fixed; the title left for the next round, its Error cell kept as it was
    second = submit(runtime, principal, make_csv(lines[1:], header=lines[0]), on_error=OnError.SKIP)
    drain(runtime, queue)

    assert (job(runtime, second).state, job(runtime, second).records_created) == (ImportState.COMPLETED, 1)
    again = list(csv.reader(io.StringIO(b"".join(failed_rows(runtime, principal, second)[2]).decode("utf-8"))))
    assert again[0] == [*CONTRACT_HEADER, "Error"]
    assert again[1][-1] == "Missing Required Data: Product Title is required"
    again[1][2] = "A title"
    third = submit(runtime, principal, make_csv(again[1:], header=again[0]))
    drain(runtime, queue)

    assert job(runtime, third).state == ImportState.COMPLETED
    assert skus(database) == ["2", "3"]


def test_the_failed_rows_file_puts_each_message_under_its_error_header_when_a_row_runs_past_the_last_header(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    job_id = submit(runtime, principal, make_csv([product_row("1"), [*product_row("2"), "stray"]]))
    drain(runtime, queue)

    text = b"".join(failed_rows(runtime, principal, job_id)[2]).decode("utf-8")

    header, row = list(csv.reader(io.StringIO(text)))
    assert header == [*CONTRACT_HEADER, "Error"]
    assert dict(zip(header, row, strict=False))["Error"] == "a value stands in column L, beyond the last header"
    assert row[len(header) :] == ["stray"]


def test_an_idempotency_key_reused_with_another_body_is_refused_and_leaves_no_upload_stored(
    database: Database, tmp_path: Path
) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    principal = make_principal(database)
    first = submit(runtime, principal, make_csv([product_row("1")]), idempotency_key="nightly-1")
    before = stored_uploads(runtime)

    with pytest.raises(IdempotencyMismatch, match=f"already used for import {first} with a different body"):
        submit(runtime, principal, make_csv([product_row("2")]), idempotency_key="nightly-1")

    assert len(before) == 1
    assert stored_uploads(runtime) == before
