"""ORDER imports on real SQLite and PostgreSQL: consecutive rows make an order, which lands whole or not at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select

from app.accounts import Principal
from app.commerce.orders import OrderItem
from app.db import Database
from app.errors import NotFound
from app.jobs import ImportProblem, ImportState, OnError
from app.runtime import Runtime
from app.service import read_record, sandboxes
from specifications import ImportType
from tests.factories import make_csv, product_row
from tests.integration.pipeline_driver import RecordingQueue, drain, job, make_principal, make_runtime, submit

HEADER = ["Order Number", "Customer Id", "Currency", "Order Total", "SKU Number", "Quantity", "Item Price"]


def selling_a_and_b(
    database: Database, tmp_path: Path, chunk_rows: int = 2
) -> tuple[Runtime, RecordingQueue, Principal]:
    """A service whose catalog 1 sells products A and B, and the account that imports orders."""
    runtime, queue = make_runtime(database, tmp_path, chunk_rows)
    principal = make_principal(database)
    submit(runtime, principal, make_csv([product_row("A"), product_row("B")]), catalog_id=1)
    drain(runtime, queue)
    return runtime, queue, principal


def import_orders(
    runtime: Runtime,
    queue: RecordingQueue,
    principal: Principal,
    rows: list[list[str]],
    header: list[str],
    **options: Any,
) -> int:
    """Import order rows into catalog 1, to the end; the job's id."""
    job_id = submit(
        runtime, principal, make_csv(rows, header=header), catalog_id=1, import_type=ImportType.ORDER, **options
    )
    drain(runtime, queue)
    return job_id


def messages(db: Database, job_id: int) -> list[tuple[int | None, str]]:
    with db.read() as session:
        found = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.row_number))
        ).all()
    return [(p.row_number, p.message) for p in found if p.severity == "error"]


def test_orders_span_consecutive_rows_with_computed_totals_and_update_whole(database: Database, tmp_path: Path) -> None:
    runtime, queue, principal = selling_a_and_b(database, tmp_path, chunk_rows=1)
    rows = [["SO-1", "", "eur", "7.98", "A", "2", "3.99"], ["SO-1", "", "", "", "B", "1", "0"],
            ["SO-2", "", "USD", "", "B", "3", "1.25"]]  # fmt: skip

    first = import_orders(runtime, queue, principal, rows, HEADER)
    again = import_orders(runtime, queue, principal, [["SO-1", "", "EUR", "", "A", "1", "3.99"]], HEADER)

    assert job(runtime, first).state == ImportState.COMPLETED and job(runtime, first).total_records == 3
    assert job(runtime, again).state == ImportState.COMPLETED
    order = read_record(runtime, ImportType.ORDER, ["SO-1"], 1, -3)
    assert (order["currency"], order["order_total"], order["item_count"]) == ("EUR", "3.99", 1)
    assert [(item["line_no"], item["sku_number"], item["quantity"]) for item in order["items"]] == [(1, "A", 1)]  # type: ignore[attr-defined]
    assert read_record(runtime, ImportType.ORDER, ["SO-2"], 1, -3)["order_total"] == "3.75"


def test_an_order_with_a_bad_total_an_unknown_sku_or_a_repeated_number_lands_nowhere(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue, principal = selling_a_and_b(database, tmp_path, chunk_rows=2)
    rows = [["SO-1", "", "", "9.99", "A", "1", "3.99"],
            ["SO-2", "", "", "", "A", "1", "1"], ["SO-2", "", "", "", "ZZZ", "1", "1"],
            ["SO-3", "", "", "", "A", "1", "1"],
            ["SO-4", "", "", "", "A", "1", "1"], ["SO-3", "", "", "", "A", "2", "1"]]  # fmt: skip

    job_id = import_orders(runtime, queue, principal, rows, HEADER, on_error=OnError.SKIP)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.records_failed) == (ImportState.COMPLETED, 1, 5)
    assert messages(database, job_id) == [
        (2, "Order Total 9.99 of order 'SO-1' does not match its items' total 3.99"),
        (3, "this row belongs to order 'SO-2', which has a problem in row 4"),
        (4, "unknown SKU Number 'ZZZ' in catalog 1"),
        (5, "this row belongs to order 'SO-3', which has a problem in row 7"),
        (7, "Order Number 'SO-3' appears again after another order (its first rows start at 5)"),
    ]
    assert read_record(runtime, ImportType.ORDER, ["SO-4"], 1, -3)["item_count"] == 1


