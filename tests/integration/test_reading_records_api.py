"""Reading back over HTTP what imports wrote, by keys as a catalog holds them: slashes, spaces, any script."""

from __future__ import annotations

import asyncio
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette

from app.db import Database
from app.jobs import ImportState
from app.main import create_app
from specifications import ImportType
from tests.factories import make_csv
from tests.integration.pipeline_driver import drain, job, make_principal, make_runtime, submit

PRODUCT_HEADER = ["SKU Number", "Product Title", "Product Description", "Retail Price"]
SKUS = ["A/1", "/lead", "a//b", "Ü-1", "sp ace", "100%"]


@pytest.fixture
def api(database: Database, tmp_path: Path) -> Starlette:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database, "ops")
    imports = [
        (ImportType.PRODUCT, make_csv([[sku, "t", "d", "1"] for sku in SKUS], header=PRODUCT_HEADER)),
        (
            ImportType.PRODUCT,
            make_csv(
                [["Ü-1", "", "t", "d", "1", ""], ["Ü-1-blue", "Y", "t", "", "1", "blue"]],
                header=[
                    "SKU Number",
                    "SKU Indicator",
                    "Product Title",
                    "Product Description",
                    "Retail Price",
                    "options[Color]",
                ],
            ),
        ),
        (ImportType.PRODUCT, make_csv([["Trail", "t", "d", "1"], ["Trail/", "t", "d", "2"]], header=PRODUCT_HEADER)),
        (ImportType.CATEGORY, make_csv([["Shoes/Men", "Men's shoes"]], header=["Category Id", "Category Name"])),
        (ImportType.CUSTOMER, make_csv([["c1", "a@example.com"]], header=["Customer Id", "Email Address"])),
        (
            ImportType.ADDRESS,
            make_csv(
                [["c1", "Home/Office", "1 Main St", "Springfield"], ["c1", "Home/", "2 Main St", "Springfield"]],
                header=["Customer Id", "Address Name", "Address Line 1", "City"],
            ),
        ),
    ]
    for import_type, body in imports:
        job_id = submit(runtime, principal, body, import_type=import_type, catalog_id=1, site_id=1)
        drain(runtime, queue)
        assert job(runtime, job_id).state == ImportState.COMPLETED
    return create_app(runtime)


def get(app: Starlette, path: str) -> httpx.Response:
    async def ask() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://importer") as client:
            return await client.get(path, auth=("ops", "password-123"))

    return asyncio.run(ask())


def test_a_product_is_read_back_by_its_sku_whatever_it_holds(api: Starlette) -> None:
    answers = {sku: get(api, f"/api/data/PRODUCT/{quote(sku, safe='/')}") for sku in SKUS}

    assert {sku: answer.status_code for sku, answer in answers.items()} == dict.fromkeys(SKUS, 200)
    assert [answer.json()["skuNumber"] for answer in answers.values()] == SKUS


def test_a_sku_with_a_slash_is_read_back_with_the_slash_percent_encoded_too(api: Starlette) -> None:
    answer = get(api, "/api/data/PRODUCT/A%2F1")

    assert answer.status_code == 200, answer.text
    assert answer.json()["skuNumber"] == "A/1"


def test_a_sku_ending_in_a_slash_is_read_back_with_the_slash_percent_encoded_not_as_the_sku_before_it(
    api: Starlette,
) -> None:
    encoded = get(api, "/api/data/PRODUCT/Trail%2F")
    as_written = get(api, "/api/data/PRODUCT/Trail/")  # a trailing slash as written is dropped, as on every path

    assert encoded.status_code == 200, encoded.text
    assert (encoded.json()["skuNumber"], encoded.json()["retailPrice"]) == ("Trail/", "2")
    assert as_written.json()["skuNumber"] == "Trail"


def test_an_address_name_ending_in_a_slash_is_read_back_with_the_slash_percent_encoded(api: Starlette) -> None:
    answer = get(api, "/api/data/ADDRESS/c1/Home%2F")

    assert answer.status_code == 200, answer.text
    assert answer.json()["addressName"] == "Home/"


def test_a_category_id_with_a_slash_is_read_back(api: Starlette) -> None:
    answer = get(api, "/api/data/CATEGORY/Shoes/Men")

    assert answer.status_code == 200, answer.text
    assert answer.json()["categoryName"] == "Men's shoes"


def test_an_address_name_with_a_slash_is_read_back_after_its_customer_id(api: Starlette) -> None:
    answer = get(api, "/api/data/ADDRESS/c1/Home/Office")

    assert answer.status_code == 200, answer.text
    assert (answer.json()["customerId"], answer.json()["addressName"]) == ("c1", "Home/Office")


def test_an_address_named_by_its_customer_alone_is_refused_saying_it_takes_two_parts(api: Starlette) -> None:
    answer = get(api, "/api/data/ADDRESS/c1")

    assert answer.status_code == 400
    assert answer.json() == {
        "error": "BadRequest",
        "detail": "an ADDRESS record is named by 2 key parts: Customer Id / Address Name",
    }


def test_the_sku_of_a_product_read_as_a_product_is_a_404_naming_its_product(api: Starlette) -> None:
    answer = get(api, "/api/data/PRODUCT/Ü-1-blue")

    assert answer.status_code == 404
    assert answer.json()["detail"] == (
        "no PRODUCT 'Ü-1-blue' in catalog 1: it is a SKU of product 'Ü-1', read it there (/api/data/PRODUCT/Ü-1)"
    )
