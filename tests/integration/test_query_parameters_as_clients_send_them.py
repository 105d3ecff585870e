"""Query strings as clients build them by hand: a parameter in another case, or given twice. What the client
meant is imported, or the request is refused saying why, and nothing of it is kept."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest
from starlette.applications import Starlette

from app.db import Database
from app.runtime import Runtime
from tests.integration.in_process_api import PRODUCTS, SUBMIT, deployed, get, jobs, post
from tests.integration.pipeline_driver import RecordingQueue, stored_uploads


@pytest.fixture
def deployment(database: Database, tmp_path: Path) -> tuple[Runtime, RecordingQueue, Starlette]:
    return deployed(database, tmp_path)


@pytest.mark.parametrize("spelling", ["catalogid", "CatalogId", "CATALOGID", "catalog_id"])
def test_a_catalog_id_spelt_in_another_case_is_refused_rather_than_importing_into_the_default_catalog(
    deployment: tuple[Runtime, RecordingQueue, Starlette], spelling: str
) -> None:
    runtime, _, app = deployment

    answer = post(app, f"{SUBMIT}&{spelling}=44", content=PRODUCTS)

    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == f"unknown parameter '{spelling}': did you mean 'catalogId'?"
    assert jobs(runtime) == []
    assert stored_uploads(runtime) == set()


def test_a_catalog_id_given_twice_with_two_values_is_refused_naming_both(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    runtime, _, app = deployment

    answer = post(app, f"{SUBMIT}&catalogId=3&catalogId=4", content=PRODUCTS)

    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == "catalogId is given more than once, as '3' and '4': give it once"
    assert jobs(runtime) == []


def test_a_catalog_id_given_twice_with_the_same_value_imports_there(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    answer = post(deployment[2], f"{SUBMIT}&catalogId=3&catalogId=3", content=PRODUCTS)

    assert answer.status_code == 200, answer.text
    assert answer.json()["catalogId"] == 3


def test_a_read_back_with_catalog_id_in_another_case_is_refused_rather_than_reading_the_default_catalog(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    async def ask() -> httpx.Response:
        transport = httpx.ASGITransport(app=deployment[2])
        async with httpx.AsyncClient(transport=transport, base_url="http://importer") as client:
            return await client.get("/api/data/PRODUCT?CatalogId=3", auth=("ops", "password-123"))

    answer = asyncio.run(ask())

    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == "unknown parameter 'CatalogId': did you mean 'catalogId'?"


SPECIFICATION = "DefaultProductImportSpecification"


@pytest.mark.parametrize(
    ("path", "spelling", "meant"),
    [
        ("/api/importer?Status=COMPLETED", "Status", "status"),
        ("/api/importer?importtype=PRODUCT", "importtype", "importType"),
        ("/api/importer?page_size=1", "page_size", "pageSize"),
        ("/api/importer/1/errors?PageSize=1", "PageSize", "pageSize"),
        ("/api/sandboxes?Page=2", "Page", "page"),
        ("/api/audit?pagesize=1", "pagesize", "pageSize"),
        (f"/api/importer/specifications/{SPECIFICATION}/template?filetype=XLSX", "filetype", "fileType"),
    ],
)
def test_a_filter_or_paging_parameter_spelt_in_another_case_is_refused_rather_than_left_unread(
    deployment: tuple[Runtime, RecordingQueue, Starlette], path: str, spelling: str, meant: str
) -> None:
    app = deployment[2]
    post(app, SUBMIT, content=PRODUCTS)

    answer = get(app, path)

    assert answer.status_code == 400, answer.text
    detail = f"unknown parameter '{spelling}': did you mean '{meant}'?"
    assert answer.json() == {"error": "BadRequest", "detail": detail}


@pytest.mark.parametrize(
    "given", ["sheetName=", "sheetName=%20", "encoding=%20", "onError=%20", "delimiter=", "fileType="]
)
def test_a_submit_parameter_given_empty_counts_as_not_given(
    deployment: tuple[Runtime, RecordingQueue, Starlette], given: str
) -> None:
    runtime, _, app = deployment

    answer = post(app, f"{SUBMIT}&{given}", content=PRODUCTS)

    assert answer.status_code == 200, answer.text
    [job] = jobs(runtime)
    assert (job.sheet_name, job.delimiter, job.on_error, job.file_type) == (None, None, "abort", "CSV")


@pytest.mark.parametrize("given", ["status=&importType=", "status=%20&importType=%20"])
def test_a_listing_filter_given_empty_counts_as_not_given(
    deployment: tuple[Runtime, RecordingQueue, Starlette], given: str
) -> None:
    app = deployment[2]
    post(app, SUBMIT, content=PRODUCTS)

    answer = get(app, f"/api/importer?{given}")

    assert answer.status_code == 200, answer.text
    assert answer.json()["total"] == 1


def test_a_parameter_the_service_does_not_know_at_all_is_left_alone(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    answer = post(deployment[2], f"{SUBMIT}&catalogId=3&_=1718000000", content=PRODUCTS)

    assert answer.status_code == 200, answer.text
