"""A user's story with the HTTP API, on the embedded default and on PostgreSQL + Redis."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from tests.e2e.service import Service, wait_for_end
from tests.factories import CONTRACT_HEADER, CONTRACT_QUERY, contract_csv, make_csv, make_xlsx, product_row

CONTRACT_DATE = re.compile(r"^\d{4}\.\d{2}\.\d{2} \d{2}:\d{2}:\d{2}$")
IMPORT_URL = "/admin/api/importer/PRODUCT?" + CONTRACT_QUERY


def submit(client: httpx.Client, body: bytes, url: str = IMPORT_URL, content_type: str = "text/csv") -> httpx.Response:
    return client.post(url, content=body, headers={"Content-Type": content_type, "Accept": "application/json"})


def finished(client: httpx.Client, body: bytes, url: str = IMPORT_URL) -> dict[str, object]:
    response = submit(client, body, url)
    assert response.status_code == 200, response.text
    return wait_for_end(client, response.json()["statusUrl"])[-1]


def details(status: dict[str, object]) -> dict[str, str]:
    return {item["type"]: item["description"] for item in status["details"]}  # type: ignore[attr-defined]


def test_the_contract_example_imports_three_products(admin: httpx.Client) -> None:
    client = admin

    response = submit(client, contract_csv())

    assert response.status_code == 200
    accepted = response.json()
    assert accepted["status"] == "START_REQUESTED"
    assert accepted["percentComplete"] == 0.0
    assert CONTRACT_DATE.match(accepted["createdDate"]) and CONTRACT_DATE.match(accepted["lastUpdateDate"])
    assert accepted["statusUrl"] == f"/admin/api/importer/status/{accepted['statusId']}"
    assert accepted["details"] == []
    seen = wait_for_end(client, accepted["statusUrl"])
    percents = [status["percentComplete"] for status in seen]
    assert percents == sorted(percents)
    final = seen[-1]
    assert (final["status"], final["percentComplete"], final["totalRecords"]) == ("COMPLETED", 100.0, 3)
    assert (final["submittedBy"], final["userId"], final["catalogId"], final["siteId"]) == (
        "admin",
        -2,
        -2,
        -3,
    )
    [(kind, described)] = [(d["type"], d["description"]) for d in final["details"]]
    [warning] = json.loads(described)
    assert (kind, warning["severity"], warning["fieldValue"], warning["rowNumber"]) == (
        "recordValidation", "warning", "2007", 2,
    )  # fmt: skip

    product = client.get("/api/data/PRODUCT/2012", params={"catalogId": -2, "siteId": -3}).json()
    assert product["skuNumber"] == "2012"
    assert product["productTitle"] == "ProductB2012"
    assert product["productDescription"] == "ProductB2012 is awesome!!!"
    assert product["translations"] == {"productDescription": {"es": "¡ ProductB2012 es increíble!"}}
    assert product["defaultCategory"] == {"id": "2007", "pending": True}
    assert (product["productUrl"], product["retailPrice"], product["upc"]) == (
        "/mens/ProductB2012",
        "3.99",
        "2822012",
    )
    assert (product["availableQuantity"], product["attributes"]) == (300, {"Color": "Blue"})
    assert (product["catalogId"], product["siteId"]) == (-2, -3)


def test_both_prefixes_and_both_status_forms_answer(admin: httpx.Client) -> None:
    client = admin

    response = submit(client, contract_csv(), url="/api/importer/PRODUCT?" + CONTRACT_QUERY)
    status_id = response.json()["statusId"]
    wait_for_end(client, f"/api/importer/{status_id}")

    for path in (f"/api/importer/{status_id}", f"/admin/api/importer/{status_id}",
                 f"/api/importer/status/{status_id}", f"/admin/api/importer/status/{status_id}"):  # fmt: skip
        answer = client.get(path)
        assert answer.status_code == 200 and answer.json()["statusId"] == status_id


def test_multipart_and_xlsx_uploads_import_like_a_raw_csv_body(admin: httpx.Client) -> None:
    client = admin
    rows = [product_row("mp-1"), product_row("mp-2", price="1.50")]

    response = client.post(
        "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=31",
        files={"file": ("products.csv", make_csv(rows), "text/csv")},
    )
    assert response.status_code == 200, response.text
    assert wait_for_end(client, response.json()["statusUrl"])[-1]["status"] == "COMPLETED"

    xlsx_rows = [product_row("xl-1", **{"UPC": "000123"}), product_row("xl-2")]
    status = finished(client, make_xlsx(xlsx_rows), "/api/importer/PRODUCT?importSpecification="
                      "DefaultProductImportSpecification&catalogId=31&fileType=XLSX")  # fmt: skip
    assert status["status"] == "COMPLETED" and status["fileType"] == "XLSX"

    listing = client.get("/api/data/PRODUCT", params={"catalogId": 31, "pageSize": 3}).json()
    assert (listing["total"], listing["page"], listing["pageSize"]) == (4, 1, 3)
    assert [item["skuNumber"] for item in listing["items"]] == ["mp-1", "mp-2", "xl-1"]
    assert listing["items"][2]["upc"] == "000123"
    assert (
        client.get("/api/data/PRODUCT", params={"catalogId": 31, "page": 2, "pageSize": 3}).json()["items"][0][
            "skuNumber"
        ]
        == "xl-2"
    )


def test_a_utf8_csv_is_known_as_utf8_when_accepted_and_windows_1252_is_detected_when_read(
    admin: httpx.Client,
) -> None:
    utf8 = submit(admin, make_csv([product_row("enc-1", title="Crème brûlée")]))
    legacy = submit(admin, make_csv([product_row("enc-2", title="Crème brûlée")]).decode().encode("cp1252"))

    # UTF-8 is told while the body streams in (so the plan can hand out chunks as it reads); other text later.
    assert (utf8.json()["encoding"], legacy.json()["encoding"]) == ("utf-8", None)
    assert wait_for_end(admin, utf8.json()["statusUrl"])[-1]["status"] == "COMPLETED"
    read = wait_for_end(admin, legacy.json()["statusUrl"])[-1]
    assert (read["status"], read["encoding"]) == ("COMPLETED", "cp1252")
    for sku in ("enc-1", "enc-2"):
        product = admin.get(f"/api/data/PRODUCT/{sku}", params={"catalogId": -2, "siteId": -3}).json()
        assert product["productTitle"] == "Crème brûlée"


def _accented_csv(skus: str, megabytes: float) -> bytes:
    """A UTF-8 CSV of products titled in accented letters, whose first mebibyte ends inside an 'é'."""
    for padding in range(64):
        rows = [product_row(f"{skus}-{n}", title="x" * padding + "é" * 400) for n in range(int(megabytes * 1300))]
        body = make_csv(rows)
        if body[(1 << 20) - 1 : (1 << 20) + 1] == "é".encode():
            return body
    raise AssertionError("no padding put an 'é' across the first mebibyte's end")


def test_a_large_csv_is_told_utf8_across_its_blocks_and_one_wrong_byte_late_in_it_is_seen(
    admin: httpx.Client,
) -> None:
    clean = _accented_csv("blocks", 1.7)
    spoiled = bytearray(_accented_csv("late", 1.7))
    last_accent = spoiled.rindex("é".encode())
    spoiled[last_accent : last_accent + 2] = b"e\xe9"  # one Windows-1252 'é', in the last block

    accepted = submit(admin, clean).json()
    legacy = submit(admin, bytes(spoiled)).json()

    assert (accepted["encoding"], legacy["encoding"]) == ("utf-8", None)
    assert wait_for_end(admin, accepted["statusUrl"])[-1]["status"] == "COMPLETED"
    assert wait_for_end(admin, legacy["statusUrl"])[-1]["encoding"] == "cp1252"
    first = admin.get("/api/data/PRODUCT/blocks-0", params={"catalogId": -2, "siteId": -3}).json()
    assert first["productTitle"].endswith("é" * 400)


def test_invalid_rows_fail_the_import_with_record_validation_details(admin: httpx.Client) -> None:
    client = admin
    body = make_csv([product_row("bad-1", title=" "), product_row("bad-2", price="12,5x"), product_row("ok-3")])

    status = finished(
        client,
        body,
        "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=41",
    )

    assert status["status"] == "FAILED"
    found = details(status)
    assert found["status"] == "error"
    assert "2 rows failed validation, so nothing was written" in found["message"]
    assert json.loads(found["headerValidation"]) == []
    problems = json.loads(found["recordValidation"])
    assert [(p["fieldName"], p["fieldValue"], p["rowNumber"], p["message"]) for p in problems] == [
        ("Product Title", "", 2, "Missing Required Data: Product Title is required"),
        ("Retail Price", "12,5x", 3, "Retail Price must be a decimal number, got '12,5x'"),
    ]
    assert found["recordValidation"].startswith(
        '[{"fieldName":"Product Title","fieldValue":"","rowNumber":2,"message":'
    )
    assert found["recordValidation"] == json.dumps(problems, ensure_ascii=False, separators=(",", ":"))
    assert found["headerValidation"] == "[]"
    assert client.get("/api/data/PRODUCT", params={"catalogId": 41}).json()["total"] == 0


def test_an_unknown_header_fails_with_a_header_validation_detail(admin: httpx.Client) -> None:
    client = admin
    header = [("Prodct Title" if name == "Product Title" else name) for name in CONTRACT_HEADER]

    status = finished(client, make_csv([product_row("h-1")], header=header))

    assert status["status"] == "FAILED"
    problems = json.loads(details(status)["headerValidation"])
    messages = [p["message"] for p in problems]
    assert "unknown header 'Prodct Title'; did you mean 'Product Title'?" in messages
    assert "Missing required header 'Product Title'" in messages


def test_request_errors_are_json_with_the_right_status(admin: httpx.Client) -> None:
    client = admin
    base = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification"

    cases = [
        (
            submit(client, b"x", "/api/importer/WIDGET?importSpecification=X"),
            400,
            "valid import types are PRODUCT",
        ),
        (submit(client, b"x", "/api/importer/PRODUCT"), 400, "DefaultProductImportSpecification"),
        (
            submit(client, b"x", "/api/importer/PRODUCT?importSpecification=Nope"),
            400,
            "unknown importSpecification",
        ),
        (submit(client, b"x", base + "&fileType=PDF"), 400, "unknown fileType 'PDF'"),
        (
            submit(client, make_xlsx([["1"]]), base + "&fileType=CSV"),
            415,
            "fileType is CSV but the body is a ZIP",
        ),
        (
            submit(client, contract_csv(), base + "&fileType=XLSX"),
            415,
            "fileType is XLSX but the body is text",
        ),
        (submit(client, b"", base), 400, "the request body is empty"),
        (submit(client, b"x", base + "&catalogId=abc"), 400, "catalogId must be a whole number"),
        (submit(client, b"x" * (2 * 1024 * 1024 + 10), base), 413, "IMPORTER_MAX_UPLOAD_BYTES"),
        (client.get("/api/importer/999999"), 404, "no import with statusId 999999"),
        (client.get("/api/data/PRODUCT/none-such"), 404, "no PRODUCT 'none-such'"),
        (client.get("/api/nowhere"), 404, "no route for GET /api/nowhere"),
        (client.get("/api/importer/PRODUCT"), 405, "no route for GET /api/importer/PRODUCT"),
    ]
    for response, code, text in cases:
        assert response.status_code == code, (code, response.text)
        body = response.json()
        assert set(body) == {"error", "detail"} and text in body["detail"], body


def test_missing_or_wrong_credentials_get_401_with_basic_challenge(service: Service) -> None:
    with (
        httpx.Client(base_url=service.base_url) as anonymous,
        service.client("admin", "not-the-password") as wrong,
    ):
        responses = [
            anonymous.get("/api/importer/1"),
            wrong.get("/api/importer/1"),
            submit(wrong, contract_csv()),
        ]

    for response in responses:
        assert response.status_code == 401
        assert response.headers["www-authenticate"].startswith("Basic")
        assert response.json()["error"] == "Unauthorized"


def test_a_viewer_may_read_but_not_submit(service: Service) -> None:
    service.add_user("onlooker", "viewer-password-1", role="viewer")

    with service.client("onlooker", "viewer-password-1") as viewer:
        response = submit(viewer, contract_csv())
        reading = viewer.get("/api/data/PRODUCT", params={"catalogId": -2})

    assert response.status_code == 403
    assert response.json()["detail"] == "account 'onlooker' may not submit PRODUCT imports"
    assert reading.status_code == 200


def test_a_status_id_that_cannot_be_one_is_a_json_404(admin: httpx.Client) -> None:
    too_long = admin.get("/api/importer/1234567890")
    not_a_number = admin.get("/admin/api/importer/abc")
    cancel_too_long = admin.delete("/api/importer/1234567890")
    an_import_type = admin.get("/api/importer/PRODUCT")

    assert (too_long.status_code, too_long.json()) == (
        404, {"error": "NotFound", "detail": "no import with statusId 1234567890"},
    )  # fmt: skip
    assert (not_a_number.status_code, not_a_number.json()) == (
        404, {"error": "NotFound", "detail": "no import with statusId 'abc': a statusId is a whole number"},
    )  # fmt: skip
    assert cancel_too_long.status_code == 404
    assert an_import_type.status_code == 405, "an import type is only submitted to"


NOT_A_NUMBER = "no import with statusId 'abc': a statusId is a whole number"


@pytest.mark.parametrize(
    ("method", "path", "detail"),
    [
        ("GET", "/admin/api/importer/status/1234567890", "no import with statusId 1234567890"),
        ("GET", "/admin/api/importer/status/abc", NOT_A_NUMBER),
        ("GET", "/api/importer/status/-1", "no import with statusId -1"),
        ("GET", "/api/importer/abc/errors", NOT_A_NUMBER),
        ("GET", "/admin/api/importer/abc/failed-rows", NOT_A_NUMBER),
        ("POST", "/api/importer/abc/cancel", NOT_A_NUMBER),
        ("POST", "/api/importer/abc/retry", NOT_A_NUMBER),
        ("GET", "/api/importer/1234567890/errors", "no import with statusId 1234567890"),
    ],
)
def test_a_status_url_or_import_action_whose_status_id_cannot_be_one_says_so(
    admin: httpx.Client, method: str, path: str, detail: str
) -> None:
    answer = admin.request(method, path)
    anonymous = httpx.request(method, str(admin.base_url.join(path)))

    assert (answer.status_code, answer.json()) == (404, {"error": "NotFound", "detail": detail})
    assert anonymous.status_code == 401  # credentials are asked for first


def test_the_trailing_slash_form_of_a_path_is_served_not_redirected(admin: httpx.Client) -> None:
    url = "/admin/api/importer/PRODUCT/?importSpecification=DefaultProductImportSpecification&catalogId=42"

    accepted = submit(admin, make_csv([product_row("slash-1")]), url)
    status = admin.get(f"/api/importer/status/{accepted.json()['statusId']}/")

    assert (accepted.status_code, accepted.json()["status"]) == (200, "START_REQUESTED")
    assert (status.status_code, status.json()["statusId"]) == (200, accepted.json()["statusId"])
    assert admin.get("/api/health/").json() == {"status": "ok"}
    wait_for_end(admin, status.json()["statusUrl"])
