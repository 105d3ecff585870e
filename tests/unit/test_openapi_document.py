"""The OpenAPI document describes every route the application has, every field of ImportStatus and every error."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, cast

import schemathesis
from schemathesis.core.result import Ok
from starlette.routing import Route

from app.api.openapi import ERRORS, XLSX, openapi_document
from app.api.rendering import render_status
from app.db import Database
from app.jobs import ImportState, ImportStatus
from app.main import create_app
from app.service import StatusView
from tests.integration.pipeline_driver import make_runtime

METHODS = ("get", "post", "put", "patch", "delete")


def shape(path: str) -> str:
    """A path with its parameters unnamed: /api/importer/{status_id:int} and /api/importer/{statusId} match."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def app_routes(tmp_path: Path) -> set[tuple[str, str]]:
    runtime, _ = make_runtime(Database("sqlite://"), tmp_path)
    routes = [route for route in create_app(runtime).routes if isinstance(route, Route)]
    return {
        (method.lower(), shape(route.path)) for route in routes for method in route.methods or () if method != "HEAD"
    }


def documented_operations() -> dict[tuple[str, str], dict[str, Any]]:
    paths = cast(dict[str, dict[str, Any]], openapi_document()["paths"])
    return {
        (method, shape(path)): operation
        for path, item in paths.items()
        for method, operation in item.items()
        if method in METHODS
    }


def schemas() -> dict[str, Any]:
    return cast(dict[str, Any], openapi_document()["components"])["schemas"]  # type: ignore[no-any-return]


def test_every_route_in_the_route_table_is_documented_and_nothing_else(tmp_path: Path) -> None:
    routes = app_routes(tmp_path)

    documented = set(documented_operations())

    assert routes - documented == set(), "routes missing from the OpenAPI document"
    assert documented - routes == set(), "documented operations the application does not route"


def test_the_document_is_openapi_3_that_a_client_generator_can_load() -> None:
    document = openapi_document()

    loaded = schemathesis.openapi.from_dict(document)

    assert str(document["openapi"]).startswith("3.")
    operations = list(loaded.get_all_operations())
    assert operations and all(isinstance(result, Ok) for result in operations)
    ids = [operation["operationId"] for operation in documented_operations().values()]
    assert len(ids) == len(set(ids))


def test_import_status_documents_every_field_the_api_renders() -> None:
    job = ImportStatus(
        id=7, import_type="PRODUCT", specification="DefaultProductImportSpecification",
        state=ImportState.COMPLETED.value, file_type="CSV", catalog_id=1, site_id=1, account_id=1,
        submitted_by="ops", upload_key="upload-1",
    )  # fmt: skip

    rendered = render_status(StatusView(job, [], []))

    assert set(schemas()["ImportStatus"]["properties"]) == set(rendered)


def test_every_error_answer_is_documented_with_its_json_body() -> None:
    components = cast(dict[str, Any], openapi_document()["components"])

    assert sorted(ERRORS) == [400, 401, 403, 404, 405, 409, 413, 415, 422, 429, 503, 507]
    for name, _ in ERRORS.values():
        body = components["responses"][name]["content"]["application/json"]["schema"]
        assert body == {"$ref": "#/components/schemas/Error"}
    assert set(schemas()["Error"]["required"]) == {"error", "detail"}
    assert "Retry-After" in components["responses"]["TooManyRequests"]["headers"]
    assert "WWW-Authenticate" in components["responses"]["Unauthorized"]["headers"]


def test_both_basic_and_bearer_authentication_are_documented_and_health_needs_neither() -> None:
    document = openapi_document()
    schemes = cast(dict[str, Any], document["components"])["securitySchemes"]
    operations = documented_operations()

    assert (schemes["basicAuth"]["scheme"], schemes["bearerAuth"]["scheme"]) == ("basic", "bearer")
    assert document["security"] == [{"basicAuth": []}, {"bearerAuth": []}]
    assert operations[("get", "/api/health")]["security"] == []
    assert operations[("get", "/api/openapi.json")]["security"] == []


def test_a_submit_documents_its_parameters_bodies_and_answers() -> None:
    for prefix in ("/api/importer", "/admin/api/importer"):
        submit = documented_operations()[("post", prefix + "/{}")]

        names = {parameter["name"] for parameter in submit["parameters"]}
        assert names >= {"importSpecification", "catalogId", "siteId", "userId", "importToSandbox", "sandboxId",
                         "fileType", "onError", "maxErrors", "dryRun"}  # fmt: skip
        content = submit["requestBody"]["content"]
        assert set(content) == {"text/csv", "application/octet-stream", XLSX, "multipart/form-data"}
        assert content["multipart/form-data"]["schema"]["required"] == ["file"]
        assert set(submit["responses"]) == {"200", "400", "401", "403", "413", "415", "422", "429", "503", "507"}


def test_listings_document_their_paging_and_filters() -> None:
    operations = documented_operations()

    history = {parameter["name"] for parameter in operations[("get", "/api/importer")]["parameters"]}
    records = {parameter["name"] for parameter in operations[("get", "/api/data/{}")]["parameters"]}

    assert history == {"page", "pageSize", "status", "importType"}
    assert records == {"importType", "catalogId", "siteId", "sandboxId", "page", "pageSize"}
