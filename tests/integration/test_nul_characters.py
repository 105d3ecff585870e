"""A NUL character, which PostgreSQL text cannot hold, in a username or a record's key: a 401 or a 404 as for any
other name that matches nothing, on SQLite and on PostgreSQL alike, never a 500."""

from __future__ import annotations

import asyncio
import base64
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from app.db import Database
from app.main import create_app
from tests.integration.pipeline_driver import make_principal, make_runtime


@pytest.fixture
def api(database: Database, tmp_path: Path) -> Starlette:
    runtime, _ = make_runtime(database, tmp_path)
    make_principal(database, "ops")
    return create_app(runtime)


def get(app: Starlette, path: str, headers: dict[str, str]) -> httpx.Response:
    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://importer") as client:
            return await client.get(path, headers=headers)

    return asyncio.run(ask())


def basic(username: str, password: str) -> dict[str, str]:
    return {"Authorization": "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()}


def test_a_username_with_a_nul_is_refused_as_wrong_credentials(api: Starlette) -> None:
    answer = get(api, "/api/importer", basic("ops\x00", "password-123"))

    assert answer.status_code == 401
    assert answer.json() == {"error": "Unauthorized", "detail": "wrong username or password"}
    assert get(api, "/api/importer", basic("ops", "password-123")).status_code == 200


@pytest.mark.parametrize("path", ["/api/data/PRODUCT/20%0012", "/api/data/CUSTOMER/c%001", "/api/data/ASSET/a%00.png",
                                  "/api/data/ADDRESS/c1/h%00ome"])  # fmt: skip
def test_a_record_key_with_a_nul_is_no_record(api: Starlette, path: str) -> None:
    answer = get(api, path, basic("ops", "password-123"))

    assert answer.status_code == 404
    assert answer.json()["error"] == "NotFound"
