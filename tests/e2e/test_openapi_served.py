"""The running service publishes its OpenAPI document to anyone, the same one the code builds."""

from __future__ import annotations

import httpx

from app.api.openapi import openapi_document
from tests.e2e.service import Service


def test_the_openapi_document_is_served_without_credentials(service: Service) -> None:
    with httpx.Client(base_url=service.base_url, timeout=30) as anonymous:
        response = anonymous.get("/api/openapi.json")

    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/json")
    document = response.json()
    assert document == openapi_document()
    assert document["openapi"] == "3.1.0"
    assert {"/api/importer/{importTypeOrStatusId}", "/admin/api/importer/{statusId}/retry"} <= set(document["paths"])
