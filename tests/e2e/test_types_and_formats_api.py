"""Every import type and file format over HTTP: specifications, templates, JSON bodies, read-back by key."""

from __future__ import annotations

import csv
import io

import httpx
from openpyxl import load_workbook

from tests.e2e.service import wait_for_end
from tests.factories import make_jsonl, make_xlsx, product_row


def test_specifications_list_every_type_with_its_columns(admin: httpx.Client) -> None:
    listing = admin.get("/api/importer/specifications").json()["items"]

    by_name = {spec["name"]: spec for spec in listing}
    names = {"DefaultProductImportSpecification", "DefaultCategoryImportSpecification"}
    names |= {"DefaultCustomerImportSpecification", "DefaultCustomerAddressImportSpecification"}
    assert names <= set(by_name)
    product = by_name["DefaultProductImportSpecification"]
    price = next(column for column in product["columns"] if column["header"] == "Retail Price")
    assert (price["kind"], price["required"], price["field"]) == ("decimal", "required", "retail_price")
    lengths = {column["header"]: column["maxLength"] for column in product["columns"]}
    assert (lengths["SKU Number"], lengths["UPC"], lengths["Product Title"]) == (255, 255, None)
    assert {family["header"] for family in product["columnFamilies"]} == {"ProductAttribute[Name]", "options[Name]"}


def test_a_template_is_a_file_with_the_header_and_an_example_that_imports(admin: httpx.Client) -> None:
    csv_template = admin.get("/api/importer/specifications/DefaultCategoryImportSpecification/template")
    xlsx_template = admin.get(
        "/admin/api/importer/specifications/DefaultProductImportSpecification/template", params={"fileType": "XLSX"}
    )

    rows = list(csv.reader(io.StringIO(csv_template.text)))
    assert rows[0][:3] == ["Category Id", "Category Name", "Parent Category Id"] and rows[1][0] == "2007"
    sheet = load_workbook(io.BytesIO(xlsx_template.content)).active
    assert sheet is not None and sheet["A1"].value == "SKU Number"
    rows[1][2] = ""  # the example's parent is not in this catalog
    body = "\r\n".join(",".join(row) for row in rows).encode()
    status = admin.post(
        "/api/importer/CATEGORY?importSpecification=DefaultCategoryImportSpecification&catalogId=301", content=body
    ).json()
    assert wait_for_end(admin, status["statusUrl"])[-1]["status"] == "COMPLETED"
    assert admin.get("/api/data/CATEGORY/2007", params={"catalogId": 301}).json()["categoryName"] == "Mens"
    assert admin.get("/api/importer/specifications/Nope/template").status_code == 404


def test_a_body_without_file_type_is_detected_and_named_in_the_status(admin: httpx.Client) -> None:
    path = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=302"

    from_xlsx = admin.post(path, content=make_xlsx([product_row("x-1")])).json()
    from_jsonl = admin.post(path, content=make_jsonl([product_row("j-1")])).json()

    assert wait_for_end(admin, from_xlsx["statusUrl"])[-1]["fileType"] == "XLSX"
    assert wait_for_end(admin, from_jsonl["statusUrl"])[-1]["fileType"] == "JSONL"
    assert admin.get("/api/data/PRODUCT/j-1", params={"catalogId": 302}).json()["productTitle"] == "Product j-1"


def test_customers_and_addresses_are_read_back_by_their_keys(admin: httpx.Client) -> None:
    customers = "Customer Id,Email Address,First Name\nC-7,c7@example.com,Ana\n"
    addresses = "Customer Id,Address Name,Address Line 1,City,Country\nC-7,Home,Calle Mayor 1,Madrid,ES\n"
    first = admin.post(
        "/api/importer/CUSTOMER?importSpecification=DefaultCustomerImportSpecification&siteId=9", content=customers
    ).json()
    assert wait_for_end(admin, first["statusUrl"])[-1]["status"] == "COMPLETED"

    second = admin.post(
        "/api/importer/ADDRESS?importSpecification=DefaultCustomerAddressImportSpecification&siteId=9",
        content=addresses,
    ).json()

    assert wait_for_end(admin, second["statusUrl"])[-1]["status"] == "COMPLETED"
    home = admin.get("/api/data/ADDRESS/C-7/Home", params={"siteId": 9})
    assert home.status_code == 200
    assert (home.json()["addressLine1"], home.json()["country"]) == ("Calle Mayor 1", "ES")
    assert admin.get("/api/data/CUSTOMER/C-7", params={"siteId": 9}).json()["emailAddress"] == "c7@example.com"
    assert admin.get("/api/data/ADDRESS/C-7", params={"siteId": 9}).status_code == 400
