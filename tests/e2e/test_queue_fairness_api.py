"""A person's small import is not kept waiting while a large import started before it has its chunks queued:
on the embedded default and on PostgreSQL + Redis, the small one completes while most of the large one's
chunks are still to run, and both import whole."""

from __future__ import annotations

import time

import httpx

from tests.e2e.service import wait_for_end
from tests.factories import make_csv, product_row

LARGE_ROWS = 6000  # 120 chunks of the tests' 50 rows


def url(catalog: int) -> str:
    return f"/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId={catalog}"


def started(client: httpx.Client, body: bytes, catalog: int) -> str:
    response = client.post(url(catalog), content=body, headers={"Content-Type": "text/csv"})
    assert response.status_code == 200, response.text
    return str(response.json()["statusUrl"])


def test_a_small_import_completes_while_a_large_import_before_it_still_has_most_of_its_chunks_to_run(
    admin: httpx.Client,
) -> None:
    large = started(admin, make_csv([product_row(f"QL-{n}") for n in range(LARGE_ROWS)]), 1101)
    deadline = time.monotonic() + 60
    while (status := admin.get(large).json())["totalRecords"] == 0:  # its plan is cutting and queueing chunks
        assert time.monotonic() < deadline and status["status"] != "FAILED", status
        time.sleep(0.02)

    small = wait_for_end(admin, started(admin, make_csv([product_row(f"QS-{n}") for n in range(3)]), 1102))[-1]
    large_meanwhile = admin.get(large).json()

    assert (small["status"], small["totalRecords"]) == ("COMPLETED", 3)
    assert large_meanwhile["status"] == "IN_PROCESS"
    assert large_meanwhile["percentComplete"] < 50, large_meanwhile  # of 95% for the chunks, the rest the merge
    assert wait_for_end(admin, large, timeout=180)[-1]["recordsCreated"] == LARGE_ROWS
