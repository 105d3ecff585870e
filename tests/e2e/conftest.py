"""The service on the embedded default and on PostgreSQL + Redis, started once per test module."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import httpx
import pytest

from tests.conftest import RedisDatabase, pg_database
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


@contextmanager
def deployed(
    kind: str,
    data_dir: Path,
    settings: dict[str, str],
    redis_db: RedisDatabase,
    split_workers: int = 2,
    kind_of_service: type[Service] = Service,
) -> Iterator[Service]:
    """The service started with the admin account, on the embedded default or (kind "production") on a
    PostgreSQL database of its own and this run's Redis database, flushed before and after; stopped and
    dropped at the end."""
    with pg_database() if kind == "production" else nullcontext("") as pg_url:
        if pg_url:
            redis_db.flush()
            settings = settings | {"IMPORTER_DATABASE_URL": pg_url, "IMPORTER_BROKER_URL": redis_db.url}
        running = kind_of_service(data_dir, dict(settings), split_workers=split_workers if pg_url else 0)
        running.add_user(*ADMIN)
        try:
            running.start()
            yield running
        finally:
            running.stop()
            if pg_url:
                redis_db.flush()


@pytest.fixture(scope="module", params=["embedded", "production"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_db: RedisDatabase
) -> Iterator[Service]:
    with deployed(request.param, tmp_path_factory.mktemp(request.param), TEST_SETTINGS, redis_db) as running:
        yield running


@pytest.fixture
def admin(service: Service) -> Iterator[httpx.Client]:
    with service.client(*ADMIN) as client:
        yield client
