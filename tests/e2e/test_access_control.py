"""Who may see and control which import, endpoint by endpoint, and what a refusal shows (never the insides)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import httpx
import pytest

from tests.e2e.service import Service, wait_for_end
from tests.factories import make_csv, product_row

ALICE = ("alice", "alice-password-1")
BOB = ("bob", "bob-password-1")
VIEWER = ("watcher", "watcher-password-1")
NARROW = ("narrow", "narrow-password-1")
PREFIXES = ("/api/importer", "/admin/api/importer")
SUBMIT = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=501"
LEAKS = re.compile(
    r"Traceback|File \"|line \d+, in |\.py\b|/(?:work|tmp|usr|home|root|var)/|\[SQL:|sqlalchemy|psycopg|sqlite"
    r"|\bFROM (?:import_status|import_problem|product|account|api_token)\b",
    re.IGNORECASE,
)


def reads(prefix: str, job: int) -> list[str]:
    return [f"{prefix}/{job}", f"{prefix}/status/{job}", f"{prefix}/{job}/errors", f"{prefix}/{job}/failed-rows"]


def controls(client: httpx.Client, prefix: str, job: int) -> list[httpx.Response]:
    return [
        client.post(f"{prefix}/{job}/cancel"),
        client.delete(f"{prefix}/{job}"),
        client.post(f"{prefix}/{job}/retry"),
    ]


def submit(client: httpx.Client, body: bytes, url: str = SUBMIT) -> httpx.Response:
    return client.post(url, content=body, headers={"Content-Type": "text/csv"})


def assert_clean_error(response: httpx.Response) -> None:
    """A refusal is the JSON error body and nothing of the service's insides."""
    assert 400 <= response.status_code < 500, (response.request.method, str(response.request.url), response.text)
    body = response.json()
    assert set(body) == {"error", "detail"}, body
    assert not LEAKS.search(response.text), response.text


@pytest.fixture(scope="module")
def bobs_jobs(service: Service) -> dict[str, int]:
    """Bob's imports: one COMPLETED, one FAILED (with failed rows), seen by everyone else."""
    for (name, password), role, types in [(ALICE, "importer", ""), (BOB, "importer", ""), (VIEWER, "viewer", ""),
                                         (NARROW, "importer", "PRODUCT")]:  # fmt: skip
        service.add_user(name, password, role=role, types=types)
    with service.client(*BOB) as bob:
        done = wait_for_end(bob, submit(bob, make_csv([product_row("b-1")])).json()["statusUrl"])[-1]
        failed = wait_for_end(bob, submit(bob, make_csv([product_row("b-2", price="x")])).json()["statusUrl"])[-1]
    assert (done["status"], failed["status"]) == ("COMPLETED", "FAILED")
    return {"completed": done["statusId"], "failed": failed["statusId"]}


@pytest.fixture
def alice(service: Service) -> Iterator[httpx.Client]:
    with service.client(*ALICE) as client:
        yield client


def test_an_importer_can_neither_see_nor_control_another_importers_imports(
    bobs_jobs: dict[str, int], alice: httpx.Client
) -> None:
    answers = [
        (job, alice.get(path)) for job in bobs_jobs.values() for prefix in PREFIXES for path in reads(prefix, job)
    ]
    answers += [
        (job, answer) for job in bobs_jobs.values() for prefix in PREFIXES for answer in controls(alice, prefix, job)
    ]
    history = alice.get("/api/importer").json()

    for job, answer in answers:
        assert answer.status_code == 404, (answer.request.url, answer.text)
        assert answer.json() == {"error": "NotFound", "detail": f"no import with statusId {job}"}
        assert_clean_error(answer)
    assert all(item["submittedBy"] == "alice" for item in history["items"])


