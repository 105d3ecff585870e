"""Sandboxes over HTTP: the contract's importToSandbox, review, promote, discard and the audit trail."""

from __future__ import annotations

import base64
import http.client
import json
import socket
from typing import Any

import httpx

from tests.e2e.conftest import ADMIN
from tests.e2e.service import Service, wait_for_end
from tests.factories import make_csv, product_row

BASE = "/admin/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=501"
RETRIED = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=511"
PRIVATE = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=512"
# A CSV declared as a workbook: a refusal other than 415 shows that the body was not read.
UNREAD = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=513&fileType=XLSX"


def test_an_import_to_a_sandbox_is_reviewed_then_promoted(admin: httpx.Client) -> None:
    box = admin.post("/api/sandboxes", json={"name": "summer"})
    assert box.status_code == 201
    sandbox_id = box.json()["sandboxId"]

    accepted = admin.post(
        f"{BASE}&importToSandbox=True&sandboxId={sandbox_id}&userId=77", content=make_csv([product_row("s-1")])
    )
    final = wait_for_end(admin, accepted.json()["statusUrl"])[-1]

    assert (final["status"], final["sandboxId"]) == ("COMPLETED", sandbox_id)
    assert {"type": "sandbox", "description": f"imported into sandbox {sandbox_id}"} in final["details"]
    assert admin.get("/api/data/PRODUCT/s-1", params={"catalogId": 501}).status_code == 404
    in_box = admin.get("/api/data/PRODUCT/s-1", params={"catalogId": 501, "sandboxId": sandbox_id})
    assert in_box.json()["productTitle"] == "Product s-1"
    changes = admin.get(f"/api/sandboxes/{sandbox_id}/changes").json()
    assert changes["total"] == 1 and changes["items"][0]["change"] == "created"
    assert changes["items"][0]["key"] == {"skuNumber": "s-1"}

    promoted = admin.post(f"/api/sandboxes/{sandbox_id}/promote")

    assert promoted.status_code == 200 and promoted.json()["state"] == "PROMOTED"
    assert admin.get("/api/data/PRODUCT/s-1", params={"catalogId": 501}).status_code == 200
    again = admin.post(f"/api/sandboxes/{sandbox_id}/discard")
    assert again.status_code == 409 and "is PROMOTED" in again.json()["detail"]
    events = admin.get("/api/audit", params={"pageSize": 20}).json()["items"]
    assert {"sandbox.created", "import.submitted", "sandbox.promoted"} <= {event["action"] for event in events}
    submitted = next(e for e in events if e["action"] == "import.submitted" and e["statusId"] == final["statusId"])
    assert (submitted["account"], submitted["userId"], submitted["sandboxId"]) == ("admin", 77, sandbox_id)


def test_sandbox_mistakes_are_4xx(service: Service, admin: httpx.Client) -> None:
    orphan = admin.post(f"{BASE}&sandboxId=5", content=make_csv([product_row("x")]))
    unknown = admin.post(f"{BASE}&importToSandbox=true&sandboxId=99999", content=make_csv([product_row("x")]))
    no_name = admin.post("/api/sandboxes", content=b"not json")

    assert orphan.status_code == 400 and "sandboxId goes with importToSandbox=true" in orphan.json()["detail"]
    assert unknown.status_code == 400 and "no sandbox 99999" in unknown.json()["detail"]
    assert no_name.status_code == 400
    assert admin.get("/api/sandboxes/99999").status_code == 404
    service.add_user("peek", "viewer-password-2", role="viewer")
    with service.client("peek", "viewer-password-2") as viewer:
        assert viewer.post("/api/sandboxes", json={"name": "x"}).status_code == 403
        assert viewer.get("/api/sandboxes").status_code == 200


def test_a_sandbox_body_that_is_not_json_is_a_400_naming_the_problem(admin: httpx.Client) -> None:
    nested = admin.post("/api/sandboxes", content=b"[" * 50_000)
    broken = admin.post("/api/sandboxes", content=b'{"name": ')
    not_utf8 = admin.post("/api/sandboxes", content=b'{"name": "\xff"}')

    assert (nested.status_code, broken.status_code, not_utf8.status_code) == (400, 400, 400)
    assert nested.json() == {"error": "BadRequest", "detail": "the body's JSON is nested too deeply"}
    assert broken.json()["detail"] == (
        'the body must be JSON: {"name": "..."} (Expecting value: line 1 column 10 (char 9))'
    )
    assert not_utf8.json()["detail"].startswith('the body must be JSON: {"name": "..."} (')


