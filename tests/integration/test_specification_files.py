"""A deployment adds specifications as JSON files, checked at start-up, used like the built-in ones."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import quote

import httpx
import pytest
from starlette.applications import Starlette

from app.db import Database
from app.errors import Conflict, SettingsError
from app.importing import pipeline
from app.jobs import ImportState
from app.main import create_app
from app.service import read_record, retry_job
from app.specification_files import install_specifications
from specifications import ImportType, find_specification, forget_added
from tests.factories import make_csv
from tests.integration.pipeline_driver import Delivery, WorkerOf, drain, job, make_principal, make_runtime, submit
from workers.tasks import run_step

FEED = {
    "name": "AcmeProductFeed",
    "importType": "PRODUCT",
    "description": "Acme's nightly feed",
    "columns": [
        {"header": "Item Code", "field": "sku_number"},
        {"header": "Name", "field": "product_title"},
        {"header": "Price", "field": "retail_price"},
        {"header": "Blurb", "field": "product_description", "required": False},
    ],
    "columnFamilies": [{"prefix": "Attr", "field": "attributes"}],
}


@pytest.fixture(autouse=True)
def _clean_registry() -> Iterator[None]:
    yield
    forget_added()


def folder_with(tmp_path: Path, **files: object) -> Path:
    folder = tmp_path / "specs"
    folder.mkdir()
    for name, content in files.items():
        (folder / f"{name}.json").write_text(json.dumps(content) if not isinstance(content, str) else content)
    return folder


def test_a_specification_file_imports_with_its_own_headers(database: Database, tmp_path: Path) -> None:
    install_specifications(folder_with(tmp_path, acme=FEED))
    runtime, queue = make_runtime(database, tmp_path)
    spec = find_specification(ImportType.PRODUCT, "acmeproductfeed")
    assert spec is not None and spec.name == "AcmeProductFeed"

    body = make_csv(
        [["A-1", "Widget", "2.50", "", "blue"]], header=["Item Code", "Name", "Price", "Blurb", "Attr[Color]"]
    )
    job_id = submit(runtime, make_principal(database), body, specification="AcmeProductFeed")
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED
    widget = read_record(runtime, ImportType.PRODUCT, ["A-1"], -2, -3)
    assert (widget["product_title"], widget["retail_price"], widget["attributes"]) == (
        "Widget",
        "2.50",
        {"Color": "blue"},
    )


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("{not json", "not readable JSON"),
        ({"name": "X", "importType": "WIDGET"}, "importType must be one of"),
        ({"name": "X", "importType": "PRODUCT", "columns": [{"header": "A", "field": "nope"}]}, "unknown field 'nope'"),
        ({"name": "X", "importType": "PRODUCT", "columns": [{"header": "A", "field": "product_title"}]},
         "the key must be mapped: ['SKU Number']"),
        ({"name": "DefaultProductImportSpecification", "importType": "PRODUCT",
          "columns": [{"header": "A", "field": "sku_number"}]}, "already exists"),
        ({"name": "X", "importType": "PRODUCT", "columns": 5}, '"columns" must be a list'),
        ({"name": "X", "importType": "PRODUCT", "columns": [{"header": "A", "field": "sku_number"}],
          "columnFamilies": {"prefix": "Attr", "field": "attributes"}}, '"columnFamilies" must be a list'),
        ({"name": "X", "importType": "PRODUCT", "columns": [{"header": "A", "field": "sku_number"},
          {"header": "Name", "field": "product_title", "required": "no"}]},
         "column 'Name': \"required\" is true or false, not 'no'"),
        ({"name": "X", "importType": "PRODUCT", "columns": [{"header": "A", "field": "sku_number", "required": False}]},
         "column 'A' holds the key, which is always required"),
        ({"name": "X", "importType": "PRODUCT", "columns": [{"header": "A", "field": "sku_number"},
          {"header": "Name", "field": "product_title", "requried": False}]},
         "column 'Name': unknown key 'requried'; a column takes field, header, required"),
        ({"name": "X", "importType": "PRODUCT", "columns": [{"header": "A", "field": "sku_number"},
          {"header": "Price", "field": "retail_price", "default": "0"}]}, "column 'Price': unknown key 'default'"),
        ({"name": "X", "importType": "PRODUCT", "column": [{"header": "A", "field": "sku_number"}]},
         "unknown key 'column'; a specification file takes columnFamilies, columns, description, importType, name"),
        ({"name": "X", "importType": "PRODUCT", "columns": [{"header": " ", "field": "sku_number"}]},
         "a column's header is empty"),
        ({"name": "X", "importType": "PRODUCT", "columns": [{"header": "A", "field": "sku_number"},
          {"header": "Title", "field": "product_title"}, {"header": "Name", "field": "product_title"}]},
         "columns 'Title' and 'Name' both hold field 'product_title'; a field takes one column"),
        ({"name": "X", "importType": "PRODUCT", "columns": [{"header": "A", "field": "sku_number"}],
          "columnFamilies": [{"prefix": "", "field": "attributes"}]}, "a column family's prefix is empty"),
        ({"name": "X", "importType": "PRODUCT", "columns": [{"header": "A", "field": "sku_number"}],
          "columnFamilies": [{"prefix": "Attr", "field": "attributes"}, {"prefix": "attr", "field": "options"}]},
         "the prefix 'attr' is given twice"),
        ({"name": "X", "importType": "PRODUCT", "description": ["a"],
          "columns": [{"header": "A", "field": "sku_number"}]},
         '"description" is text'),
    ],
)  # fmt: skip
def test_a_mistaken_file_stops_the_start_naming_the_file_and_the_reason(
    tmp_path: Path, content: object, reason: str
) -> None:
    with pytest.raises(SettingsError) as caught:
        install_specifications(folder_with(tmp_path, broken=content))

    assert str(caught.value).startswith("specification file broken.json: ") and reason in str(caught.value)


def test_a_file_saved_with_a_byte_order_mark_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "acme.json").write_bytes(b"\xef\xbb\xbf" + json.dumps(FEED).encode())

    installed = install_specifications(folder)

    assert [spec.name for spec in installed] == ["AcmeProductFeed"]


def test_a_column_made_optional_or_required_is_listed_so(tmp_path: Path) -> None:
    feed = dict(FEED, columns=[*FEED["columns"], {"header": "Qty", "field": "available_quantity", "required": True}])

    install_specifications(folder_with(tmp_path, acme=feed))

    spec = find_specification(ImportType.PRODUCT, "AcmeProductFeed")
    assert spec is not None
    assert {column.header: column.requirement.value for column in spec.columns} == {
        "Item Code": "required",
        "Name": "required",
        "Price": "required",
        "Blurb": "optional",
        "Qty": "required",
    }


def ask(app: Starlette, path: str) -> httpx.Response:
    async def send() -> httpx.Response:
        async with httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://importer") as client:
            return await client.get(path, auth=("ops", "password-123"))

    return asyncio.run(send())


@pytest.mark.parametrize("name", ["Ürün Beslemesi ğ", "商品フィード", 'Acme "nightly" feed'])
def test_a_template_of_a_specification_named_in_any_script_downloads_under_its_name(
    database: Database, tmp_path: Path, name: str
) -> None:
    install_specifications(folder_with(tmp_path, named=dict(FEED, name=name)))
    runtime, _ = make_runtime(database, tmp_path)
    make_principal(database, "ops")

    answer = ask(create_app(runtime), f"/api/importer/specifications/{quote(name)}/template")

    assert answer.status_code == 200
    assert answer.text.splitlines()[0] == "Item Code,Name,Price,Blurb"
    disposition = answer.headers["content-disposition"]
    assert disposition.startswith('attachment; filename="') and disposition.count('"') == 2
    assert disposition.endswith(f"; filename*=UTF-8''{quote(name + '.csv', safe='')}")


def test_a_retry_of_an_import_whose_specification_is_gone_is_refused_naming_it(
    database: Database, tmp_path: Path
) -> None:
    install_specifications(folder_with(tmp_path, acme=FEED))
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    body = make_csv([["A-1", "Widget", "not a price"]], header=["Item Code", "Name", "Price"])
    job_id = submit(runtime, principal, body, specification="AcmeProductFeed")
    drain(runtime, queue)
    assert job(runtime, job_id).state == ImportState.FAILED

    forget_added()  # the deployment restarted without the file
    with pytest.raises(Conflict) as refused:
        retry_job(runtime, principal, job_id)

    assert str(refused.value) == (
        f"import {job_id} used the specification 'AcmeProductFeed', which no longer exists; "
        "submit the file again with one of: DefaultProductImportSpecification"
    )
    assert not queue.steps


def test_an_import_taken_by_a_worker_without_the_specification_file_fails_naming_the_setting_to_fix(
    database: Database, tmp_path: Path
) -> None:
    install_specifications(folder_with(tmp_path, acme=FEED))  # the API was started with the file
    runtime, _ = make_runtime(database, tmp_path)
    body = make_csv([["A-1", "Widget", "2.50"]], header=["Item Code", "Name", "Price"])
    job_id = submit(runtime, make_principal(database), body, specification="AcmeProductFeed")
    forget_added()  # the worker on another machine was started without it

    run_step(Delivery().task, WorkerOf(runtime), job_id, lambda worker: pipeline.plan(worker, job_id))

    failed = job(runtime, job_id)
    assert failed.state == ImportState.FAILED
    assert failed.message == (
        "the worker that took this import has no specification 'AcmeProductFeed' (its "
        "IMPORTER_SPECIFICATIONS_DIR is unset): every worker needs the API's specification files, and a restart "
        "once a file is added. Nothing was written; retry the import once the workers have it"
    )


def test_a_file_named_in_capitals_is_read(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "ACME.JSON").write_text(json.dumps(FEED))

    installed = install_specifications(folder)

    assert [spec.name for spec in installed] == ["AcmeProductFeed"]


@pytest.mark.parametrize("name", ["acme.yaml", "acme.yml"])
def test_a_specification_written_in_yaml_stops_the_start_saying_files_are_json(tmp_path: Path, name: str) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / name).write_text("name: AcmeProductFeed\nimportType: PRODUCT\n")

    with pytest.raises(SettingsError) as caught:
        install_specifications(folder)

    assert str(caught.value) == f"specification file {name}: specification files are JSON (*.json), not YAML"
