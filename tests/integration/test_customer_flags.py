"""A customer's Active and Tax Exempt flags when a file gives no value for them, on real SQLite and PostgreSQL: a
new customer is active and not exempt, a stored one keeps its flags, an explicit N is written."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.db import Database
from app.main import create_app
from app.runtime import Runtime
from app.service import sandboxes
from tests.factories import make_csv
from tests.integration.in_process_api import get, post
from tests.integration.pipeline_driver import drain, make_principal, make_runtime

SUBMIT = "/api/importer/CUSTOMER?importSpecification=DefaultCustomerImportSpecification&siteId=1"
FLAGGED = ["Customer Id", "Email Address", "First Name", "Active", "Tax Exempt"]
UNFLAGGED = ["Customer Id", "Email Address", "First Name"]


class Deployment:
    """The service on the test's database (chunks of `chunk_rows` rows), importing customers into site 1 over
    HTTP as `ops`."""

    def __init__(self, database: Database, tmp_path: Path, chunk_rows: int = 2, rolling: bool = False) -> None:
        runtime, self.queue = make_runtime(database, tmp_path, chunk_rows)
        if rolling:  # every upload large enough to be merged while it is staged (rolling_merge.py)
            runtime = replace(runtime, settings=replace(runtime.settings, rolling_merge_bytes=1))
        self.runtime: Runtime = runtime
        self.ops = make_principal(database, "ops")
        self.app = create_app(runtime)

    def customers(
        self, header: list[str], rows: list[list[str]], sandbox_id: int = 0, dry: bool = False
    ) -> dict[str, object]:
        """Import the rows (into a sandbox, or as a dry run, when asked); the import's status JSON once it has
        finished."""
        into = f"&importToSandbox=true&sandboxId={sandbox_id}" if sandbox_id else ""
        into += "&dryRun=true" if dry else ""
        body = make_csv(rows, header=header)
        sent = post(self.app, SUBMIT + into, content=body, headers={"Content-Type": "text/csv"})
        assert sent.status_code == 200, sent.text
        drain(self.runtime, self.queue)
        status = get(self.app, f"/api/importer/status/{sent.json()['statusId']}").json()
        assert status["status"] == "COMPLETED", status
        return dict(status)

    def flags(self, customer: str, sandbox_id: int = 0) -> tuple[object, object]:
        """(active, taxExempt) as GET /api/data/CUSTOMER shows them."""
        shown = get(self.app, f"/api/data/CUSTOMER/{customer}?siteId=1&sandboxId={sandbox_id}")
        assert shown.status_code == 200, shown.text
        return shown.json()["active"], shown.json()["taxExempt"]


def counts(status: dict[str, object]) -> tuple[object, object, object]:
    return status["recordsCreated"], status["recordsUpdated"], status["recordsSkipped"]


def test_a_new_customer_without_an_active_column_is_active_and_not_tax_exempt(
    database: Database, tmp_path: Path
) -> None:
    service = Deployment(database, tmp_path)

    status = service.customers(UNFLAGGED, [["c1", "ann@example.com", "Ann"]])

    assert counts(status) == (1, 0, 0)
    assert service.flags("c1") == (True, False)


def test_empty_active_and_tax_exempt_cells_give_a_new_customer_the_defaults(database: Database, tmp_path: Path) -> None:
    service = Deployment(database, tmp_path)

    service.customers(FLAGGED, [["c1", "ann@example.com", "Ann", "", ""]])

    assert service.flags("c1") == (True, False)


def test_a_file_without_the_flag_columns_leaves_stored_flags_as_they_are_and_counts_them_unchanged(
    database: Database, tmp_path: Path
) -> None:
    service = Deployment(database, tmp_path)
    service.customers(FLAGGED, [["on", "on@example.com", "On", "Y", "Y"], ["off", "off@example.com", "Off", "N", "N"]])

    tried = service.customers(UNFLAGGED, [["on", "on@example.com", "On"], ["off", "off@example.com", "Off"]], dry=True)
    again = service.customers(UNFLAGGED, [["on", "on@example.com", "On"], ["off", "off@example.com", "Off"]])
    renamed = service.customers(UNFLAGGED, [["on", "on@example.com", "Onno"], ["off", "off@example.com", "Off"]])

    assert counts(tried) == counts(again) == (0, 0, 2)
    assert counts(renamed) == (0, 1, 1)
    assert (service.flags("on"), service.flags("off")) == ((True, True), (False, False))


def test_empty_cells_leave_a_stored_customers_flags_as_they_are(database: Database, tmp_path: Path) -> None:
    service = Deployment(database, tmp_path)
    service.customers(FLAGGED, [["off", "off@example.com", "Off", "N", "Y"]])

    status = service.customers(FLAGGED, [["off", "off@example.com", "Off", "", ""]])

    assert counts(status) == (0, 0, 1)
    assert service.flags("off") == (False, True)


def test_an_explicit_n_deactivates_and_the_same_file_again_is_unchanged(database: Database, tmp_path: Path) -> None:
    service = Deployment(database, tmp_path)
    service.customers(UNFLAGGED, [["c1", "ann@example.com", "Ann"]])

    deactivated = service.customers(FLAGGED, [["c1", "ann@example.com", "Ann", "N", "Y"]])
    again = service.customers(FLAGGED, [["c1", "ann@example.com", "Ann", "N", "Y"]])
    left_out = service.customers(UNFLAGGED, [["c1", "ann@example.com", "Ann"]])

    assert (counts(deactivated), counts(again), counts(left_out)) == ((0, 1, 0), (0, 0, 1), (0, 0, 1))
    assert service.flags("c1") == (False, True)


def test_a_large_file_merged_while_it_is_staged_gives_and_keeps_flags_the_same_way(
    database: Database, tmp_path: Path
) -> None:
    service = Deployment(database, tmp_path, chunk_rows=10, rolling=True)
    service.customers(FLAGGED, [[f"c{n}", f"c{n}@example.com", "A", "N", "Y"] for n in range(0, 30, 2)])

    status = service.customers(UNFLAGGED, [[f"c{n}", f"c{n}@example.com", "A"] for n in range(30)])

    assert counts(status) == (15, 0, 15)
    assert (service.flags("c0"), service.flags("c1")) == ((False, True), (True, False))


def test_a_sandbox_shows_production_flags_for_a_customer_its_file_gives_none(
    database: Database, tmp_path: Path
) -> None:
    service = Deployment(database, tmp_path)
    service.customers(FLAGGED, [["c1", "a@example.com", "Ann", "N", "Y"]])
    box = sandboxes.create_sandbox(service.runtime, service.ops, "renames")
    assert box.id is not None

    renamed = service.customers(UNFLAGGED, [["c1", "a@example.com", "Anna"], ["c2", "b@example.com", "Bo"]], box.id)
    as_production = service.customers(UNFLAGGED, [["c1", "a@example.com", "Ann"]], box.id)

    assert counts(renamed) == (1, 1, 0)
    assert (service.flags("c1", box.id), service.flags("c2", box.id)) == ((False, True), (True, False))
    assert counts(as_production) == (0, 1, 0)  # Anna is Ann again, as production shows her
    assert service.flags("c1") == (False, True)
