"""Limits as a client meets them: failed logins, request rate and running imports, each a 429 with Retry-After.

The API runs without workers (`importer serve --no-worker`), so that every import it accepts stays
START_REQUESTED, the way it does while every worker is busy.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest

from tests.conftest import RedisDatabase
from tests.e2e.conftest import ADMIN, TEST_SETTINGS, deployed
from tests.e2e.service import ApiWithoutWorkers, Service
from tests.factories import contract_csv

LIMITS = {
    "IMPORTER_LOGIN_FAILURES_BEFORE_THROTTLE": "3",
    "IMPORTER_LOGIN_THROTTLE_SECONDS": "2",
    "IMPORTER_RATE_LIMIT_PER_SECOND": "2",
    "IMPORTER_RATE_LIMIT_BURST": "10",
    "IMPORTER_MAX_RUNNING_IMPORTS": "2",
}
SUBMIT = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=-2"
ANOTHER_ADDRESS = "127.0.0.2"  # a second loopback address: another client, without any proxy header


@pytest.fixture(scope="module", params=["embedded", "production"])
def limited(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_db: RedisDatabase
) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp(f"limits-{request.param}")
    settings = TEST_SETTINGS | LIMITS
    with deployed(request.param, data_dir, settings, redis_db, 0, ApiWithoutWorkers) as running:
        yield running


def client_from(service: Service, address: str, auth: tuple[str, str]) -> httpx.Client:
    """A client whose connections come from `address` (a loopback address other than 127.0.0.1)."""
    transport = httpx.HTTPTransport(local_address=address)
    return httpx.Client(base_url=service.base_url, auth=auth, timeout=30, transport=transport)


def submit(client: httpx.Client, body: bytes = b"", url: str = SUBMIT) -> httpx.Response:
    return client.post(url, content=body or contract_csv(), headers={"Content-Type": "text/csv"})


def assert_too_many(response: httpx.Response, setting: str) -> int:
    """A 429 that says which limit and which setting; returns its Retry-After."""
    assert response.status_code == 429, response.text
    body = response.json()
    assert (set(body), body["error"]) == ({"error", "detail"}, "TooManyRequests")
    assert setting in body["detail"], body
    return int(response.headers["retry-after"])


def test_repeated_failed_logins_lock_that_account_out_from_that_address_only(limited: ApiWithoutWorkers) -> None:
    limited.add_user("victim", "victim-password-1", role="viewer")
    limited.add_user("neighbour", "neighbour-password-1", role="viewer")

    with (
        limited.client("victim", "guess-guess-1") as guesser,
        limited.client("victim", "victim-password-1") as owner,
        client_from(limited, ANOTHER_ADDRESS, ("victim", "victim-password-1")) as owner_elsewhere,
    ):
        guesses = [guesser.get("/api/importer").status_code for _ in range(3)]
        refused = owner.get("/api/importer")
        from_elsewhere = owner_elsewhere.get("/api/importer")
    with limited.client("neighbour", "neighbour-password-1") as neighbour:
        other_account = neighbour.get("/api/importer")

    assert guesses == [401, 401, 401]
    assert 1 <= assert_too_many(refused, "IMPORTER_LOGIN_FAILURES_BEFORE_THROTTLE") <= 2
    assert "IMPORTER_LOGIN_THROTTLE_SECONDS" in refused.json()["detail"]
    assert (from_elsewhere.status_code, other_account.status_code) == (200, 200)


def test_after_the_lockout_a_success_resets_the_count_and_a_new_lockout_lasts_twice_as_long(
    limited: ApiWithoutWorkers,
) -> None:
    limited.add_user("forgetful", "forgetful-password-1", role="viewer")

    with (
        limited.client("forgetful", "nope-nope-1") as wrong,
        limited.client("forgetful", "forgetful-password-1") as right,
    ):
        [wrong.get("/api/importer") for _ in range(3)]
        time.sleep(assert_too_many(right.get("/api/importer"), "IMPORTER_LOGIN_THROTTLE_SECONDS"))
        after_lockout = right.get("/api/importer")
        reset = [wrong.get("/api/importer").status_code for _ in range(2)] + [right.get("/api/importer").status_code]
        [wrong.get("/api/importer") for _ in range(3)]
        time.sleep(assert_too_many(right.get("/api/importer"), "IMPORTER_LOGIN_THROTTLE_SECONDS"))
        [wrong.get("/api/importer") for _ in range(3)]
        second = right.get("/api/importer")

    assert after_lockout.status_code == 200
    assert reset == [401, 401, 200]
    assert assert_too_many(second, "IMPORTER_LOGIN_THROTTLE_SECONDS") == 4


def test_failed_logins_are_logged_with_the_username_and_address_but_never_the_password(
    limited: ApiWithoutWorkers,
) -> None:
    limited.add_user("logged", "logged-password-1", role="viewer")

    with limited.client("logged", "Secret-Guess-42") as guesser:
        [guesser.get("/api/importer") for _ in range(4)]
    time.sleep(0.5)

    log = limited.log(limited.log_name)
    assert "auth.failed username='logged' client=127.0.0.1" in log
    assert "auth.throttled username='logged' client=127.0.0.1" in log
    assert "Secret-Guess-42" not in log


def test_an_account_over_its_request_rate_gets_429_until_its_bucket_refills(limited: ApiWithoutWorkers) -> None:
    limited.add_user("rapid", "rapid-password-1", role="viewer")
    limited.add_user("patient", "patient-password-1", role="viewer")

    with limited.client("rapid", "rapid-password-1") as rapid, limited.client(*ADMIN) as admin:
        answers = [rapid.get("/api/importer") for _ in range(20)]
        others = admin.get("/api/importer")
        refused = next(answer for answer in answers if answer.status_code != 200)
        time.sleep(assert_too_many(refused, "IMPORTER_RATE_LIMIT_PER_SECOND"))
        again = rapid.get("/api/importer")

    served = [answer.status_code for answer in answers].index(429)
    assert served >= 10, "the burst (IMPORTER_RATE_LIMIT_BURST=10) is served before any refusal"
    assert "IMPORTER_RATE_LIMIT_BURST" in refused.json()["detail"]
    assert (others.status_code, again.status_code) == (200, 200)


def test_an_account_at_its_running_imports_limit_is_refused_before_its_upload_is_read(
    limited: ApiWithoutWorkers,
) -> None:
    limited.add_user("busy", "busy-password-1", role="importer")
    limited.add_user("calm", "calm-password-1", role="importer")

    with limited.client("busy", "busy-password-1") as busy, limited.client("calm", "calm-password-1") as calm:
        first, second = submit(busy), submit(busy)
        third = submit(busy)
        unread = submit(busy, b"not a workbook", SUBMIT + "&fileType=XLSX")
        elsewhere = submit(calm)
        cancelled = busy.post(f"/api/importer/{first.json()['statusId']}/cancel")
        after_cancel = submit(busy)
        retry = busy.post(f"/api/importer/{first.json()['statusId']}/retry")

    assert [first.json()["status"], second.json()["status"]] == ["START_REQUESTED", "START_REQUESTED"]
    assert assert_too_many(third, "IMPORTER_MAX_RUNNING_IMPORTS") == 10
    assert "already has 2 imports running" in third.json()["detail"]
    assert assert_too_many(unread, "IMPORTER_MAX_RUNNING_IMPORTS"), "a 415 would mean the body had been read"
    assert (elsewhere.status_code, cancelled.json()["status"], after_cancel.status_code) == (200, "CANCELLED", 200)
    assert_too_many(retry, "IMPORTER_MAX_RUNNING_IMPORTS")


def test_the_running_imports_limit_holds_across_api_processes(limited: ApiWithoutWorkers) -> None:
    limited.add_user("spread", "spread-password-1", role="importer")
    second_api = ApiWithoutWorkers(limited.data_dir, limited.settings, log_name="serve-second.log")
    second_api.start()
    try:
        with (
            limited.client("spread", "spread-password-1") as one,
            second_api.client("spread", "spread-password-1") as two,
        ):
            accepted = [submit(one).status_code, submit(one).status_code]
            refused = submit(two)
    finally:
        second_api.stop()

    assert accepted == [200, 200]
    assert_too_many(refused, "IMPORTER_MAX_RUNNING_IMPORTS")


def forwarded(number: int) -> dict[str, str]:
    return {"X-Forwarded-For": f"203.0.113.{number}"}


def test_a_made_up_forwarded_address_gets_no_fresh_password_tries(limited: ApiWithoutWorkers) -> None:
    limited.add_user("spoofed", "spoofed-password-1", role="viewer")

    with limited.client("spoofed", "guess-guess-2") as guesser:
        guesses = [guesser.get("/api/importer", headers=forwarded(n)) for n in range(5)]

    assert [answer.status_code for answer in guesses[:3]] == [401, 401, 401]
    assert_too_many(guesses[3], "IMPORTER_LOGIN_FAILURES_BEFORE_THROTTLE")
    assert_too_many(guesses[4], "IMPORTER_LOGIN_FAILURES_BEFORE_THROTTLE")
    assert "auth.failed username='spoofed' client=127.0.0.1" in limited.log(limited.log_name)
    assert "client=203.0.113." not in limited.log(limited.log_name)


def test_behind_a_trusted_proxy_each_forwarded_client_has_its_own_tries(limited: ApiWithoutWorkers) -> None:
    limited.add_user("proxied", "proxied-password-1", role="viewer")
    behind_proxy = ApiWithoutWorkers(
        limited.data_dir, limited.settings | {"IMPORTER_TRUSTED_PROXIES": "127.0.0.1"}, log_name="serve-proxied.log"
    )
    behind_proxy.start()
    try:
        with (
            behind_proxy.client("proxied", "guess-guess-3") as guesser,
            behind_proxy.client("proxied", "proxied-password-1") as owner,
        ):
            guesses = [guesser.get("/api/importer", headers=forwarded(7)).status_code for _ in range(3)]
            refused = owner.get("/api/importer", headers=forwarded(7))
            other_client = owner.get("/api/importer", headers=forwarded(8))
    finally:
        behind_proxy.stop()

    assert guesses == [401, 401, 401]
    assert_too_many(refused, "IMPORTER_LOGIN_FAILURES_BEFORE_THROTTLE")
    assert other_client.status_code == 200
    assert "auth.failed username='proxied' client=203.0.113.7" in behind_proxy.log("serve-proxied.log")


def slowly(body: bytes, pause: float) -> Iterator[bytes]:
    """A body sent in two halves with a pause between, as a slow client's upload arrives."""
    yield body[: len(body) // 2]
    time.sleep(pause)
    yield body[len(body) // 2 :]


def test_parallel_slow_uploads_of_one_account_never_pass_its_running_imports_limit(
    limited: ApiWithoutWorkers,
) -> None:
    limited.add_user("eager", "eager-password-1", role="importer")
    before = limited.upload_keys()

    def slow_submit(_: int) -> httpx.Response:
        with limited.client("eager", "eager-password-1") as eager:
            return eager.post(SUBMIT, content=slowly(contract_csv(), 2.0), headers={"Content-Type": "text/csv"})

    with ThreadPoolExecutor(8) as pool:
        answers = list(pool.map(slow_submit, range(8)))

    accepted = [answer for answer in answers if answer.status_code == 200]
    refused = [answer for answer in answers if answer.status_code != 200]
    assert [answer.json()["status"] for answer in accepted] == ["START_REQUESTED"] * 2
    assert len(refused) == 6
    for answer in refused:
        assert assert_too_many(answer, "IMPORTER_MAX_RUNNING_IMPORTS") == 10
        assert answer.json()["detail"] == (
            "account 'eager' already has 2 imports running, its limit (IMPORTER_MAX_RUNNING_IMPORTS); "
            "start another when one has ended"
        )
    with limited.client("eager", "eager-password-1") as eager:
        listing = eager.get("/api/importer").json()
    assert (listing["total"], {item["status"] for item in listing["items"]}) == (2, {"START_REQUESTED"})
    assert len(limited.upload_keys() - before) == 2, "the refused uploads are not kept"


def test_a_flood_of_made_up_logins_from_one_address_keeps_no_one_else_waiting(limited: ApiWithoutWorkers) -> None:
    limited.add_user("steady", "steady-password-1", role="viewer")
    flood_size, at_once = 240, 60

    def made_up_login(number: int) -> httpx.Response:
        with limited.client(f"nobody-{number}", "made-up-password") as stranger:
            return stranger.get("/api/importer")

    with limited.client("steady", "steady-password-1") as steady, ThreadPoolExecutor(at_once) as pool:
        assert steady.get("/api/importer").status_code == 200  # a script that has logged in already
        flood = [pool.submit(made_up_login, number) for number in range(flood_size)]
        time.sleep(1.5)  # the flood is under way
        waits = []
        for _ in range(3):
            started = time.monotonic()
            answer = steady.get("/api/importer")
            waits.append(time.monotonic() - started)
            assert answer.status_code == 200, answer.text
        answers = [future.result() for future in flood]

    assert max(waits) < 5.0, f"a logged-in script waited {max(waits):.1f} s behind made-up logins"
    assert {answer.status_code for answer in answers} <= {401, 429}
    refused = [answer for answer in answers if answer.status_code == 429]
    assert refused, "one address gets no more than a few password checks at a time"
    assert assert_too_many(refused[0], "IMPORTER_LOGIN_CHECKS_PER_ADDRESS") == 1
    assert "password checks at once from 127.0.0.1" in refused[0].json()["detail"]
