"""Shared fixtures: real SQLite and PostgreSQL databases, a private Redis database number."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import psycopg
import pytest
import redis

from app.db import Database

PG_ADMIN_URL = os.environ.get("IMPORTER_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/test")
REDIS_URL = os.environ.get("IMPORTER_TEST_REDIS_URL", "redis://127.0.0.1:6379")


def _pg_base() -> str:
    return PG_ADMIN_URL.rsplit("/", 1)[0]


def create_pg_database(template: str = "", options: str = "") -> str:
    """A new PostgreSQL database of this run's own, empty or a copy of the template database, with CREATE
    DATABASE's `options` (its collation, say); returns its URL."""
    name = f"importer_test_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        copied = f' TEMPLATE "{template}"' if template else ""
        connection.execute(f'CREATE DATABASE "{name}"{copied} {options}')
    return f"{_pg_base()}/{name}"


def drop_pg_database(url: str) -> None:
    name = url.rsplit("/", 1)[1]
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def pg_database() -> Iterator[str]:
    """A new PostgreSQL database of this run's own, dropped (with its connections) at the end."""
    url = create_pg_database()
    try:
        yield url
    finally:
        drop_pg_database(url)


@pytest.fixture
def pg_url() -> Iterator[str]:
    with pg_database() as url:
        yield url


@pytest.fixture(scope="session")
def pg_with_schema() -> Iterator[str]:
    """The name of a database the service's schema was created in, once a run: a test's PostgreSQL database is
    a copy of it (a quarter of a second quicker than creating the schema again each time)."""
    url = create_pg_database()
    db = Database(url)
    db.create_schema()
    db.dispose()
    yield url.rsplit("/", 1)[1]
    drop_pg_database(url)


@contextmanager
def pg_schema_copy(template: str) -> Iterator[Database]:
    url = create_pg_database(template)
    db = Database(url)
    try:
        yield db
    finally:
        db.dispose()
        drop_pg_database(url)


@pytest.fixture
def pg(pg_with_schema: str) -> Iterator[Database]:
    """A fresh PostgreSQL database with the service's schema, for stories that only PostgreSQL tells."""
    with pg_schema_copy(pg_with_schema) as db:
        yield db


@pytest.fixture(params=["sqlite", "postgresql"])
def database(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Database]:
    """The same test on real SQLite and real PostgreSQL, each a fresh database with the service's schema."""
    if request.param == "sqlite":
        db = Database(f"sqlite:///{tmp_path / 'importer.db'}")
        db.create_schema()
        yield db
        db.dispose()
        return
    with pg_schema_copy(request.getfixturevalue("pg_with_schema")) as db:
        yield db


class RedisDatabase:
    """A Redis database number claimed for this run alone, flushed before and after."""

    LOCK = "importer:test-db-claim:{}"

    def __init__(self) -> None:
        self._admin = redis.Redis.from_url(REDIS_URL + "/0")
        self.number = self._claim()
        self.url = f"{REDIS_URL}/{self.number}"
        self.flush()

    def _claim(self) -> int:
        for number in range(1, 16):
            if self._admin.set(self.LOCK.format(number), str(os.getpid()), nx=True, ex=3600):
                return number
        raise RuntimeError("every Redis database 1-15 is claimed by another test run")

    def flush(self) -> None:
        with redis.Redis.from_url(self.url) as connection:
            connection.flushdb()

    def release(self) -> None:
        self.flush()
        self._admin.delete(self.LOCK.format(self.number))
        self._admin.close()


@pytest.fixture(scope="session")
def redis_db() -> Iterator[RedisDatabase]:
    claimed = RedisDatabase()
    yield claimed
    claimed.release()