def test_an_order_whose_own_fields_change_counts_its_rows_updated(database: Database, tmp_path: Path) -> None:
    runtime, queue, principal = selling_a_and_b(database, tmp_path)
    header = [*HEADER, "Status"]
    submitted = [["SO-1", "", "EUR", "", "A", "2", "3.99", "SUBMITTED"], ["SO-1", "", "", "", "B", "1", "1", ""]]
    shipped = [[*submitted[0][:-1], "SHIPPED"], submitted[1]]

    def run(rows: list[list[str]]) -> tuple[int, int, int]:
        job_id = import_orders(runtime, queue, principal, rows, header)
        done = job(runtime, job_id)
        assert done.state == ImportState.COMPLETED
        return done.records_created, done.records_updated, done.records_skipped

    assert run(submitted) == (2, 0, 0)
    assert run(submitted) == (0, 0, 2)
    assert run(shipped) == (0, 2, 0)
    assert read_record(runtime, ImportType.ORDER, ["SO-1"], 1, -3)["status"] == "SHIPPED"
    assert run(shipped[:1]) == (0, 1, 0)  # one line fewer: the order's total and item count change
    assert read_record(runtime, ImportType.ORDER, ["SO-1"], 1, -3)["item_count"] == 1


def test_every_row_of_an_order_with_a_problem_is_reported_and_none_lands(database: Database, tmp_path: Path) -> None:
    runtime, queue, principal = selling_a_and_b(database, tmp_path, chunk_rows=10)
    rows = [["SO-1", "", "XXX", "", "A", "1", "1"], ["SO-1", "", "", "", "A", "1", "1"],
            ["SO-2", "", "", "", "A", "1", "1"], ["SO-2", "", "EUR", "", "A", "1", "1"],
            ["SO-2", "", "USD", "", "A", "1", "1"],
            ["SO-3", "", "", "5", "A", "1", "1"], ["SO-3", "", "", "", "A", "1", "1"],
            ["SO-4", "", "EUR", "", "A", "1", "1"]]  # fmt: skip

    job_id = import_orders(runtime, queue, principal, rows, HEADER, on_error=OnError.SKIP)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.records_failed) == (ImportState.COMPLETED, 1, 7)
    assert messages(database, job_id) == [
        (2, "Currency must be an ISO 4217 currency code such as USD or EUR, got 'XXX'"),
        (3, "this row belongs to order 'SO-1', which has an invalid row (2)"),
        (4, "this row belongs to order 'SO-2', which has a problem in row 6"),
        (5, "this row belongs to order 'SO-2', which has a problem in row 6"),
        (6, "Currency 'USD' differs from 'EUR' in row 5, the first of order 'SO-2' to give it"),
        (7, "Order Total 5 of order 'SO-3' does not match its items' total 2"),
        (8, "this row belongs to order 'SO-3', which has a problem in row 7"),
    ]
    with database.read() as session:
        named = session.exec(select(ImportProblem).where(ImportProblem.job_id == job_id, ImportProblem.row_number == 6))
        assert [(p.column, p.field_name, p.field_value) for p in named] == [("C", "Currency", "USD")]
    for order in ("SO-1", "SO-2", "SO-3"):
        with pytest.raises(NotFound):
            read_record(runtime, ImportType.ORDER, [order], 1, -3)
    assert read_record(runtime, ImportType.ORDER, ["SO-4"], 1, -3)["item_count"] == 1


