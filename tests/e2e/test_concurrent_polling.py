"""A script polling with many requests at once is served, never taken for a password guesser."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor

import httpx

from tests.e2e.conftest import ADMIN
from tests.e2e.service import Service
from tests.factories import contract_csv

QUERY = "importSpecification=DefaultProductImportSpecification&catalogId=-2"


def test_twenty_concurrent_polls_of_one_account_all_get_their_status(service: Service, admin: httpx.Client) -> None:
    status_url = admin.post(f"/api/importer/PRODUCT?{QUERY}", content=contract_csv()).json()["statusUrl"]

    def poll(_: int) -> list[int]:
        with service.client(*ADMIN) as client:
            return [client.get(status_url).status_code for _ in range(3)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = [code for answers in pool.map(poll, range(20)) for code in answers]

    assert codes == [200] * 60
