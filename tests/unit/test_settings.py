"""Settings come from IMPORTER_* variables, with the embedded default when nothing is set."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from app.errors import SettingsError
from app.settings import Settings


def test_nothing_set_means_sqlite_an_embedded_broker_and_a_local_folder(tmp_path: Path) -> None:
    settings = Settings.from_env({"IMPORTER_DATA_DIR": str(tmp_path)})

    assert settings.database_url == f"sqlite:///{tmp_path / 'importer.db'}"
    assert settings.broker_url == f"sqlite:///{tmp_path / 'broker.db'}"
    assert settings.upload_storage == "local"
    assert settings.embedded_broker and settings.uses_sqlite
    assert (settings.host, settings.port, settings.max_upload_bytes) == ("127.0.0.1", 8000, 1024**3)
    assert settings.trusted_proxies == ()


def test_postgresql_keeps_uploads_in_the_database_by_default() -> None:
    settings = Settings.from_env(
        {
            "IMPORTER_DATABASE_URL": "postgresql+psycopg://db/importer",
            "IMPORTER_BROKER_URL": "redis://r:6379/0",
        }
    )

    assert settings.upload_storage == "database"
    assert not settings.embedded_broker


def refusal_of(env: dict[str, str]) -> str:
    """What starting with these settings says."""
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    return str(caught.value)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("IMPORTER_PORT", "eighty", "IMPORTER_PORT must be a whole number, got 'eighty'"),
        ("IMPORTER_UPLOAD_STORAGE", "s3", "IMPORTER_UPLOAD_STORAGE must be 'local' or 'database', got 's3'"),
        ("IMPORTER_AUTH_CACHE_SECONDS", "soon", "IMPORTER_AUTH_CACHE_SECONDS must be a number, got 'soon'"),
        ("IMPORTER_PORT", "99999", "IMPORTER_PORT must be a port number from 1 to 65535, got 99999"),
        (
            "IMPORTER_LOG_LEVEL",
            "chatty",
            "IMPORTER_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'CHATTY'",
        ),
        (
            "IMPORTER_DATABASE_URL",
            "garbage",
            "IMPORTER_DATABASE_URL must be a PostgreSQL or SQLite URL, such as "
            "postgresql+psycopg://user:password@host/database, got 'garbage'",
        ),
        (
            "IMPORTER_DATABASE_URL",
            "mysql://shop:hunter2@db/shop",
            "IMPORTER_DATABASE_URL must be a PostgreSQL or SQLite URL, such as "
            "postgresql+psycopg://user:password@host/database, got 'mysql://shop:***@db/shop'",
        ),
        (
            "IMPORTER_BROKER_URL",
            "garbage://queue",
            "IMPORTER_BROKER_URL must be a Redis URL such as redis://host:6379/0 (or a SQLite file's, "
            "sqlite:///path), got 'garbage://queue'",
        ),
        (
            "IMPORTER_BROKER_URL",
            "redis-host:6379",
            "IMPORTER_BROKER_URL must be a Redis URL such as redis://host:6379/0 (or a SQLite file's, "
            "sqlite:///path), got 'redis-host:6379'",
        ),
        (
            "IMPORTER_TRUSTED_PROXIES",
            "10.0.0.1, proxy.internal",
            "IMPORTER_TRUSTED_PROXIES must be IP addresses or networks, comma-separated (or *), got 'proxy.internal'",
        ),
    ],
)
def test_a_malformed_setting_is_refused_by_name(name: str, value: str, message: str) -> None:
    assert refusal_of({name: value}) == message


@pytest.mark.parametrize("url", ["redis://r:6379/0", "rediss://:pw@r:6380/1", "redis+socket:///run/redis.sock"])
def test_a_broker_url_celery_can_reach_is_taken_as_it_is(url: str) -> None:
    assert Settings.from_env({"IMPORTER_BROKER_URL": url}).broker_url == url


def test_trusted_proxies_are_addresses_or_networks() -> None:
    settings = Settings.from_env({"IMPORTER_TRUSTED_PROXIES": " 10.0.0.7, 192.168.0.0/16 ,::1"})

    assert settings.trusted_proxies == ("10.0.0.7", "192.168.0.0/16", "::1")


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        # 0 sent the reaper's task in a loop; below 0 stopped the reaper for good, the worker running on without it.
        ("IMPORTER_REAP_SECONDS", "0", "IMPORTER_REAP_SECONDS must be a number of seconds above 0, got 0"),
        ("IMPORTER_REAP_SECONDS", "-1", "IMPORTER_REAP_SECONDS must be a number of seconds above 0, got -1"),
        ("IMPORTER_LEASE_SECONDS", "-5", "IMPORTER_LEASE_SECONDS must be a number of seconds above 0, got -5"),
        (
            "IMPORTER_BROKER_POLL_SECONDS",
            "0",
            "IMPORTER_BROKER_POLL_SECONDS must be a number of seconds above 0, got 0",
        ),
        ("IMPORTER_FETCH_TIMEOUT_SECONDS", "nan", "IMPORTER_FETCH_TIMEOUT_SECONDS must be a number, got 'nan'"),
        ("IMPORTER_AUTH_CACHE_SECONDS", "inf", "IMPORTER_AUTH_CACHE_SECONDS must be a number, got 'inf'"),
        # 0 deleted the upload of an import still arriving or being read: the submit answered 500.
        (
            "IMPORTER_UPLOAD_RETENTION_HOURS",
            "0",
            "IMPORTER_UPLOAD_RETENTION_HOURS must be a whole number of hours from 1, got 0",
        ),
    ],
)
def test_a_period_that_would_spin_or_stop_the_reaper_is_refused(name: str, value: str, message: str) -> None:
    assert refusal_of({name: value}) == message


class ReadNames(dict[str, str]):
    """An environment that remembers every name asked of it."""

    def __init__(self) -> None:
        super().__init__()
        self.asked: set[str] = set()

    def get(self, key: str, default: object = None) -> Any:
        self.asked.add(key)
        return super().get(key, default)


def test_every_setting_the_service_reads_is_in_the_readme_table() -> None:
    environment = ReadNames()

    Settings.from_env(environment)

    table = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8").split("## Settings", 1)[1]
    documented = "".join(line.split(" | ")[0] for line in table.splitlines() if line.startswith("| `IMPORTER_"))
    assert len(environment.asked) > 40
    assert sorted(name for name in environment.asked if f"`{name}`" not in documented) == []