def raw_post(service: Service, path: str, auth: tuple[str, str], head: str, body: bytes) -> tuple[int, Any]:
    """POST whose headers promise more than is sent (or keep a chunked body open): the answer must come without
    the service waiting for the rest."""
    credentials = base64.b64encode(":".join(auth).encode()).decode()
    request = f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {credentials}\r\n{head}\r\n"
    with socket.create_connection(("127.0.0.1", service.port), timeout=10) as connection:
        connection.sendall(request.encode() + body)
        answer = http.client.HTTPResponse(connection)
        try:
            answer.begin()
            return answer.status, json.loads(answer.read())
        finally:
            answer.close()


def test_a_viewer_is_refused_before_its_body_is_read(service: Service) -> None:
    service.add_user("peek-big", "viewer-password-3", role="viewer")

    status, body = raw_post(
        service, "/api/sandboxes", ("peek-big", "viewer-password-3"), "Content-Length: 419430400\r\n", b"[" * 1024
    )

    assert status == 403
    assert body == {"error": "Forbidden", "detail": "account 'peek-big' may not create sandboxes"}


def test_a_sandbox_body_over_64_kib_is_a_413_naming_the_limit(service: Service) -> None:
    declared = raw_post(service, "/api/sandboxes", ADMIN, "Content-Length: 419430400\r\n", b"{" * 1024)
    streamed = raw_post(
        service, "/api/sandboxes", ADMIN, "Transfer-Encoding: chunked\r\n", b"20000\r\n" + b" " * 0x20000 + b"\r\n"
    )

    expected = {"error": "BodyTooLarge", "detail": "the request body is larger than the limit of 65536 bytes"}
    assert declared == (413, expected)
    assert streamed == (413, expected)


def test_a_retry_of_a_sandbox_import_lands_in_that_sandbox_and_not_in_production(admin: httpx.Client) -> None:
    sandbox_id = admin.post("/api/sandboxes", json={"name": "retried"}).json()["sandboxId"]
    rows = make_csv([product_row(f"rt-{n}") for n in range(2000)])
    accepted = admin.post(f"{RETRIED}&importToSandbox=true&sandboxId={sandbox_id}", content=rows).json()
    cancelled = admin.post(f"/api/importer/{accepted['statusId']}/cancel")
    assert cancelled.json()["status"] == "CANCELLED", cancelled.text

    retry = admin.post(f"/api/importer/{accepted['statusId']}/retry")

    assert retry.status_code == 200, retry.text
    assert (retry.json()["retryOf"], retry.json()["sandboxId"]) == (accepted["statusId"], sandbox_id)
    final = wait_for_end(admin, retry.json()["statusUrl"])[-1]
    assert (final["status"], final["sandboxId"], final["recordsCreated"]) == ("COMPLETED", sandbox_id, 2000)
    assert {"type": "sandbox", "description": f"imported into sandbox {sandbox_id}"} in final["details"]
    assert admin.get("/api/data/PRODUCT", params={"catalogId": 511}).json()["total"] == 0
    in_box = admin.get("/api/data/PRODUCT", params={"catalogId": 511, "sandboxId": sandbox_id})
    assert in_box.json()["total"] == 2000


def test_a_retry_into_a_sandbox_that_was_discarded_is_a_409_naming_it(admin: httpx.Client) -> None:
    sandbox_id = admin.post("/api/sandboxes", json={"name": "gone"}).json()["sandboxId"]
    accepted = admin.post(
        f"{RETRIED}&importToSandbox=true&sandboxId={sandbox_id}", content=make_csv([product_row("rt-x", price="x")])
    )
    failed = wait_for_end(admin, accepted.json()["statusUrl"])[-1]
    assert failed["status"] == "FAILED"
    admin.post(f"/api/sandboxes/{sandbox_id}/discard")

    refused = admin.post(f"/api/importer/{failed['statusId']}/retry")

    assert refused.status_code == 409
    assert refused.json() == {
        "error": "Conflict",
        "detail": f"import {failed['statusId']} went into sandbox {sandbox_id}, which is DISCARDED; only an OPEN "
        "sandbox takes imports, so submit the file again into another sandbox",
    }
    assert admin.get(failed["statusUrl"]).json()["retriedAs"] is None


