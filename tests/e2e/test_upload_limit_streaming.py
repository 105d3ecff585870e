"""An upload sent without a length is measured as it streams: past the limit it is refused, and nothing is kept."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import psycopg

from tests.e2e.service import Service, wait_for_end

LIMIT = 2 * 1024 * 1024  # IMPORTER_MAX_UPLOAD_BYTES in the e2e settings


def endless_csv(total: int) -> Iterator[bytes]:
    yield b"SKU Number,Product Title,Product Description,Retail Price\n"
    line = b"1,T,D,1.00\n" * 1000
    sent = 0
    while sent < total:
        yield line
        sent += len(line)


def test_a_chunked_body_past_the_limit_is_a_413_and_leaves_no_upload(service: Service, admin: httpx.Client) -> None:
    before = sorted(path.name for path in (service.data_dir / "uploads").glob("*")) if not service.split_workers else []

    response = admin.post(
        "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=801",
        content=endless_csv(3 * LIMIT),
    )

    assert response.status_code == 413
    assert response.json() == {
        "error": "UploadTooLarge",
        "detail": f"the upload is larger than the limit of {LIMIT} bytes (IMPORTER_MAX_UPLOAD_BYTES)",
    }
    if not service.split_workers:  # the embedded default keeps uploads in a folder: nothing new, no .part
        assert sorted(path.name for path in (service.data_dir / "uploads").glob("*")) == before
    else:  # production keeps uploads as blocks in PostgreSQL: no block without its upload
        with psycopg.connect(service.settings["IMPORTER_DATABASE_URL"].replace("+psycopg", "")) as connection:
            orphans = connection.execute("SELECT count(*) FROM upload_block WHERE key NOT IN (SELECT key FROM upload)")
            assert orphans.fetchone() == (0,)
    history = admin.get("/api/importer", params={"pageSize": 1000}).json()["items"]
    assert all(item["catalogId"] != 801 for item in history)


def test_a_form_upload_is_limited_by_its_file_not_by_the_form_around_it(admin: httpx.Client) -> None:
    url = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=802"
    just_under = (b"Not A Header\n" + b"y\n" * LIMIT)[: LIMIT - 100]

    under = admin.post(url, files={"file": ("under.csv", just_under, "text/csv")})
    over = admin.post(url, files={"file": ("over.csv", just_under + b"y\n" * 60, "text/csv")})

    assert (under.status_code, under.json()["status"]) == (200, "START_REQUESTED")
    assert over.status_code == 413 and over.json()["error"] == "UploadTooLarge"
    assert wait_for_end(admin, under.json()["statusUrl"])[-1]["status"] == "FAILED"  # its header is no header
