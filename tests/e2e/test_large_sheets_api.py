"""A large XLSX is read by two workers at once and lands as a reading from its start would land it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RedisDatabase
from tests.e2e.conftest import ADMIN, TEST_SETTINGS, deployed
from tests.e2e.service import Service, wait_for_end
from tests.factories import CONTRACT_HEADER, make_xlsx, product_row

HEADER = [*CONTRACT_HEADER, "options[Size]"]
PRODUCTS = 5000


@pytest.fixture(scope="module", params=["embedded", "production"])
def sheet_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_db: RedisDatabase
) -> Iterator[Service]:
    # Every sheet over 16 KiB of XML is read in two: this one has about 10 MB, long enough for the piece's task
    # to start while the plan reads the first half.
    settings = TEST_SETTINGS | {"IMPORTER_SHEET_SPLIT_BYTES": str(16 * 1024), "IMPORTER_CHUNK_ROWS": "1000"}
    with deployed(request.param, tmp_path_factory.mktemp(request.param), settings, redis_db) as running:
        yield running


def catalog() -> bytes:
    rows = []
    for n in range(PRODUCTS):
        rows.append([*product_row(f"L{n}"), ""])
        rows += [[*product_row(f"L{n}-{size}", **{"SKU Indicator": "Y"}), size] for size in ("S", "M")]
    return make_xlsx(rows, header=HEADER)


def skus_of(client: httpx.Client, product: str) -> list[str]:
    found = client.get(f"/api/data/PRODUCT/{product}", params={"catalogId": 401})
    assert found.status_code == 200, found.text
    return sorted(str(sku["skuNumber"]) for sku in found.json()["skus"])


def test_a_large_sheet_read_by_two_workers_lands_whole_with_each_sku_under_its_product(sheet_service: Service) -> None:
    service = sheet_service
    with service.client(*ADMIN) as admin:
        status = admin.post(
            "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=401&fileType=XLSX",
            files={"file": ("large.xlsx", catalog())},
        ).json()

        final = wait_for_end(admin, status["statusUrl"])[-1]

        assert (final["status"], final["totalRecords"], final["percentComplete"]) == ("COMPLETED", 3 * PRODUCTS, 100)
        listing = admin.get("/api/data/PRODUCT", params={"catalogId": 401, "pageSize": 1}).json()
        assert listing["total"] == PRODUCTS
        logs = "".join(service.log(name) for name in ("serve.log", "worker-0.log", "worker-1.log"))
        joined = re.search(r"import\.sheet_piece_joined job_id=\d+ start=\d+ first_row=(\d+)", logs)
        assert joined is not None  # the second half was read by the other worker, and joined
        assert "worker.sheet_rows reader=compiled records=compiled" in logs  # as installed, compiled code reads
        cut = (int(joined.group(1)) - 2) // 3  # the first product of the second half: rows 2, 5, 8, ...
        for n in (0, cut - 1, cut, PRODUCTS - 1):  # the first, the two either side of the cut, the last
            assert skus_of(admin, f"L{n}") == [f"L{n}-M", f"L{n}-S"]
