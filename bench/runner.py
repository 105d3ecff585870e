"""One benchmark run: its folders, its services and databases (always released), and measuring one import."""

from __future__ import annotations

import logging
import os
import shutil
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.assets import import_assets
from bench.backends import PostgresDatabase, RedisDatabase, analyze
from bench.client import ImportTimeout, Submitted, make_client, submit, wait_for_end
from bench.cpu import CpuSampler, CpuShare
from bench.diagnose import capture
from bench.files import DataFile
from bench.memory import MemorySampler, Peaks
from bench.phases import Phases, phases_of
from bench.polling import PollingResult
from bench.service import Service
from bench.snapshot import code_at
from bench.verify import Verdict, judge, stored_content

logger = logging.getLogger(__name__)

DATA_FOLDER = Path(__file__).resolve().parent / ".data"


@dataclass(frozen=True)
class Options:
    rows: int
    workers: int
    scenarios: tuple[str, ...]
    timeout: float
    seed: int
    keep: bool
    analyze: bool = False
    code: str = "HEAD"  # a revision to snapshot, or "worktree"
    data_folder: Path = DATA_FOLDER
    pollers: int = 50
    poll_interval: float = 0.2
    poll_seconds: float = 20.0

    @property
    def xlsx_rows(self) -> int:
        return max(1, self.rows // 10)


@dataclass
class Outcome:
    """One scenario's line in the report."""

    key: str
    title: str
    rows: int
    seconds: float | None = None
    peaks: Peaks | None = None
    verdict: Verdict | None = None
    phases: Phases | None = None
    note: str = ""
    unavailable: str | None = None  # why the scenario could not be measured, shown instead of figures
    polling: PollingResult | None = None
    load_average: float | None = None  # the machine's 1-minute load when the import ended (others' work shows here)
    cpu: CpuShare | None = None  # CPU seconds by role, from the upload's end (import.accepted) to the end
    chunk_poll_seconds: float | None = None  # from the status: totalRecords known to percentComplete at 95.0
    status: dict[str, Any] = field(default_factory=dict)

    @property
    def per_second(self) -> float | None:
        return self.rows / self.seconds if self.seconds else None

    @property
    def completed(self) -> bool:
        return self.status.get("status") == "COMPLETED"


@dataclass
class Deployment:
    """A running service with its database and memory sampler."""

    service: Service
    database_url: str  # where the benchmark reads the tables back
    sampler: MemorySampler
    client: httpx.Client
    cpu: CpuSampler
    analyze: bool = False  # run ANALYZE after each completed import (--analyze), untimed


class Run:
    """Everything one `python -m bench` creates, released by close() whatever happened."""

    def __init__(self, options: Options) -> None:
        self.options = options
        self.folder = options.data_folder / "runs" / time.strftime("%Y%m%d-%H%M%S")
        self.folder.mkdir(parents=True, exist_ok=True)
        self._stack = ExitStack()
        self._redis: RedisDatabase | None = None
        self.code = code_at(options.code, options.data_folder)

    @property
    def redis(self) -> RedisDatabase:
        if self._redis is None:
            self._redis = self._stack.enter_context(RedisDatabase())
        return self._redis

    @contextmanager
    def _deployment(self, service: Service, database_url: str, database: str | None = None) -> Iterator[Deployment]:
        with ExitStack() as stack:
            stack.callback(self._discard_data, service)
            stack.enter_context(service)
            service.start()
            sampler = MemorySampler(service.api_pid, lambda: service.worker_pids).start()
            stack.callback(sampler.stop)
            cpu = CpuSampler(service.api_pid, lambda: service.worker_pids, database).start()
            stack.callback(cpu.stop)
            client = stack.enter_context(make_client(service.base_url))
            import_assets(client, service.folder)
            yield Deployment(service, database_url, sampler, client, cpu)

    @contextmanager
    def postgres_redis(self, label: str, workers: int, extra: dict[str, str] | None = None) -> Iterator[Deployment]:
        """`serve --no-worker` beside `workers` separate `importer worker` processes, on a fresh database."""
        with PostgresDatabase(label) as database:
            self.redis.flush()
            settings = {"IMPORTER_DATABASE_URL": database.service_url, "IMPORTER_BROKER_URL": self.redis.url}
            settings |= extra or {}
            service = Service(self.folder / label, settings, self.code.folder, separate_workers=workers)
            with self._deployment(service, database.url, database.name) as deployment:
                deployment.analyze = self.options.analyze
                yield deployment

    @contextmanager
    def embedded(self, label: str, workers: int, extra: dict[str, str] | None = None) -> Iterator[Deployment]:
        """`serve` alone on the embedded default; its supervised worker runs `workers` processes."""
        settings = {"IMPORTER_WORKER_CONCURRENCY": str(workers)} | (extra or {})
        service = Service(self.folder / label, settings, self.code.folder)
        database_url = f"sqlite:///{service.folder / 'data' / 'importer.db'}"
        with self._deployment(service, database_url) as deployment:
            yield deployment

    def _discard_data(self, service: Service) -> None:
        """Logs stay for reading; the embedded database and uploads go, unless --keep."""
        if not self.options.keep:
            shutil.rmtree(service.folder / "data", ignore_errors=True)

    def close(self) -> None:
        self._stack.close()


@dataclass(frozen=True)
class Expectation:
    """What a scenario checks besides the status: the status counters, and the catalog read back."""

    counts: dict[str, int] = field(default_factory=dict)
    catalog_id: int = 1
    query: str = ""  # more submit parameters, e.g. "&onError=skip"


def measure(
    deployment: Deployment,
    outcome: Outcome,
    data: DataFile,
    timeout: float,
    expectation: Expectation,
    on_submitted: Callable[[Submitted], None] | None = None,
) -> Outcome:
    """Import `data`, then fill `outcome`: time, peaks, phases, and whether the tables hold exactly the input."""
    logger.info("bench.import_started scenario=%s rows=%s file=%s", outcome.key, data.rows, data.path.name)
    deployment.sampler.reset()
    deployment.cpu.reset()
    submitted = submit(deployment.client, data, expectation.catalog_id, expectation.query)
    if on_submitted is not None:
        on_submitted(submitted)
    try:
        finished = wait_for_end(deployment.client, submitted, timeout)
    except ImportTimeout as error:
        outcome.status = error.last
        reason = f"no end within {timeout:.0f} s: {error.last.get('status')} at {error.last.get('percentComplete')}%"
        outcome.verdict = Verdict(False, (reason,))
    else:
        outcome.status, outcome.seconds = finished.status, finished.seconds
        if finished.chunking_started is not None and finished.chunking_ended is not None:
            outcome.chunk_poll_seconds = finished.chunking_ended - finished.chunking_started
    ended = time.time()
    outcome.peaks = deployment.sampler.peaks()
    outcome.load_average = os.getloadavg()[0]
    outcome.phases = phases_of(deployment.service.logs, submitted.status_id, submitted.started_wall)
    if outcome.phases.upload is not None:
        outcome.cpu = deployment.cpu.share(submitted.started_wall + outcome.phases.upload, ended)
    if outcome.verdict is None:
        stored = stored_content(deployment.database_url, expectation.catalog_id) if outcome.completed else None
        outcome.verdict = judge(data.expected, stored, outcome.status, expectation.counts)
    if not outcome.completed:
        outcome.note = capture(deployment.service, deployment.database_url, outcome.key, outcome.status)
    elif deployment.analyze:
        analyze(deployment.database_url)
    logger.info(
        "bench.import_ended scenario=%s status=%s seconds=%s check=%s",
        outcome.key, outcome.status.get("status"), outcome.seconds, outcome.verdict.label,
    )  # fmt: skip
    return outcome
