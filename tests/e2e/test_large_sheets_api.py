"""A large XLSX is read by two workers at once and lands as a reading from its start would land it."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RedisDatabase
from tests.e2e.conftest import ADMIN, TEST_SETTINGS, deployed
from tests.e2e.service import Service, wait_for_end
from tests.factories import CONTRACT_HEADER, make_xlsx, product_row

HEADER = [*CONTRACT_HEADER, "options[Size]"]
PRODUCTS = 150


@pytest.fixture(scope="module", params=["embedded", "production"])
def service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_db: RedisDatabase
) -> Iterator[Service]:
    # Every sheet over 16 KiB of XML is read in two: this one has about 330 KiB.
    settings = TEST_SETTINGS | {"IMPORTER_SHEET_SPLIT_BYTES": str(16 * 1024)}
    with deployed(request.param, tmp_path_factory.mktemp(request.param), settings, redis_db) as running:
        yield running


def catalog() -> bytes:
    rows = []
    for n in range(PRODUCTS):
        rows.append([*product_row(f"L{n}"), ""])
        rows += [[*product_row(f"L{n}-{size}", **{"SKU Indicator": "Y"}), size] for size in ("S", "M")]
    return make_xlsx(rows, header=HEADER)


def products(client: httpx.Client, catalog_id: int) -> list[str]:
    listing = client.get("/api/data/PRODUCT", params={"catalogId": catalog_id, "pageSize": 1000}).json()
    return sorted(str(item["skuNumber"]) for item in listing["items"])


def test_a_large_sheet_lands_whole_with_each_sku_under_its_product(service: Service) -> None:
    with service.client(*ADMIN) as admin:
        status = admin.post(
            "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=401&fileType=XLSX",
            files={"file": ("large.xlsx", catalog())},
        ).json()

        final = wait_for_end(admin, status["statusUrl"])[-1]

        assert (final["status"], final["totalRecords"], final["percentComplete"]) == ("COMPLETED", 450, 100)
        assert products(admin, 401) == sorted(f"L{n}" for n in range(PRODUCTS))
        sku = admin.get("/api/data/PRODUCT/L149", params={"catalogId": 401}).json()
        assert sorted(item["skuNumber"] for item in sku["skus"]) == ["L149-M", "L149-S"]
    logs = "".join(service.log(name) for name in ("serve.log", "worker-0.log", "worker-1.log"))
    assert "import.sheet_piece_queued" in logs  # the second half was handed to a worker
