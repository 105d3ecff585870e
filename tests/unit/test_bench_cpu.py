"""The benchmark says whose CPU seconds an import spent: the API's, the workers', the database's backends'."""

from __future__ import annotations

import subprocess
import sys
import time

import psycopg

from bench.cpu import CpuSampler, backends_of, cpu_seconds

BURN = "import time\nend = time.process_time() + 0.8\nwhile time.process_time() < end:\n    pass\ntime.sleep(30)\n"


def test_a_busy_worker_and_an_idle_api_are_told_apart_over_a_window() -> None:
    api = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    worker = subprocess.Popen([sys.executable, "-c", BURN])
    sampler = CpuSampler(api.pid, lambda: [worker.pid], None).start()
    try:
        start = time.time()
        while (cpu_seconds(worker.pid) or 0.0) < 0.8 and time.time() < start + 20:  # it burns 0.8 CPU-seconds
            time.sleep(0.1)
        time.sleep(0.3)
        share = sampler.share(start, time.time())
    finally:
        sampler.stop()
        for process in (api, worker):
            process.kill()
            process.wait()

    assert 0.5 <= share.workers <= 1.0
    assert share.api < 0.1 and share.backends == 0.0
    assert share.describe().startswith(f"{share.workers + share.api:.1f} CPU-s in ")
    assert "database backends" not in share.describe()  # no database server: SQLite runs in the workers


def test_the_backends_of_the_service_database_are_found_by_their_title(pg_url: str) -> None:
    database = pg_url.rsplit("/", 1)[1]
    with psycopg.connect(pg_url.replace("postgresql+psycopg://", "postgresql://")) as connection:
        backend = connection.execute("SELECT pg_backend_pid()").fetchone()

        found = backends_of(database)

    assert backend is not None and backend[0] in found
    assert backends_of("no_such_database_here") == []
