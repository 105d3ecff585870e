"""The service on the embedded default and on PostgreSQL + Redis.

The modules that need no settings of their own share one deployment of each kind for the whole run (a
production start costs several seconds); each keeps to catalogs and account names of its own. A module that
needs other settings, or that kills and restarts processes, starts its own with `deployed`."""

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

_SHARED: list[Service] = []


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
        running.add_user(*ADMIN, cli=True)
        try:
            running.start()
            yield running
        finally:
            running.stop()
            if pg_url:
                redis_db.flush()


@pytest.fixture(scope="session", params=["embedded", "production"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, shared_redis_db: RedisDatabase
) -> Iterator[Service]:
    # One admin account serves every module here back to back, so no request rate limit (test_limits_api has its own).
    settings = TEST_SETTINGS | {"IMPORTER_RATE_LIMIT_PER_SECOND": "0"}
    with deployed(request.param, tmp_path_factory.mktemp(request.param), settings, shared_redis_db) as running:
        _SHARED.append(running)
        yield running
        _SHARED.remove(running)


def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> None:
    """After the run's last test that uses the shared deployment, stop it rather than leave it idling through the
    rest of the run (its database and Redis keys go when the session ends)."""
    users = [each for each in item.session.items if "service" in getattr(each, "fixturenames", ())]
    if users and item is users[-1]:
        for running in _SHARED:
            running.stop()


@pytest.fixture(scope="session")
def shared_redis_db() -> Iterator[RedisDatabase]:
    """The shared deployment's own Redis database, apart from the one the modules' own deployments flush."""
    claimed = RedisDatabase()
    yield claimed
    claimed.release()


@pytest.fixture
def admin(service: Service) -> Iterator[httpx.Client]:
    with service.client(*ADMIN) as client:
        yield client
