"""Polls come first: a script polling with many requests at once is served, never taken for a password
guesser, and workers give the API the CPU first."""

from __future__ import annotations

import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import ADMIN
from tests.e2e.service import Service
from tests.factories import contract_csv

QUERY = "importSpecification=DefaultProductImportSpecification&catalogId=601"


def test_twenty_concurrent_polls_of_one_account_all_get_their_status(service: Service, admin: httpx.Client) -> None:
    status_url = admin.post(f"/api/importer/PRODUCT?{QUERY}", content=contract_csv()).json()["statusUrl"]

    def poll(_: int) -> list[int]:
        with service.client(*ADMIN) as client:
            return [client.get(status_url).status_code for _ in range(3)]

    with ThreadPoolExecutor(max_workers=20) as pool:
        codes = [code for answers in pool.map(poll, range(20)) for code in answers]

    assert codes == [200] * 60


def _nice(pid: int) -> int:
    """A process's nice value (field 19 of /proc/<pid>/stat, counted after the command's parenthesis)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[16])


def _autogroup_nice(pid: int) -> int:
    """The nice of a process's autogroup: Linux shares the CPU between these groups before nice counts."""
    return int(Path(f"/proc/{pid}/autogroup").read_text().split("nice")[1])


def _worker_processes(service: Service) -> list[int]:
    """Every `importer worker` main process: the separate ones, or the one `importer serve` supervises."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            command = (entry / "cmdline").read_bytes().split(b"\0")
            environment = (entry / "environ").read_bytes()
        except (OSError, ValueError):
            continue
        if b"worker" in command and str(service.data_dir).encode() in environment:
            found.append(int(entry.name))
    return found


def test_workers_yield_the_cpu_to_the_api_even_in_sessions_of_their_own(service: Service) -> None:
    if not Path("/proc/self/autogroup").exists():
        pytest.skip("this kernel schedules without autogroups: nice alone orders API and workers")
    deadline = time.monotonic() + 30
    while (workers := _worker_processes(service)) and time.monotonic() < deadline:
        if all(_nice(pid) == 10 for pid in workers):
            break
        time.sleep(0.2)

    api = service.api.pid
    assert workers and [_nice(pid) for pid in workers] == [10] * len(workers)
    assert _nice(api) == 0 and _autogroup_nice(api) == 0
    # Every worker runs in a session of its own (each separate `importer worker`, and the one `importer serve`
    # supervises, so that a terminal's signals reach serve alone) and lowers that session's share of the CPU;
    # the API's session keeps its share.
    assert all(os.getsid(pid) != os.getsid(api) for pid in workers)
    assert {pid: _autogroup_nice(pid) for pid in workers} == {pid: 10 for pid in workers}
