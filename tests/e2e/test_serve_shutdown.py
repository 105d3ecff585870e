"""`importer serve` run from a terminal: however the terminal stops it, its worker processes stop with it."""

from __future__ import annotations

import base64
import json
import os
import signal
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.chaos import children
from tests.e2e.service import ApiWithoutWorkers, Service
from tests.factories import make_csv, product_row


def _running(pid: int) -> bool:
    """Alive and not a zombie (one whose parent hangs never reaps it)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


def _worker_with_its_pool(serve: int, pool_size: int, timeout: float = 60) -> list[int]:
    """The worker `serve` started and the processes of its pool, once they are all up."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for worker in children(serve):
            pool = children(worker)
            if len(pool) >= pool_size:
                return [worker, *pool]
        time.sleep(0.2)
    raise AssertionError(f"serve {serve} did not start a worker with {pool_size} pool processes in time")


@pytest.fixture
def serve(tmp_path: Path) -> Iterator[Service]:
    service = Service(tmp_path / "data", {"IMPORTER_WORKER_CONCURRENCY": "2"})
    service.data_dir.mkdir(parents=True)
    service.add_user("admin", "first-admin-pass-1")
    service.start()
    yield service
    service.stop()


@pytest.mark.parametrize(
    "signals",
    [
        pytest.param([signal.SIGHUP], id="the terminal closed"),
        pytest.param([signal.SIGINT], id="Ctrl-C"),
        pytest.param([signal.SIGINT, signal.SIGHUP], id="Ctrl-C, then the terminal closed while it stopped"),
    ],
)
def test_stopping_serve_from_its_terminal_leaves_no_worker_running(
    serve: Service, signals: list[signal.Signals]
) -> None:
    processes = _worker_with_its_pool(serve.api.pid, pool_size=2)

    for number in signals:  # a terminal signals its foreground job's whole process group
        os.killpg(serve.api.pid, number)
        time.sleep(0.5)

    deadline = time.monotonic() + 60
    while any(_running(pid) for pid in processes) and time.monotonic() < deadline:
        time.sleep(0.2)
    left = [pid for pid in processes if _running(pid)]
    for pid in left:  # leave nothing behind for the next test, whatever this one found
        os.kill(pid, signal.SIGKILL)
    assert left == [], f"still running a minute after the signal: {left} of worker and pool {processes}"
    assert serve.api.wait(timeout=30) is not None


def test_an_upload_still_arriving_when_serve_stops_gets_a_503_to_send_again_and_leaves_nothing_stored(
    tmp_path: Path,
) -> None:
    service = ApiWithoutWorkers(tmp_path / "data", {})
    service.data_dir.mkdir(parents=True)
    service.add_user("admin", "first-admin-pass-1")
    service.start()
    body = make_csv([product_row(str(number)) for number in range(20_000)])
    credentials = base64.b64encode(b"admin:first-admin-pass-1").decode()
    with socket.create_connection(("127.0.0.1", service.port), timeout=60) as upload:
        upload.sendall(
            f"POST /api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nAuthorization: Basic {credentials}\r\nContent-Type: text/csv\r\n"
            f"Content-Length: {len(body) * 2}\r\n\r\n".encode()
        )
        upload.sendall(body)  # half of what it announced: the rest never comes before serve is stopped
        time.sleep(1)

        service.api.send_signal(signal.SIGTERM)
        answer = upload.makefile("rb").read()

    assert service.api.wait(timeout=60) is not None
    head, _, content = answer.partition(b"\r\n\r\n")
    assert head.startswith(b"HTTP/1.1 503"), answer[:500]
    assert b"retry-after:" in head.lower()
    assert json.loads(content)["error"] == "ServiceStopping"
    assert service.upload_keys() == set()
