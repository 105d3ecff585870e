"""Decimals given again with other trailing zeros, on real SQLite and PostgreSQL: 3.990 is the 3.99 stored, so the
row counts as unchanged and keeps the text it was first written with, on both databases alike."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

from app.db import Database
from app.main import create_app
from tests.factories import make_csv
from tests.integration.in_process_api import get, post
from tests.integration.pipeline_driver import drain, make_principal, make_runtime

PRODUCTS = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=1"
ORDERS = "/api/importer/ORDER?importSpecification=DefaultOrderImportSpecification&catalogId=1&siteId=1"
PRODUCT_HEADER = ["SKU Number", "Product Title", "Product Description", "Retail Price"]
ORDER_HEADER = ["Order Number", "Currency", "SKU Number", "Quantity", "Item Price"]


class Deployment:
    """The service on the test's database, importing into catalog 1 and site 1 over HTTP."""

    def __init__(self, database: Database, tmp_path: Path, rolling: bool = False) -> None:
        runtime, self.queue = make_runtime(database, tmp_path, chunk_rows=2)
        if rolling:  # every upload large enough to be merged while it is staged (rolling_merge.py)
            runtime = replace(runtime, settings=replace(runtime.settings, rolling_merge_bytes=1))
        self.runtime = runtime
        make_principal(database, "ops")
        self.app = create_app(runtime)

    def send(self, path: str, header: list[str], rows: list[list[str]]) -> tuple[int, int, int]:
        """Import the rows to the end; (recordsCreated, recordsUpdated, recordsSkipped) of its status JSON."""
        sent = post(self.app, path, content=make_csv(rows, header=header), headers={"Content-Type": "text/csv"})
        assert sent.status_code == 200, sent.text
        drain(self.runtime, self.queue)
        status = get(self.app, f"/api/importer/status/{sent.json()['statusId']}").json()
        assert status["status"] == "COMPLETED", status
        return status["recordsCreated"], status["recordsUpdated"], status["recordsSkipped"]

    def prices(self, prices: dict[str, str]) -> tuple[int, int, int]:
        return self.send(PRODUCTS, PRODUCT_HEADER, [[sku, "t", "d", price] for sku, price in prices.items()])

    def shown(self, kind: str, key: str) -> dict[str, object]:
        found = get(self.app, f"/api/data/{kind}/{key}?catalogId=1&siteId=1")
        assert found.status_code == 200, found.text
        return dict(found.json())

    def price(self, sku: str) -> object:
        return self.shown("PRODUCT", sku)["retailPrice"]


def test_a_price_given_again_with_trailing_zeros_is_unchanged_and_keeps_its_text(
    database: Database, tmp_path: Path
) -> None:
    service = Deployment(database, tmp_path)
    service.prices({"A": "3.99", "B": "10", "C": "3.990", "D": "0.50"})

    again = service.prices({"A": "3.990", "B": "10.00", "C": "3.9900", "D": "0.5"})

    assert again == (0, 0, 4)
    assert [service.price(sku) for sku in "ABCD"] == ["3.99", "10", "3.990", "0.50"]


def test_a_price_that_differs_by_more_than_its_zeros_is_an_update(database: Database, tmp_path: Path) -> None:
    service = Deployment(database, tmp_path)
    service.prices({"A": "3.99", "B": "100", "C": "0"})

    changed = service.prices({"A": "3.991", "B": "1.00", "C": "-0.00", "D": "-0.00"})

    assert changed == (1, 2, 1)
    assert [service.price(sku) for sku in "ABCD"] == ["3.991", "1.00", "0", "0.00"]  # -0 is 0, as NUMERIC has it


def test_a_large_file_merged_while_it_is_staged_counts_trailing_zeros_unchanged_too(
    database: Database, tmp_path: Path
) -> None:
    service = Deployment(database, tmp_path, rolling=True)
    service.prices({f"P{n}": f"{n}.5" for n in range(12)})

    again = service.prices({f"P{n}": f"{n}.500" for n in range(12)})

    assert again == (0, 0, 12)
    assert service.price("P7") == "7.5"


def test_an_order_given_again_with_trailing_zeros_in_its_prices_is_unchanged(
    database: Database, tmp_path: Path
) -> None:
    service = Deployment(database, tmp_path)
    service.prices({"A": "3.99"})
    service.send(ORDERS, ORDER_HEADER, [["SO-1", "EUR", "A", "2", "3.99"]])

    again = service.send(ORDERS, ORDER_HEADER, [["SO-1", "EUR", "A", "2", "3.9900"]])

    assert again == (0, 0, 1)
    order = service.shown("ORDER", "SO-1")
    assert order["orderTotal"] == "7.98"
    assert [item["itemPrice"] for item in order["items"]] == ["3.99"]  # type: ignore[attr-defined]
