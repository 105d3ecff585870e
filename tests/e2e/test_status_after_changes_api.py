"""A status read right after the API itself changed the import shows the change, however long statuses are shared.

The API runs without workers, so that an import stays START_REQUESTED until it is cancelled, and statuses are
shared for the longest time allowed (IMPORTER_STATUS_CACHE_SECONDS=2).
"""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RedisDatabase
from tests.e2e.conftest import ADMIN, TEST_SETTINGS, deployed
from tests.e2e.service import ApiWithoutWorkers
from tests.factories import contract_csv

SUBMIT = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=-2"


@pytest.fixture(scope="module", params=["embedded", "production"])
def cached(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_db: RedisDatabase
) -> Iterator[httpx.Client]:
    data_dir = tmp_path_factory.mktemp(f"status-cache-{request.param}")
    settings = TEST_SETTINGS | {"IMPORTER_STATUS_CACHE_SECONDS": "2", "IMPORTER_RATE_LIMIT_PER_SECOND": "0"}
    with (
        deployed(request.param, data_dir, settings, redis_db, 0, ApiWithoutWorkers) as running,
        running.client(*ADMIN) as client,
    ):
        yield client


def submit(client: httpx.Client) -> dict[str, object]:
    accepted = client.post(SUBMIT, content=contract_csv(), headers={"Content-Type": "text/csv"})
    assert accepted.status_code == 200, accepted.text
    return dict(accepted.json())


def test_a_status_read_just_after_a_cancel_is_cancelled(cached: httpx.Client) -> None:
    job = submit(cached)
    polled = [cached.get(f"/api/importer/status/{job['statusId']}").json()["status"] for _ in range(2)]

    cancelled = cached.delete(f"/api/importer/{job['statusId']}")
    read_after = cached.get(f"/api/importer/status/{job['statusId']}")
    read_by_id = cached.get(f"/admin/api/importer/{job['statusId']}")

    assert polled == ["START_REQUESTED", "START_REQUESTED"]
    assert (cancelled.status_code, cancelled.json()["status"]) == (200, "CANCELLED")
    assert (read_after.status_code, read_after.json()["status"]) == (200, "CANCELLED")
    assert read_by_id.json() == read_after.json()


def test_a_status_read_just_after_a_retry_names_the_new_import(cached: httpx.Client) -> None:
    job = submit(cached)
    cached.post(f"/api/importer/{job['statusId']}/cancel")
    before = cached.get(f"/api/importer/status/{job['statusId']}").json()

    retried = cached.post(f"/api/importer/{job['statusId']}/retry")
    read_after = cached.get(f"/api/importer/status/{job['statusId']}").json()

    assert (before["status"], before["retriedAs"]) == ("CANCELLED", None)
    assert retried.status_code == 200
    assert (read_after["status"], read_after["retriedAs"]) == ("CANCELLED", retried.json()["statusId"])