def test_a_viewer_reads_every_import_but_may_not_submit_cancel_or_retry(
    service: Service, bobs_jobs: dict[str, int]
) -> None:
    with service.client(*VIEWER) as viewer:
        read = [viewer.get(path) for job in bobs_jobs.values() for path in reads("/api/importer", job)]
        history = viewer.get("/api/importer", params={"pageSize": 1000}).json()
        refused = [submit(viewer, make_csv([product_row("v-1")]))]
        refused += [answer for job in bobs_jobs.values() for answer in controls(viewer, "/admin/api/importer", job)]

    assert [answer.status_code for answer in read] == [200] * len(read)
    assert set(bobs_jobs.values()) <= {item["statusId"] for item in history["items"]}
    for answer in refused:
        assert answer.status_code == 403, answer.text
        assert answer.json()["error"] == "Forbidden" and "account 'watcher' may not" in answer.json()["detail"]
        assert_clean_error(answer)


def test_an_admin_sees_and_controls_every_import(admin: httpx.Client, bobs_jobs: dict[str, int]) -> None:
    read = [admin.get(path) for job in bobs_jobs.values() for prefix in PREFIXES for path in reads(prefix, job)]
    history = admin.get("/api/importer", params={"pageSize": 1000}).json()
    finished = admin.post(f"/api/importer/{bobs_jobs['completed']}/cancel")
    retried = admin.post(f"/api/importer/{bobs_jobs['failed']}/retry")

    assert [answer.status_code for answer in read] == [200] * len(read)
    assert set(bobs_jobs.values()) <= {item["statusId"] for item in history["items"]}
    assert finished.status_code == 409, "the admin passed the access check; only the state refuses"
    assert_clean_error(finished)
    assert retried.status_code == 200
    assert (retried.json()["retryOf"], retried.json()["submittedBy"]) == (bobs_jobs["failed"], "admin")


def test_an_importer_limited_to_product_may_not_submit_another_type(
    service: Service, bobs_jobs: dict[str, int]
) -> None:
    category = "/api/importer/CATEGORY?importSpecification=DefaultCategoryImportSpecification"

    with service.client(*NARROW) as narrow:
        refused = submit(narrow, b"Category Id,Category Name\n1,Shoes\n", category)
        allowed = submit(narrow, make_csv([product_row("n-1")]))

    assert refused.status_code == 403
    assert refused.json() == {"error": "Forbidden", "detail": "account 'narrow' may not submit CATEGORY imports"}
    assert allowed.status_code == 200


def test_refusals_never_show_a_traceback_a_file_path_or_sql(
    service: Service, bobs_jobs: dict[str, int], alice: httpx.Client
) -> None:
    hostile = [
        alice.get("/api/importer", params={"status": "' OR 1=1 --"}),
        alice.get("/api/importer", params={"importType": "PRODUCT'; DROP TABLE product; --"}),
        alice.get("/api/importer", params={"page": "1 UNION ALL", "pageSize": "0"}),
        alice.get("/api/data/PRODUCT/..%2F..%2F..%2Fetc%2Fpasswd"),
        alice.get("/api/data/PRODUCT", params={"catalogId": "1;--"}),
        alice.get("/api/data/NOTHING"),
        alice.get("/api/importer/00000"),
        alice.get("/api/importer/-1"),
        alice.get("/api/nowhere/../../etc/passwd"),
        submit(alice, b"\x00\x01binary", SUBMIT + "&fileType=CSV"),
        submit(alice, b"a,b\n1,2\n", SUBMIT + "&fileType=XLSX"),
        submit(alice, b"a,b\n1,2\n", SUBMIT + "&onError=explode&maxErrors=-1"),
        submit(alice, b"a,b\n1,2\n", "/api/importer/%27%3B--?importSpecification=x"),
        alice.post(SUBMIT, content=b"--x\r\n\r\n", headers={"Content-Type": "multipart/form-data; boundary=x"}),
    ]
    with httpx.Client(base_url=service.base_url, timeout=30) as anonymous:
        hostile += [
            anonymous.get("/api/importer", headers={"Authorization": "Basic !!!not-base64"}),
            anonymous.get("/api/importer", headers={b"Authorization": b"Basic \xff\xfeYWRtaW4="}),
            anonymous.get("/api/importer", headers={"Authorization": "Bearer imp_' OR '1'='1"}),
            anonymous.get("/api/importer", params={"access_token": "imp_x"}),
        ]

    for answer in hostile:
        assert_clean_error(answer)
