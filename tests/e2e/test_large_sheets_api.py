"""A large XLSX is read by two workers at once and lands as a reading from its start would land it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.conftest import RedisDatabase
from tests.e2e.conftest import ADMIN, TEST_SETTINGS, deployed
from tests.e2e.service import Service, wait_for_end
from tests.factories import CONTRACT_HEADER, make_xlsx, product_row, rewrite_sheet

HEADER = [*CONTRACT_HEADER, "options[Size]"]
PRODUCTS = 5000


@pytest.fixture(scope="module", params=["embedded", "production"])
def sheet_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_db: RedisDatabase
) -> Iterator[Service]:
    # Every sheet over 16 KiB of XML is read in two: this one has about 10 MB, and its first rows are slow
    # to read (see slow_start), so that the piece's task starts while the plan reads up to the piece.
    settings = TEST_SETTINGS | {"IMPORTER_SHEET_SPLIT_BYTES": str(16 * 1024), "IMPORTER_CHUNK_ROWS": "1000"}
    with deployed(request.param, tmp_path_factory.mktemp(request.param), settings, redis_db) as running:
        yield running


def catalog() -> bytes:
    rows = []
    for n in range(PRODUCTS):
        rows.append([*product_row(f"L{n}"), ""])
        rows += [[*product_row(f"L{n}-{size}", **{"SKU Indicator": "Y"}), size] for size in ("S", "M")]
    return slow_start(make_xlsx(rows, header=HEADER), last_row=PRODUCTS)


def slow_start(body: bytes, last_row: int) -> bytes:
    """The workbook with a line break between the cells of its rows 2 to `last_row`, as some programs write
    them. The plan reads such rows with expat, several times slower than the plain rows the scan reads,
    while the piece's worker skips them unread: on a loaded machine, a sheet read at the scan's speed all
    along could be read up to the piece before the idle worker had started on it."""

    def spread_out(row: re.Match[bytes]) -> bytes:
        return row[0].replace(b"</c><c", b"</c>\n<c") if 2 <= int(row[1]) <= last_row else row[0]

    rows = re.compile(rb'<row r="(\d+)"[^>]*>.*?</row>', re.DOTALL)
    return rewrite_sheet(body, lambda data: rows.sub(spread_out, data))


def skus_of(client: httpx.Client, product: str) -> list[str]:
    found = client.get(f"/api/data/PRODUCT/{product}", params={"catalogId": 401})
    assert found.status_code == 200, found.text
    return sorted(str(sku["skuNumber"]) for sku in found.json()["skus"])


def import_sheet(admin: httpx.Client, sheet: bytes) -> int:
    """Import the sheet; its job id, once it COMPLETED with every row."""
    status = admin.post(
        "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=401&fileType=XLSX",
        files={"file": ("large.xlsx", sheet)},
    ).json()
    final = wait_for_end(admin, status["statusUrl"])[-1]
    assert (final["status"], final["totalRecords"], final["percentComplete"]) == ("COMPLETED", 3 * PRODUCTS, 100)
    return int(status["statusId"])


def service_logs(service: Service) -> str:
    return "".join(service.log(name) for name in ("serve.log", "worker-0.log", "worker-1.log"))


def piece_joined_at(service: Service, job_id: int) -> int | None:
    """The first row of the sheet's second half, when another worker read it and the plan joined it; None
    when the plan reached the middle before any worker had started on it, and read on by itself."""
    logs = service_logs(service)
    joined = re.search(rf"import\.sheet_piece_joined job_id={job_id} start=\d+ first_row=(\d+)", logs)
    if joined is not None:
        return int(joined.group(1))
    assert re.search(rf"import\.sheet_piece_taken job_id={job_id} was=queued", logs), (
        "the piece neither joined nor taken"
    )
    return None


def test_a_large_sheet_read_by_two_workers_lands_whole_with_each_sku_under_its_product(sheet_service: Service) -> None:
    service, sheet = sheet_service, catalog()
    with service.client(*ADMIN) as admin:
        # A busy machine may start the idle worker on the second half only after the plan got there (the
        # plan then reads on by itself): the same sheet is imported again, up to three times in all.
        for _ in range(3):
            job_id = import_sheet(admin, sheet)
            listing = admin.get("/api/data/PRODUCT", params={"catalogId": 401, "pageSize": 1}).json()
            assert listing["total"] == PRODUCTS
            if (first_row := piece_joined_at(service, job_id)) is not None:
                break
        assert first_row is not None, "in three imports, no worker read the sheet's second half"

        compiled = "worker.sheet_rows reader=compiled records=compiled"  # as installed, compiled code reads
        assert compiled in service_logs(service)
        cut = (first_row - 2) // 3  # the first product of the second half: rows 2, 5, 8, ...
        for n in (0, cut - 1, cut, PRODUCTS - 1):  # the first, the two either side of the cut, the last
            assert skus_of(admin, f"L{n}") == [f"L{n}-M", f"L{n}-S"]
