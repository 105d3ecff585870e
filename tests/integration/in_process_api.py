"""The service's HTTP API called in process (no server): a deployment on the test's database with one account,
`ops`, and the requests its tests send."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
from sqlmodel import select
from starlette.applications import Starlette

from app.db import Database
from app.jobs import ImportStatus
from app.main import create_app
from app.runtime import Runtime
from tests.factories import make_csv
from tests.integration.pipeline_driver import RecordingQueue, make_principal, make_runtime

SUBMIT = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification"
HEADER = ["SKU Number", "Product Title", "Product Description", "Retail Price"]
PRODUCTS = make_csv([["G1", "t", "d", "1"], ["G2", "t", "d", "2"]], header=HEADER)


def deployed(database: Database, tmp_path: Path) -> tuple[Runtime, RecordingQueue, Starlette]:
    runtime, queue = make_runtime(database, tmp_path)
    make_principal(database, "ops")
    return runtime, queue, create_app(runtime)


def post(app: Starlette, path: str, **sent: object) -> httpx.Response:
    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://importer") as client:
            return await client.post(path, auth=("ops", "password-123"), **sent)  # type: ignore[arg-type]

    return asyncio.run(ask())


def get(app: Starlette, path: str) -> httpx.Response:
    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://importer") as client:
            return await client.get(path, auth=("ops", "password-123"))

    return asyncio.run(ask())


def jobs(runtime: Runtime) -> list[ImportStatus]:
    with runtime.db.read() as session:
        return list(session.exec(select(ImportStatus)).all())
