"""docker-compose.yml describes the production deployment, wired by the same IMPORTER_* settings."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import yaml

from app.settings import Settings

ROOT = Path(__file__).resolve().parents[2]


def compose() -> dict[str, Any]:
    document = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
    assert isinstance(document, dict)
    return document


def test_compose_has_api_worker_postgres_and_redis() -> None:
    assert set(compose()["services"]) == {"api", "worker", "postgres", "redis"}


def test_api_and_worker_read_the_same_settings_and_reach_postgres_and_redis() -> None:
    services = compose()["services"]
    api, worker = services["api"]["environment"], services["worker"]["environment"]

    shared = {name: value for name, value in api.items()}
    assert {name: worker[name] for name in shared} == shared
    assert all(name.startswith("IMPORTER_") for name in (*api, *worker))
    database = urlsplit(api["IMPORTER_DATABASE_URL"].replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "pw"))
    broker = urlsplit(api["IMPORTER_BROKER_URL"])
    assert (database.scheme, database.hostname, database.path) == (
        "postgresql+psycopg",
        "postgres",
        "/importer",
    )
    assert (broker.scheme, broker.hostname) == ("redis", "redis")
    assert services["postgres"]["environment"]["POSTGRES_DB"] == "importer"


def test_the_settings_compose_gives_are_valid_production_settings() -> None:
    api = compose()["services"]["api"]["environment"]
    env = {name: str(value).replace("${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}", "pw") for name, value in api.items()}

    settings = Settings.from_env(env)

    assert settings.upload_storage == "database"
    assert not settings.uses_sqlite and not settings.embedded_broker


def test_the_api_runs_alone_and_workers_scale_separately() -> None:
    services = compose()["services"]

    assert services["api"]["command"][:3] == ["importer", "serve", "--no-worker"]
    assert services["worker"]["command"] == ["importer", "worker"]
    assert services["worker"]["deploy"]["replicas"] >= 2
    assert "ports" not in services["worker"]
    for role in ("api", "worker"):
        assert set(services[role]["depends_on"]) == {"postgres", "redis"}


def test_no_password_is_written_into_the_deployment() -> None:
    text = (ROOT / "docker-compose.yml").read_text()

    assert "${POSTGRES_PASSWORD:?" in text
    postgres = compose()["services"]["postgres"]["environment"]
    assert postgres["POSTGRES_PASSWORD"].startswith("${POSTGRES_PASSWORD:?")


def test_workers_weigh_less_than_the_api_when_they_share_a_host() -> None:
    services = compose()["services"]

    assert "cpu_shares" not in services["api"]  # the default weight, 1024
    assert 0 < services["worker"]["cpu_shares"] < 1024
