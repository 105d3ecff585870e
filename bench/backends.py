"""The PostgreSQL databases and the Redis database number a run uses: created, claimed and released by the run."""

from __future__ import annotations

import os
import uuid
from types import TracebackType

import psycopg
import redis

PG_SERVER = "postgresql://postgres@127.0.0.1:5432"
PG_ADMIN_DATABASE = "postgres"
REDIS_SERVER = "redis://127.0.0.1:6379"
DATABASE_PREFIX = "importer_bench_"
REDIS_CLAIM = "importer:test-db-claim:{}"


class PostgresDatabase:
    """A fresh database named importer_bench_*, dropped (with its connections) on close."""

    def __init__(self, label: str) -> None:
        self.name = f"{DATABASE_PREFIX}{label}_{uuid.uuid4().hex[:8]}"
        with psycopg.connect(f"{PG_SERVER}/{PG_ADMIN_DATABASE}", autocommit=True) as connection:
            connection.execute(f'CREATE DATABASE "{self.name}"')

    @property
    def url(self) -> str:
        """For psycopg and the benchmark's own SQLAlchemy engines."""
        return f"{PG_SERVER}/{self.name}"

    @property
    def service_url(self) -> str:
        """For IMPORTER_DATABASE_URL."""
        return f"postgresql+psycopg://postgres@127.0.0.1:5432/{self.name}"

    def close(self) -> None:
        with psycopg.connect(f"{PG_SERVER}/{PG_ADMIN_DATABASE}", autocommit=True) as connection:
            connection.execute(f'DROP DATABASE IF EXISTS "{self.name}" WITH (FORCE)')

    def __enter__(self) -> PostgresDatabase:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()


def server_version() -> str:
    with psycopg.connect(f"{PG_SERVER}/{PG_ADMIN_DATABASE}") as connection:
        row = connection.execute("SHOW server_version").fetchone()
    return str(row[0]) if row else "?"


def analyze(database_url: str) -> None:
    """Fresh planner statistics for the import's target tables, as autovacuum would gather them in time.

    Not product_staging: analysed while empty (as it is between imports), it makes the planner expect
    no rows there and pick nested loops that take minutes over a full staging table.
    """
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("ANALYZE product, sku")


class RedisDatabase:
    """A Redis database number claimed on db 0 (15 downward), flushed when claimed and when released."""

    def __init__(self) -> None:
        self._admin = redis.Redis.from_url(f"{REDIS_SERVER}/0")
        self._token = str(os.getpid())
        self.number = self._claim()
        self.flush()

    def _claim(self) -> int:
        for number in range(15, 0, -1):
            if self._admin.set(REDIS_CLAIM.format(number), self._token, nx=True, ex=3600):
                return number
        raise RuntimeError("every Redis database 1-15 is claimed (keys importer:test-db-claim:N on db 0)")

    @property
    def url(self) -> str:
        return f"{REDIS_SERVER}/{self.number}"

    def flush(self) -> None:
        with redis.Redis.from_url(self.url) as connection:
            connection.flushdb()

    def close(self) -> None:
        self.flush()
        key = REDIS_CLAIM.format(self.number)
        if self._admin.get(key) == self._token.encode():
            self._admin.delete(key)
        self._admin.close()

    def __enter__(self) -> RedisDatabase:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.close()
