"""A person's small import is not kept waiting while a large import started before it has its chunks queued:
on the embedded default and on PostgreSQL + Redis, the small one completes while most of what the large one
had left to run still is, and both import whole.

Taken in the order they were queued, the small import's plan would run only once every chunk queued before it
had been taken: the large one would go all the way to the end of its chunks (95%) while the small one ran.
Beside the queued chunks, the large one moved by 9-33% of what it had left while the small one ran, here."""

from __future__ import annotations

import time

import httpx

from tests.e2e.service import wait_for_end
from tests.factories import make_csv, product_row

LARGE_ROWS = 12_000  # 240 chunks of the tests' 50 rows: the plan is done with about half of them still queued
CHUNK_PHASE = 95.0  # percentComplete once every chunk is done; the rest is the merge


def url(catalog: int) -> str:
    return f"/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId={catalog}"


def started(client: httpx.Client, body: bytes, catalog: int) -> str:
    response = client.post(url(catalog), content=body, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    return str(response.json()["statusUrl"])


def planned(client: httpx.Client, status_url: str) -> float:
    """percentComplete once the plan has counted the records: every chunk is queued or done."""
    deadline = time.monotonic() + 60
    while (status := client.get(status_url).json())["totalRecords"] == 0:
        assert time.monotonic() < deadline and status["status"] != "FAILED", status
        time.sleep(0.02)
    return float(status["percentComplete"])


def test_a_small_import_completes_while_a_large_import_before_it_still_has_most_of_its_chunks_to_run(
    admin: httpx.Client,
) -> None:
    large = started(admin, make_csv([product_row(f"QL-{n}") for n in range(LARGE_ROWS)]), 1101)
    before = planned(admin, large)

    small = wait_for_end(admin, started(admin, make_csv([product_row(f"QS-{n}") for n in range(3)]), 1102))[-1]
    meanwhile = admin.get(large).json()

    assert (small["status"], small["totalRecords"]) == ("COMPLETED", 3)
    assert meanwhile["status"] == "IN_PROCESS"
    left = CHUNK_PHASE - before
    assert left > 20, before  # dozens of chunks were queued when the small import was posted
    assert meanwhile["percentComplete"] - before < left * 3 / 4, (before, meanwhile)
    assert wait_for_end(admin, large, timeout=180)[-1]["recordsCreated"] == LARGE_ROWS