def test_an_order_imported_into_a_sandbox_is_counted_against_what_the_sandbox_shows(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue, principal = selling_a_and_b(database, tmp_path)
    header = [*HEADER, "Status"]
    one = [["SO-1", "", "EUR", "", "A", "2", "3.99", "SUBMITTED"], ["SO-1", "", "", "", "B", "1", "1", ""]]
    two = [["SO-2", "", "EUR", "", "B", "1", "5", "SUBMITTED"]]
    import_orders(runtime, queue, principal, one + two, header)
    box = sandboxes.create_sandbox(runtime, principal, "shipping")
    assert box.id is not None
    shipped = [[*one[0][:-1], "SHIPPED"], one[1]]
    new = [["SO-3", "", "EUR", "", "A", "1", "3.99", "SUBMITTED"]]

    job_id = import_orders(runtime, queue, principal, shipped + two + new, header, to_sandbox=True, sandbox_id=box.id)

    done = job(runtime, job_id)
    # SO-1's two lines update an order production holds, SO-2 is as production has it, SO-3 is new.
    assert (done.records_created, done.records_updated, done.records_skipped) == (1, 2, 1)
    assert read_record(runtime, ImportType.ORDER, ["SO-1"], 1, -3, box.id)["status"] == "SHIPPED"
    assert read_record(runtime, ImportType.ORDER, ["SO-1"], 1, -3)["status"] == "SUBMITTED"


def test_an_order_imported_into_a_sandbox_as_production_has_it_is_left_to_production(
    database: Database, tmp_path: Path
) -> None:
    # Every open order exported and imported into a sandbox to ship one: the others are no change to review.
    runtime, queue, principal = selling_a_and_b(database, tmp_path)
    header = [*HEADER, "Status"]
    one = [["SO-1", "", "EUR", "", "A", "2", "3.99", "SUBMITTED"], ["SO-1", "", "", "", "B", "1", "1", ""]]
    two = [["SO-2", "", "EUR", "", "B", "1", "5", "SUBMITTED"]]
    import_orders(runtime, queue, principal, one + two, header)
    box = sandboxes.create_sandbox(runtime, principal, "shipping")
    assert box.id is not None
    shipped = [[*one[0][:-1], "SHIPPED"], one[1]]

    job_id = import_orders(runtime, queue, principal, shipped + two, header, to_sandbox=True, sandbox_id=box.id)
    import_orders(runtime, queue, principal, [[*two[0][:-1], "CANCELLED"]], header)  # production moves on

    done = job(runtime, job_id)
    assert (done.records_created, done.records_updated, done.records_skipped) == (0, 2, 1)
    assert read_record(runtime, ImportType.ORDER, ["SO-2"], 1, -3, box.id)["status"] == "CANCELLED"
    changes = sandboxes.sandbox_changes(runtime, principal, box.id, 1, 10)[0]
    assert [change.key for change in changes] == [{"order_number": "SO-1"}]
    assert sandboxes.get_sandbox(runtime, principal, box.id)[1] == 3  # SO-1 whole: the order and its two lines
    assert sandboxes.promote(runtime, principal, box.id) == 3  # production's later change of SO-2 is no conflict
    assert read_record(runtime, ImportType.ORDER, ["SO-2"], 1, -3)["status"] == "CANCELLED"
    assert read_record(runtime, ImportType.ORDER, ["SO-1"], 1, -3)["status"] == "SHIPPED"


def test_orders_imported_into_a_sandbox_again_are_counted_against_what_it_shows(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue, principal = selling_a_and_b(database, tmp_path)
    header = [*HEADER, "Status"]
    one = [["SO-1", "", "EUR", "", "A", "2", "3.99", "SUBMITTED"], ["SO-1", "", "", "", "B", "1", "1", ""]]
    two = [["SO-2", "", "EUR", "", "B", "1", "5", "SUBMITTED"]]
    import_orders(runtime, queue, principal, one + two, header)
    box = sandboxes.create_sandbox(runtime, principal, "shipping")
    assert box.id is not None
    shipped = [[*one[0][:-1], "SHIPPED"], one[1]]
    import_orders(runtime, queue, principal, shipped + two, header, to_sandbox=True, sandbox_id=box.id)

    again = import_orders(runtime, queue, principal, shipped + two, header, to_sandbox=True, sandbox_id=box.id)

    done = job(runtime, again)
    assert (done.state, done.records_created, done.records_updated, done.records_skipped) == ("COMPLETED", 0, 0, 3)
    assert read_record(runtime, ImportType.ORDER, ["SO-1"], 1, -3, box.id)["status"] == "SHIPPED"


def test_an_order_promoted_from_a_sandbox_with_fewer_lines_keeps_only_those(database: Database, tmp_path: Path) -> None:
    runtime, queue, principal = selling_a_and_b(database, tmp_path)
    three = [["SO-1", "", "EUR", "", "A", "1", "1"], ["SO-1", "", "", "", "B", "1", "2"],
             ["SO-1", "", "", "", "A", "2", "1"]]  # fmt: skip
    import_orders(runtime, queue, principal, three, HEADER)
    box = sandboxes.create_sandbox(runtime, principal, "one line")
    assert box.id is not None
    import_orders(runtime, queue, principal, three[:1], HEADER, to_sandbox=True, sandbox_id=box.id)
    in_sandbox = read_record(runtime, ImportType.ORDER, ["SO-1"], 1, -3, box.id)
    assert (in_sandbox["item_count"], len(in_sandbox["items"])) == (1, 1)  # type: ignore[arg-type]
    assert "base_job_id" not in in_sandbox and "base_job_id" not in in_sandbox["items"][0]  # type: ignore[index]

    sandboxes.promote(runtime, principal, box.id)

    order = read_record(runtime, ImportType.ORDER, ["SO-1"], 1, -3)
    assert (order["item_count"], order["order_total"]) == (1, "1")
    assert [(item["line_no"], item["sku_number"]) for item in order["items"]] == [(1, "A")]  # type: ignore[attr-defined]


def test_an_order_of_one_invalid_row_is_reported_and_the_other_orders_land(database: Database, tmp_path: Path) -> None:
    runtime, queue, principal = selling_a_and_b(database, tmp_path, chunk_rows=10)
    rows = [["SO-1", "", "EUR", "", "A", "1", "1"],
            ["SO-2", "", "EUR", "", "A", "x", "1"],
            ["SO-3", "", "EUR", "", "A", "1", "1"], ["SO-3", "", "EUR", "", "B", "1", "1"],
            ["SO-4", "", "EUR", "", "A", "y", "1"], ["SO-4", "", "EUR", "", "B", "z", "1"]]  # fmt: skip

    job_id = import_orders(runtime, queue, principal, rows, HEADER, on_error=OnError.SKIP)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.records_failed) == (ImportState.COMPLETED, 3, 3)
    assert [row for row, _ in messages(database, job_id)] == [3, 6, 7]
    assert read_record(runtime, ImportType.ORDER, ["SO-3"], 1, -3)["item_count"] == 2
    for order in ("SO-2", "SO-4"):
        with pytest.raises(NotFound):
            read_record(runtime, ImportType.ORDER, [order], 1, -3)


def test_an_order_imported_again_into_another_catalog_moves_there_with_its_lines(
    database: Database, tmp_path: Path
) -> None:
    # Its first import named the wrong catalog: the corrected file names the catalog whose SKUs the lines are.
    runtime, queue, principal = selling_a_and_b(database, tmp_path)
    submit(runtime, principal, make_csv([product_row("A"), product_row("C")]), catalog_id=2)
    drain(runtime, queue)
    rows = [["SO-1", "", "EUR", "", "A", "1", "3.99"], ["SO-2", "", "EUR", "", "A", "1", "3.99"]]
    import_orders(runtime, queue, principal, rows, HEADER)

    def into_catalog_2(rows: list[list[str]]) -> tuple[int, int, int]:
        job_id = submit(runtime, principal, make_csv(rows, header=HEADER), catalog_id=2, import_type=ImportType.ORDER)
        drain(runtime, queue)
        done = job(runtime, job_id)
        assert done.state == ImportState.COMPLETED
        return done.records_created, done.records_updated, done.records_skipped

    # SO-1's line is as stored but for its catalog; SO-2 now sells catalog 2's C.
    corrected = [["SO-1", "", "EUR", "", "A", "1", "3.99"], ["SO-2", "", "EUR", "", "C", "1", "3.99"]]
    assert into_catalog_2(corrected) == (0, 2, 0)
    assert into_catalog_2(corrected) == (0, 0, 2)
    for number, sku in (("SO-1", "A"), ("SO-2", "C")):
        order = read_record(runtime, ImportType.ORDER, [number], 2, -3)
        assert order["catalog_id"] == 2
        assert [item["sku_number"] for item in order["items"]] == [sku]  # type: ignore[attr-defined]
    with database.read() as session:
        lines = session.exec(select(OrderItem.order_number, OrderItem.catalog_id).order_by(col(OrderItem.order_number)))
        assert list(lines) == [("SO-1", 2), ("SO-2", 2)]


def test_an_order_whose_rows_give_two_order_totals_is_a_problem(database: Database, tmp_path: Path) -> None:
    runtime, queue, principal = selling_a_and_b(database, tmp_path, chunk_rows=10)
    rows = [["SO-1", "", "EUR", "7.98", "A", "2", "3.99"], ["SO-1", "", "", "99", "B", "1", "0"],
            ["SO-2", "", "EUR", "7.98", "A", "2", "3.99"], ["SO-2", "", "", "7.980", "B", "1", "0"]]  # fmt: skip

    job_id = import_orders(runtime, queue, principal, rows, HEADER, on_error=OnError.SKIP)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.records_failed) == (ImportState.COMPLETED, 2, 2)
    assert messages(database, job_id) == [
        (2, "this row belongs to order 'SO-1', which has a problem in row 3"),
        (3, "Order Total '99' differs from '7.98' in row 2, the first of order 'SO-1' to give it"),
    ]
    with pytest.raises(NotFound):
        read_record(runtime, ImportType.ORDER, ["SO-1"], 1, -3)
    assert read_record(runtime, ImportType.ORDER, ["SO-2"], 1, -3)["order_total"] == "7.98"


