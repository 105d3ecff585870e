"""Killing workers, the API, Redis and database connections mid-import: every job ends whole or cleanly failed.

The default suite kills a few times; `./scripts/test -m stress` runs the long version (20+ kills).
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.conftest import PG_ADMIN_URL, RedisDatabase, pg_database
from tests.e2e.chaos import PrivateRedis, drop_connections, kill_tree, worker_of
from tests.e2e.service import Service, wait_for_end
from tests.factories import make_csv, product_row

ADMIN = ("chaos", "chaos-password-1")
CRASH_SETTINGS = {
    "IMPORTER_BROKER_POLL_SECONDS": "0.05",
    "IMPORTER_WORKER_CONCURRENCY": "2",
    "IMPORTER_CHUNK_ROWS": "100",
    "IMPORTER_LEASE_SECONDS": "3",
    "IMPORTER_REAP_SECONDS": "1",
    "IMPORTER_MAX_ATTEMPTS": "10",
    "IMPORTER_ROLLING_MERGE_BYTES": "1",  # every import on PostgreSQL merged while its chunks are staged
    "IMPORTER_MAX_UPLOAD_BYTES": str(64 * 1024 * 1024),
}
GIVING_UP = "giving up"


@dataclass
class Outcome:
    kills: int
    jobs: int
    completed: int
    failed_with_message: int
    rows_expected: int
    rows_found: int
    duplicates: int

    def report(self, label: str) -> str:
        return (
            f"{label}: kills={self.kills} jobs={self.jobs} completed={self.completed} "
            f"failed_cleanly={self.failed_with_message} rows_expected={self.rows_expected} "
            f"rows_found={self.rows_found} duplicates={self.duplicates}"
        )


@contextmanager
def running(tmp_path: Path, mode: str, broker_url: str = "") -> Iterator[tuple[Service, str]]:
    """The service on one deployment (its own PostgreSQL database in production), stopped and dropped after."""
    with pg_database() if mode == "production" else nullcontext("") as pg_url:
        if pg_url:
            settings = CRASH_SETTINGS | {"IMPORTER_DATABASE_URL": pg_url, "IMPORTER_BROKER_URL": broker_url}
            service = Service(tmp_path / "service", settings, split_workers=2)
        else:
            service = Service(tmp_path / "service", dict(CRASH_SETTINGS))
        service.add_user(*ADMIN, cli=True)
        try:
            service.start()
            yield service, pg_url
        finally:
            service.stop()


@contextmanager
def private_redis(tmp_path: Path) -> Iterator[PrivateRedis]:
    redis = PrivateRedis(tmp_path)
    redis.start()
    try:
        yield redis
    finally:
        redis.kill()


@pytest.fixture(params=["embedded", "production"])
def crashable(request: pytest.FixtureRequest, tmp_path: Path, redis_db: RedisDatabase) -> Iterator[Service]:
    redis_db.flush()
    with running(tmp_path, request.param, redis_db.url) as (service, _):
        yield service


def kill_a_worker(service: Service, rng: random.Random) -> None:
    if service.split_workers:
        index = rng.randrange(service.split_workers)
        kill_tree(service.processes[1 + index].pid)
        service.restart_worker(index)
    else:
        kill_tree(worker_of(service.api.pid))  # `importer serve` starts a new one


def submit_jobs(client: httpx.Client, count: int, rows: int) -> dict[int, int]:
    """{statusId: catalogId}, each job its own catalog of `rows` products."""
    jobs = {}
    for number in range(count):
        catalog = 9000 + number
        body = make_csv([product_row(f"c{catalog}-{n}", title=f"T{catalog}-{n}") for n in range(rows)])
        response = client.post(
            f"/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId={catalog}",
            content=body,
        )
        assert response.status_code == 200, response.text
        jobs[response.json()["statusId"]] = catalog
    return jobs


def products_of(client: httpx.Client, catalog: int) -> list[dict[str, object]]:
    items: list[dict[str, object]] = []
    page = 1
    while True:
        listing = client.get("/api/data/PRODUCT", params={"catalogId": catalog, "page": page, "pageSize": 1000}).json()
        items += listing["items"]
        if len(items) >= listing["total"]:
            return items
        page += 1


def settle(client: httpx.Client, jobs: dict[int, int], rows: int, kills: int) -> Outcome:
    """Wait for every job to end and check each one landed whole, or failed saying why."""
    outcome = Outcome(kills, len(jobs), 0, 0, 0, 0, 0)
    for status_id, catalog in jobs.items():
        final = wait_for_end(client, f"/api/importer/{status_id}", timeout=240)[-1]
        found = products_of(client, catalog)
        skus = [str(item["skuNumber"]) for item in found]
        outcome.duplicates += len(skus) - len(set(skus))
        if final["status"] == "COMPLETED":
            outcome.completed += 1
            outcome.rows_expected += rows
            outcome.rows_found += len(found)
            assert (final["recordsCreated"], final["recordsUpdated"], final["totalRecords"]) == (rows, 0, rows)
            assert sorted(skus) == sorted(f"c{catalog}-{n}" for n in range(rows))
            assert all(item["productTitle"] == f"T{item['skuNumber']}".replace("Tc", "T") for item in found)
        else:
            assert final["status"] == "FAILED", final
            message = next(d["description"] for d in final["details"] if d["type"] == "message")
            assert GIVING_UP in message, message
            assert found == [], "a failed import wrote rows"
            outcome.failed_with_message += 1
    return outcome


def run_killing_workers(service: Service, kills: int, jobs: int, rows: int, seed: int) -> Outcome:
    rng = random.Random(seed)
    with service.client(*ADMIN) as client:
        submitted = submit_jobs(client, jobs, rows)
        for _ in range(kills):
            time.sleep(rng.uniform(0.2, 1.2))
            kill_a_worker(service, rng)
        outcome = settle(client, submitted, rows, kills)
    print(outcome.report("worker kills"))
    assert outcome.duplicates == 0
    assert outcome.rows_found == outcome.rows_expected
    return outcome


def test_workers_killed_mid_import_leave_every_job_whole(crashable: Service) -> None:
    outcome = run_killing_workers(crashable, kills=3, jobs=3, rows=1500, seed=11)

    assert outcome.completed + outcome.failed_with_message == 3


@pytest.mark.stress
def test_twenty_worker_kills_leave_every_job_whole(crashable: Service) -> None:
    outcome = run_killing_workers(crashable, kills=20, jobs=5, rows=3000, seed=20)

    assert outcome.completed + outcome.failed_with_message == 5


def test_the_api_killed_mid_import_restarts_and_the_import_finishes(crashable: Service) -> None:
    with crashable.client(*ADMIN) as client:
        jobs = submit_jobs(client, 2, 1500)
        time.sleep(0.5)
        kill_tree(crashable.api.pid) if not crashable.split_workers else crashable.api.kill()
        crashable.replace_api()
        outcome = settle(client, jobs, 1500, kills=1)

    assert (outcome.completed, outcome.rows_found, outcome.duplicates) == (2, 3000, 0)


def test_dropped_database_connections_are_survived(tmp_path: Path, redis_db: RedisDatabase) -> None:
    redis_db.flush()
    with running(tmp_path, "production", redis_db.url) as (service, pg_url), service.client(*ADMIN) as client:
        jobs = submit_jobs(client, 2, 2000)
        dropped = 0
        for _ in range(4):
            time.sleep(0.4)
            dropped += drop_connections(pg_url, PG_ADMIN_URL)
        outcome = settle(client, jobs, 2000, kills=dropped)

    print(outcome.report("connection drops"))
    assert dropped > 0
    assert (outcome.completed, outcome.rows_found, outcome.duplicates) == (2, 4000, 0)


def test_a_redis_restart_mid_import_is_survived(tmp_path: Path) -> None:
    with (
        private_redis(tmp_path) as redis,
        running(tmp_path, "production", redis.url) as (service, _),
        service.client(*ADMIN) as client,
    ):
        jobs = submit_jobs(client, 2, 3000)
        time.sleep(0.7)
        redis.kill()
        time.sleep(1.5)
        redis.start()
        outcome = settle(client, jobs, 3000, kills=1)

    print(outcome.report("redis restart"))
    assert (outcome.completed, outcome.rows_found, outcome.duplicates) == (2, 6000, 0)


@pytest.mark.stress
def test_ten_api_restarts_leave_every_job_whole(crashable: Service) -> None:
    with crashable.client(*ADMIN) as client:
        jobs = submit_jobs(client, 4, 3000)
        for _ in range(10):
            time.sleep(0.4)
            kill_tree(crashable.api.pid) if not crashable.split_workers else crashable.api.kill()
            crashable.replace_api()
        outcome = settle(client, jobs, 3000, kills=10)

    print(outcome.report("api restarts"))
    assert (outcome.completed + outcome.failed_with_message, outcome.duplicates) == (4, 0)
    assert outcome.rows_found == outcome.rows_expected


@pytest.mark.stress
def test_twenty_rounds_of_dropped_connections_and_five_redis_restarts(tmp_path: Path) -> None:
    with (
        private_redis(tmp_path) as redis,
        running(tmp_path, "production", redis.url) as (service, pg_url),
        service.client(*ADMIN) as client,
    ):
        jobs = submit_jobs(client, 4, 3000)
        dropped = 0
        for round_number in range(20):
            time.sleep(0.3)
            dropped += drop_connections(pg_url, PG_ADMIN_URL)
            if round_number % 4 == 0:
                redis.kill()
                time.sleep(0.5)
                redis.start()
        outcome = settle(client, jobs, 3000, kills=dropped + 5)

    print(outcome.report("connection drops and redis restarts"))
    assert (outcome.completed + outcome.failed_with_message, outcome.duplicates) == (4, 0)
    assert outcome.rows_found == outcome.rows_expected
