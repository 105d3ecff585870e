"""The service on the embedded default and on PostgreSQL + Redis, started once per test module."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import RedisDatabase, create_pg_database, drop_pg_database
from tests.e2e.service import Service

ADMIN = ("admin", "admin-password-1")
TEST_SETTINGS = {
    "IMPORTER_BROKER_POLL_SECONDS": "0.05",
    "IMPORTER_WORKER_CONCURRENCY": "2",
    "IMPORTER_REAP_SECONDS": "2",
    "IMPORTER_MAX_UPLOAD_BYTES": str(2 * 1024 * 1024),
    "IMPORTER_CHUNK_ROWS": "50",
    "IMPORTER_LOG_LEVEL": "INFO",
}


@pytest.fixture(scope="module", params=["embedded", "production"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_db: RedisDatabase
) -> Iterator[Service]:
    data_dir: Path = tmp_path_factory.mktemp(request.param)
    pg_url = None
    if request.param == "embedded":
        running = Service(data_dir, dict(TEST_SETTINGS))
    else:
        pg_url = create_pg_database()
        settings = TEST_SETTINGS | {"IMPORTER_DATABASE_URL": pg_url, "IMPORTER_BROKER_URL": redis_db.url}
        running = Service(data_dir, settings, split_workers=2)
    if pg_url:
        redis_db.flush()
    running.add_user(*ADMIN)
    running.start()
    yield running
    running.stop()
    if pg_url:
        drop_pg_database(pg_url)


@pytest.fixture
def admin(service: Service) -> Iterator[httpx.Client]:
    with service.client(*ADMIN) as client:
        yield client
