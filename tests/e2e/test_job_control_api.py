"""Controlling imports over HTTP: dry run, error policy, cancel, retry, idempotency, history, errors."""

from __future__ import annotations

import csv
import io
import json
import uuid

import httpx

from tests.e2e.service import Service, wait_for_end
from tests.factories import CONTRACT_HEADER, make_csv, product_row

SPEC = "importSpecification=DefaultProductImportSpecification"


def url(catalog: int, extra: str = "") -> str:
    return f"/api/importer/PRODUCT?{SPEC}&catalogId={catalog}{extra}"


def post(client: httpx.Client, body: bytes, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    return client.post(path, content=body, headers={"Content-Type": "text/csv", **(headers or {})})


def skus(client: httpx.Client, catalog: int) -> list[str]:
    listing = client.get("/api/data/PRODUCT", params={"catalogId": catalog, "pageSize": 1000}).json()
    return [item["skuNumber"] for item in listing["items"]]


def bad_file() -> bytes:
    """Two invalid rows of four; no category is named, so no warning joins the problems."""
    rows = [product_row("a"), product_row("b", price="1,5"), product_row("c"), product_row("d", title=" ")]
    for row in rows:
        row[CONTRACT_HEADER.index("Default Category Id")] = ""
    return make_csv(rows)


def test_on_error_skip_lands_valid_rows_and_lists_every_problem(admin: httpx.Client) -> None:
    response = post(admin, bad_file(), url(101, "&onError=skip"))

    final = wait_for_end(admin, response.json()["statusUrl"])[-1]

    assert (final["status"], final["onError"], final["recordsCreated"], final["recordsFailed"]) == (
        "COMPLETED",
        "skip",
        2,
        2,
    )
    assert final["problemCount"] == 2
    assert skus(admin, 101) == ["a", "c"]
    errors = admin.get(f"/api/importer/{final['statusId']}/errors", params={"pageSize": 1}).json()
    assert (errors["total"], errors["page"], errors["pageSize"]) == (2, 1, 1)
    assert errors["items"][0]["rowNumber"] == 3 and errors["items"][0]["fieldName"] == "Retail Price"
    second = admin.get(f"/api/importer/{final['statusId']}/errors", params={"page": 2, "pageSize": 1}).json()
    assert second["items"][0]["rowNumber"] == 5


def test_a_dry_run_reports_without_writing(admin: httpx.Client) -> None:
    response = post(admin, make_csv([product_row("dry-1"), product_row("dry-2")]), url(102, "&dryRun=true"))

    final = wait_for_end(admin, response.json()["statusUrl"])[-1]

    assert (final["status"], final["dryRun"], final["recordsCreated"]) == ("COMPLETED", True, 2)
    assert skus(admin, 102) == []


def test_the_failed_rows_file_can_be_fixed_and_uploaded_as_is(admin: httpx.Client) -> None:
    failed = wait_for_end(admin, post(admin, bad_file(), url(103)).json()["statusUrl"])[-1]
    assert failed["status"] == "FAILED"

    download = admin.get(f"/api/importer/{failed['statusId']}/failed-rows")

    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    lines = list(csv.reader(io.StringIO(download.text)))
    assert [line[0] for line in lines[1:]] == ["b", "d"] and lines[0][-1] == "Error"
    fixed = lines  # the Error column stays: the file goes back as it is
    fixed[1][7], fixed[2][2] = "1.50", "A title"
    out = io.StringIO()
    csv.writer(out).writerows(fixed)
    again = wait_for_end(admin, post(admin, out.getvalue().encode(), url(103)).json()["statusUrl"])[-1]
    assert again["status"] == "COMPLETED" and skus(admin, 103) == ["b", "d"]


def test_cancel_stops_an_import_and_a_retry_runs_it_again(admin: httpx.Client) -> None:
    big = make_csv([product_row(f"big-{n}") for n in range(6000)])
    accepted = post(admin, big, url(104)).json()

    cancelled = admin.delete(f"/api/importer/{accepted['statusId']}")

    assert cancelled.status_code == 200 and cancelled.json()["status"] == "CANCELLED"
    assert wait_for_end(admin, accepted["statusUrl"])[-1]["status"] == "CANCELLED"
    assert skus(admin, 104) == []
    again = admin.post(f"/api/importer/{accepted['statusId']}/cancel")
    assert again.status_code == 409 and "already CANCELLED" in again.json()["detail"]

    retry = admin.post(f"/admin/api/importer/{accepted['statusId']}/retry")
    assert retry.status_code == 200 and retry.json()["retryOf"] == accepted["statusId"]
    final = wait_for_end(admin, retry.json()["statusUrl"])[-1]
    assert (final["status"], final["recordsCreated"]) == ("COMPLETED", 6000)
    assert admin.get(accepted["statusUrl"]).json()["retriedAs"] == final["statusId"]
    finished = admin.delete(f"/api/importer/{final['statusId']}")
    assert finished.status_code == 409 and "is already COMPLETED" in finished.json()["detail"]


def test_an_idempotency_key_returns_the_same_import_and_refuses_another_body(
    service: Service, admin: httpx.Client
) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = make_csv([product_row("idem-1")])

    first = post(admin, body, url(105), key)
    second = post(admin, body, url(105), key)
    stored = service.upload_keys()
    other = post(admin, make_csv([product_row("idem-2")]), url(105), key)

    assert first.status_code == second.status_code == 200
    assert first.json()["statusId"] == second.json()["statusId"]
    assert other.status_code == 422 and "Idempotency-Key was already used" in other.json()["detail"]
    assert service.upload_keys() == stored, "the refused upload is not kept"
    wait_for_end(admin, first.json()["statusUrl"])
    history = admin.get("/api/importer", params={"pageSize": 1000}).json()["items"]
    assert sum(1 for item in history if item["statusId"] == first.json()["statusId"]) == 1
    assert skus(admin, 105) == ["idem-1"]


def test_an_idempotency_key_reused_for_another_import_is_refused(admin: httpx.Client) -> None:
    key = {"Idempotency-Key": str(uuid.uuid4())}
    body = make_csv([product_row("idem-3")])
    customers = "/api/importer/CUSTOMER?importSpecification=DefaultCustomerImportSpecification&catalogId=110"

    first = post(admin, body, url(110), key)
    as_customers = post(admin, body, customers, key)
    other_catalog = post(admin, body, url(111), key)
    dry_run = post(admin, body, url(110, "&dryRun=true"), key)
    again = post(admin, body, url(110), key)

    assert first.status_code == again.status_code == 200
    assert first.json()["statusId"] == again.json()["statusId"]
    first_id = first.json()["statusId"]
    for response, named in [
        (as_customers, "importType, importSpecification"), (other_catalog, "catalogId"), (dry_run, "dryRun"),
    ]:  # fmt: skip
        assert response.status_code == 422, response.text
        assert response.json() == {
            "error": "IdempotencyMismatch",
            "detail": f"Idempotency-Key was already used for import {first_id} with a different {named}; use a new key",
        }
    wait_for_end(admin, first.json()["statusUrl"])


def test_history_lists_imports_newest_first_with_filters(admin: httpx.Client) -> None:
    for _ in range(2):
        wait_for_end(admin, post(admin, make_csv([product_row("hist")]), url(106)).json()["statusUrl"])

    listing = admin.get("/api/importer", params={"status": "COMPLETED", "importType": "PRODUCT", "pageSize": 2}).json()

    ids = [item["statusId"] for item in listing["items"]]
    assert ids == sorted(ids, reverse=True) and listing["total"] >= 2
    assert all(item["status"] == "COMPLETED" for item in listing["items"])
    assert admin.get("/api/importer", params={"status": "DONE"}).status_code == 400


def test_an_importer_sees_only_its_own_imports(service: Service, admin: httpx.Client) -> None:
    service.add_user("carol", "carol-password-1", role="importer")
    service.add_user("dave", "dave-password-1", role="importer")
    with service.client("carol", "carol-password-1") as carol, service.client("dave", "dave-password-1") as dave:
        mine = post(carol, make_csv([product_row("own-1")]), url(107)).json()
        theirs = dave.get(f"/api/importer/{mine['statusId']}")
        dave_cancel = dave.delete(f"/api/importer/{mine['statusId']}")
        dave_history = dave.get("/api/importer").json()
        carol_sees = carol.get(f"/api/importer/{mine['statusId']}")

    assert (theirs.status_code, dave_cancel.status_code) == (404, 404)
    assert all(item["submittedBy"] == "dave" for item in dave_history["items"])
    assert carol_sees.status_code == 200
    assert admin.get(f"/api/importer/{mine['statusId']}").status_code == 200


def test_bad_control_parameters_are_400s(admin: httpx.Client) -> None:
    cases = [
        (post(admin, b"x", url(108, "&onError=ignore")), "onError must be 'abort' or 'skip'"),
        (
            post(admin, b"x", url(108, "&maxErrors=3")),
            "maxErrors is a whole number of 0 or more, and goes with onError=skip",
        ),
        (post(admin, b"x", url(108, "&dryRun=perhaps")), "dryRun must be true or false"),
        (admin.get("/api/importer/1/errors", params={"pageSize": 5000}), "pageSize must be between 1 and 1000"),
    ]
    for response, text in cases:
        assert response.status_code == 400 and text in json.loads(response.text)["detail"]


def test_a_number_in_the_query_is_ascii_digits_with_an_optional_minus(admin: httpx.Client) -> None:
    arabic_indic_12, full_width_5 = "\u0661\u0662", "\uff15"
    cases = [
        ("catalogId", arabic_indic_12, post(admin, b"x", f"/api/importer/PRODUCT?{SPEC}&catalogId={arabic_indic_12}")),
        ("siteId", "1_0", post(admin, b"x", url(109, "&siteId=1_0"))),
        ("maxErrors", full_width_5, post(admin, b"x", url(109, f"&onError=skip&maxErrors={full_width_5}"))),
        ("userId", " 7", post(admin, b"x", url(109, "&userId=%207"))),
        ("userId", "+7", post(admin, b"x", url(109, "&userId=%2B7"))),
        ("catalogId", arabic_indic_12, admin.get("/api/data/PRODUCT", params={"catalogId": arabic_indic_12})),
        ("page", "\u0661", admin.get("/api/importer", params={"page": "\u0661"})),
    ]

    for name, raw, response in cases:
        assert response.status_code == 400, (name, raw, response.text)
        assert response.json() == {"error": "BadRequest", "detail": f"{name} must be a whole number, got '{raw}'"}
    assert skus(admin, 109) == [] and skus(admin, 12) == []