def test_an_item_of_no_or_a_negative_quantity_or_price_is_a_problem_of_its_row(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue, principal = selling_a_and_b(database, tmp_path, chunk_rows=10)
    rows = [["SO-1", "", "EUR", "", "A", "-2", "3.99"], ["SO-2", "", "EUR", "", "A", "0", "3.99"],
            ["SO-3", "", "EUR", "", "A", "1", "-0.01"], ["SO-4", "", "EUR", "0", "A", "1", "0"]]  # fmt: skip

    job_id = import_orders(runtime, queue, principal, rows, HEADER, on_error=OnError.SKIP)

    done = job(runtime, job_id)
    assert (done.records_created, done.records_failed) == (1, 3)
    assert messages(database, job_id) == [
        (2, "Quantity must be 1 or more, got '-2'"),
        (3, "Quantity must be 1 or more, got '0'"),
        (4, "Item Price must be 0 or more, got '-0.01'"),
    ]
    assert read_record(runtime, ImportType.ORDER, ["SO-4"], 1, -3)["order_total"] == "0"  # a free item


def test_an_orders_email_address_in_another_case_on_a_later_row_is_the_same_address(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue, principal = selling_a_and_b(database, tmp_path)
    header = [*HEADER, "Email Address"]
    rows = [["SO-1", "", "EUR", "", "A", "1", "3.99", "Ana@Example.com"],
            ["SO-1", "", "EUR", "", "B", "1", "1", "ana@example.com"]]  # fmt: skip

    job_id = import_orders(runtime, queue, principal, rows, header)

    assert messages(database, job_id) == []
    assert read_record(runtime, ImportType.ORDER, ["SO-1"], 1, -3)["email_address"] == "Ana@Example.com"
