"""Hostile files sent to the running service: each gets its exact answer, and the service stays up and small."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import httpx

from tests.e2e.chaos import descendants
from tests.e2e.service import Service, wait_for_end
from tests.factories import make_csv, make_xlsx, make_zip, product_row
from tests.unit.test_hostile_archives import BILLION_LAUGHS, hostile_sheet

PRODUCTS = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=701"
ASSETS = "/api/importer/ASSET?importSpecification=DefaultAssetImportSpecification&catalogId=701"


def message_of(client: httpx.Client, url: str, body: bytes) -> str:
    response = client.post(url, content=body)
    assert response.status_code == 200, response.text
    final = wait_for_end(client, response.json()["statusUrl"])[-1]
    assert final["status"] == "FAILED", final
    return str(next(d["description"] for d in final["details"] if d["type"] == "message"))


def rss_mb(pid: int) -> int:
    for line in (Path("/proc") / str(pid) / "status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def test_hostile_files_fail_with_their_reason_and_the_service_stays_small(
    service: Service, admin: httpx.Client
) -> None:
    corpus = [
        (ASSETS, make_zip({"zeros.png": b"\0" * (50 * 1024 * 1024)}), "more than the limit of 200"),
        (ASSETS, make_zip({"../../etc/cron.d/evil": b"x"}), "points outside its folder"),
        (PRODUCTS + "&fileType=ZIP", make_zip({f"f{n}.csv": b"a" for n in range(10_001)}),
         "more than the limit of 10000"),
        (PRODUCTS + "&fileType=XLSX", hostile_sheet(BILLION_LAUGHS.replace("lolz", "worksheet"), "<t>&lol9;</t>"),
         "declares entities, which are refused"),
        (PRODUCTS + "&fileType=XLSX", hostile_sheet('<!DOCTYPE worksheet [<!ENTITY x SYSTEM "file:///etc/passwd">]>',
                                                    "<t>&x;</t>"), "declares entities, which are refused"),
        (PRODUCTS + "&fileType=XLSX", make_xlsx([product_row("1")])[:3000], "XLSX"),
        (PRODUCTS, make_csv([product_row("1")]) + b'"unterminated,' + b"x" * (1200 * 1024),
         "longer than the limit of 1048576 characters (IMPORTER_MAX_FIELD_BYTES)"),
    ]  # fmt: skip
    for url, body, reason in corpus:
        assert reason in message_of(admin, url, body), reason

    nul = admin.post(PRODUCTS, content=make_csv([product_row("1", title="a\x00b")]))
    final = wait_for_end(admin, nul.json()["statusUrl"])[-1]
    assert "Product Title contains a NUL byte" in final["details"][3]["description"]
    renamed = admin.post(PRODUCTS + "&fileType=CSV", content=b"%PDF-1.7 pretending to be a CSV")
    assert renamed.status_code == 415 and "the body is a PDF document" in renamed.json()["detail"]

    assert admin.get("/api/health").status_code == 200
    workers = [pid for pid in descendants(service.api.pid) if pid != service.api.pid]
    for pid in [service.api.pid, *workers, *(p.pid for p in service.processes[1:])]:
        assert rss_mb(pid) < 250, f"process {pid} holds {rss_mb(pid)} MB"


def test_a_malformed_multipart_body_gets_a_400_naming_it(admin: httpx.Client) -> None:
    boundary = "4bea7452f2ee0b8418ae8c1020a88206"
    body = f"--{boundary}\r\n--{boundary}--\r\n".encode()  # a part with no headers: a line end where one begins

    response = admin.post(PRODUCTS, content=body, headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})

    assert response.status_code == 400
    assert response.json()["detail"].startswith("the multipart body is malformed")


def test_an_asset_import_given_another_file_type_names_what_was_asked_and_what_was_found(admin: httpx.Client) -> None:
    text = admin.post(ASSETS + "&fileType=CSV", content=b"File Name,Alt Text\nshoe.png,A shoe\n")
    zipped = admin.post(ASSETS + "&fileType=CSV", content=make_zip({"manifest.csv": "File Name\n"}))

    assert text.status_code == 415
    assert text.json() == {
        "error": "UnsupportedMediaType",
        "detail": "fileType is CSV, but this import type takes a ZIP body, and the body is text",
    }
    assert zipped.status_code == 200, "the contract's default fileType (CSV) with an asset ZIP is accepted"
    wait_for_end(admin, zipped.json()["statusUrl"])


def raw_request(service: Service, head: bytes, filler: int) -> bytes:
    """What the service answers a request whose header runs `filler` bytes, sent as fast as it reads it."""
    host, port = service.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=30) as connection:
        connection.sendall(head)
        try:
            for _ in range(filler // 65536):
                connection.sendall(b"a" * 65536)
            connection.sendall(b"\r\n\r\n")
        except OSError:  # refused before the header ended: the answer is waiting
            pass
        return connection.recv(4096)


def test_a_request_header_that_never_ends_is_refused_before_the_api_holds_it(service: Service) -> None:
    # httptools gathers a header however long it grows: 1 GB of one held a gigabyte of the API's memory.
    answer = raw_request(service, b"GET /api/health HTTP/1.1\r\nHost: importer\r\nX-Filler: ", 64 * 1024 * 1024)

    status, _, body = answer.partition(b"\r\n\r\n")
    assert status.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert json.loads(body) == {
        "error": "HeadersTooLarge",
        "detail": "the request line and headers are longer than the limit of 1048576 bytes",
    }
    assert httpx.get(service.base_url + "/api/health").status_code == 200