def test_a_sandboxs_rows_are_read_only_by_accounts_that_may_see_the_sandbox(
    service: Service, admin: httpx.Client
) -> None:
    for name, role in (("sb-owner", "importer"), ("sb-other", "importer"), ("sb-viewer", "viewer")):
        service.add_user(name, f"{name}-password-1", role=role)
    with service.client("sb-owner", "sb-owner-password-1") as owner:
        sandbox_id = owner.post("/api/sandboxes", json={"name": "private"}).json()["sandboxId"]
        accepted = owner.post(
            f"{PRIVATE}&importToSandbox=true&sandboxId={sandbox_id}", content=make_csv([product_row("pv-1")])
        )
        assert wait_for_end(owner, accepted.json()["statusUrl"])[-1]["status"] == "COMPLETED"
        owners_view = owner.get("/api/data/PRODUCT/pv-1", params={"catalogId": 512, "sandboxId": sandbox_id})
    in_box = {"catalogId": 512, "sandboxId": sandbox_id}

    with service.client("sb-other", "sb-other-password-1") as other:
        sandbox = other.get(f"/api/sandboxes/{sandbox_id}")
        one = other.get("/api/data/PRODUCT/pv-1", params=in_box)
        page = other.get("/api/data/PRODUCT", params=in_box)
        categories = other.get("/api/data/CATEGORY", params=in_box)
        production = other.get("/api/data/PRODUCT/pv-1", params={"catalogId": 512})

    assert sandbox.status_code == 404 and sandbox.json() == {"error": "NotFound", "detail": f"no sandbox {sandbox_id}"}
    assert [(one.status_code, one.json()), (page.status_code, page.json())] == [(404, sandbox.json())] * 2
    assert (categories.status_code, categories.json()) == (404, sandbox.json())
    assert production.json() == {"error": "NotFound", "detail": "no PRODUCT 'pv-1' in catalog 512"}
    assert owners_view.json()["productTitle"] == "Product pv-1"
    with service.client("sb-viewer", "sb-viewer-password-1") as viewer:
        assert viewer.get("/api/data/PRODUCT/pv-1", params=in_box).json()["productTitle"] == "Product pv-1"
    assert admin.get("/api/data/PRODUCT", params=in_box).json()["total"] == 1


def test_a_read_of_a_sandbox_that_does_not_exist_is_a_404_not_production(admin: httpx.Client) -> None:
    wait_for_end(admin, admin.post(PRIVATE, content=make_csv([product_row("pv-2")])).json()["statusUrl"])
    unknown = {"catalogId": 512, "sandboxId": 99999}

    one = admin.get("/api/data/PRODUCT/pv-2", params=unknown)
    page = admin.get("/api/data/PRODUCT", params=unknown)

    expected = {"error": "NotFound", "detail": "no sandbox 99999"}
    assert [(one.status_code, one.json()), (page.status_code, page.json())] == [(404, expected)] * 2
    assert admin.get("/api/data/PRODUCT/pv-2", params={"catalogId": 512, "sandboxId": 0}).status_code == 200


def test_sandbox_mistakes_are_refused_before_the_upload_is_read_and_leave_nothing_stored(
    service: Service, admin: httpx.Client
) -> None:
    service.add_user("sb-neighbour", "sb-neighbour-password-1", role="importer")
    theirs = admin.post("/api/sandboxes", json={"name": "the admin's"}).json()["sandboxId"]
    unread = make_csv([product_row("mx-1")])
    before = service.upload_keys()

    with service.client("sb-neighbour", "sb-neighbour-password-1") as neighbour:
        closed = neighbour.post("/api/sandboxes", json={"name": "closed"}).json()["sandboxId"]
        assert neighbour.post(f"/api/sandboxes/{closed}/discard").json()["state"] == "DISCARDED"
        answers = [
            neighbour.post(f"{UNREAD}&sandboxId=5", content=unread),
            neighbour.post(f"{UNREAD}&importToSandbox=true&sandboxId=99999", content=unread),
            neighbour.post(f"{UNREAD}&importToSandbox=true&sandboxId={closed}", content=unread),
            neighbour.post(f"{UNREAD}&importToSandbox=true&sandboxId={theirs}", content=unread),
        ]

    assert [(answer.status_code, answer.json()["error"]) for answer in answers] == [(400, "BadRequest")] * 4
    details = [answer.json()["detail"] for answer in answers]
    assert "sandboxId goes with importToSandbox=true" in details[0]
    assert details[1].startswith("no sandbox 99999;") and details[3].startswith(f"no sandbox {theirs};")
    assert details[2] == f"sandbox {closed} is DISCARDED; imports go only into an OPEN sandbox"
    assert service.upload_keys() == before
