"""Driving an import over HTTP: stream the file as the body, then poll its statusUrl to the end."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import httpx

from bench.files import DataFile
from bench.service import USER

BLOCK_BYTES = 1 << 20
POLL_SECONDS = 0.1
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")
CHUNK_PHASE_PERCENT = 95.0


class ImportTimeout(RuntimeError):
    def __init__(self, seconds: float, last: dict[str, Any]) -> None:
        super().__init__(f"the import did not end within {seconds:.0f} s")
        self.last = last


@dataclass
class Submitted:
    status_url: str
    status_id: int
    started: float  # time.monotonic() when the first byte of the body was sent
    started_wall: float  # the same moment, time.time(), to line up with the service's logs
    upload_seconds: float


@dataclass
class Finished:
    status: dict[str, Any]
    seconds: float  # first byte of the upload to the poll that saw the end
    chunking_started: float | None = None  # monotonic: first poll with IN_PROCESS and totalRecords > 0
    chunking_ended: float | None = None  # monotonic: first poll with percentComplete at the chunk-phase maximum
    polls: int = 0
    seen: list[str] = field(default_factory=list)

    @property
    def state(self) -> str:
        return str(self.status.get("status"))


def make_client(base_url: str) -> httpx.Client:
    return httpx.Client(base_url=base_url, auth=USER, timeout=httpx.Timeout(60.0, read=600.0))


def submit(client: httpx.Client, data: DataFile, catalog_id: int = 1, query: str = "") -> Submitted:
    """POST the file as a streamed body; the clock starts when its first byte is handed to the socket."""
    first_byte: list[tuple[float, float]] = []

    def body() -> Iterator[bytes]:
        with data.path.open("rb") as file:
            while block := file.read(BLOCK_BYTES):
                if not first_byte:
                    first_byte.append((time.monotonic(), time.time()))
                yield block

    url = (
        "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification"
        f"&catalogId={catalog_id}&fileType={data.file_type.upload_type}{query}"
    )
    headers = {"Content-Length": str(data.size_bytes), "Content-Type": "application/octet-stream"}
    response = client.post(url, content=body(), headers=headers)
    done = time.monotonic()
    if response.status_code != 200:
        raise RuntimeError(f"the upload was refused: {response.status_code} {response.text[:500]}")
    answer = response.json()
    started, started_wall = first_byte[0]
    return Submitted(str(answer["statusUrl"]), int(answer["statusId"]), started, started_wall, done - started)


def wait_for_end(client: httpx.Client, submitted: Submitted, timeout: float) -> Finished:
    deadline = submitted.started + timeout
    finished = Finished({}, 0.0)
    while True:
        response = client.get(submitted.status_url)
        now = time.monotonic()
        if response.status_code == 429:  # the account's request rate, shared with other pollers
            time.sleep(float(response.headers.get("retry-after", "1")))
            continue
        response.raise_for_status()
        status: dict[str, Any] = response.json()
        finished.status, finished.polls = status, finished.polls + 1
        if not finished.seen or finished.seen[-1] != status["status"]:
            finished.seen.append(str(status["status"]))
        if finished.chunking_started is None and status["status"] == "IN_PROCESS" and status["totalRecords"] > 0:
            finished.chunking_started = now
        if finished.chunking_ended is None and float(status["percentComplete"]) >= CHUNK_PHASE_PERCENT:
            finished.chunking_ended = now
        if status["status"] in TERMINAL:
            finished.seconds = now - submitted.started
            return finished
        if now > deadline:
            raise ImportTimeout(timeout, status)
        time.sleep(POLL_SECONDS)


def run_import(client: httpx.Client, data: DataFile, timeout: float, catalog_id: int = 1, query: str = "") -> Finished:
    return wait_for_end(client, submit(client, data, catalog_id, query), timeout)
