"""CPU seconds the service's processes and its database's backends spent while an import ran, from /proc.

An import that keeps both cores busy is bound by the CPU seconds it spends, not by one serial phase; this
says whose they were: the worker processes (planning, validating, writing COPY text), the PostgreSQL
backends of the service's database (staging COPYs, the merge), the API.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from bench.memory import PROC, Sampler

SAMPLE_SECONDS = 0.25
_TICKS = os.sysconf("SC_CLK_TCK")


def cpu_seconds(pid: int) -> float | None:
    """User and system time of one process so far; None when it is gone."""
    try:
        with open(PROC / str(pid) / "stat", "rb") as stat:
            text = stat.read()
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return None
    fields = text[text.rindex(b")") + 2 :].split()  # utime and stime are the 14th and 15th fields
    return (int(fields[11]) + int(fields[12])) / _TICKS


def backends_of(database: str) -> list[int]:
    """The PostgreSQL processes serving `database` (their titles read 'postgres: ... <database> ...')."""
    marker = f" {database} ".encode()
    found = []
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"{entry.path}/cmdline", "rb") as cmdline:
                title = cmdline.read(300)
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        if title.startswith(b"postgres: ") and marker in title:
            found.append(int(entry.name))
    return found


@dataclass(frozen=True)
class CpuShare:
    """CPU seconds spent in a window of `seconds`, by role."""

    seconds: float
    workers: float
    backends: float
    busiest_backend: float
    api: float
    server: bool = True  # False on the embedded default: SQLite runs inside the service's processes

    def describe(self) -> str:
        used = self.workers + self.backends + self.api
        cores = os.cpu_count() or 1
        busy = used / (self.seconds * cores) if self.seconds > 0 else 0.0
        backends = (
            f"database backends {self.backends:.1f} (the busiest {self.busiest_backend:.1f}), " if self.server else ""
        )
        return (
            f"{used:.1f} CPU-s in {self.seconds:.1f} s ({busy:.0%} of {cores} cores): workers {self.workers:.1f}, "
            f"{backends}API {self.api:.1f}"
        )


class CpuSampler(Sampler):
    """Samples the CPU time of the API, every worker process and the database's backends every quarter
    second; `share(start, end)` sums what each spent between two wall-clock moments."""

    def __init__(self, api_pid: int, worker_roots: Callable[[], list[int]], database: str | None) -> None:
        super().__init__(api_pid, worker_roots, SAMPLE_SECONDS, "cpu-sampler")
        self._database = database
        self._seen: dict[int, tuple[str, list[tuple[float, float]]]] = {}  # pid -> (role, [(wall, cpu)])

    def _roles(self) -> dict[int, str]:
        roles = {pid: "worker" for pid in self._workers()}
        roles[self._api_pid] = "api"
        if self._database:
            roles |= {pid: "backend" for pid in backends_of(self._database)}
        return roles

    def _sample(self) -> None:
        now = time.time()
        for pid, role in self._roles().items():
            spent = cpu_seconds(pid)
            if spent is None:
                continue
            with self._lock:
                self._seen.setdefault(pid, (role, []))[1].append((now, spent))

    def reset(self) -> None:
        """Start a new window, with a sample at once: a process's time before it is not counted in it."""
        with self._lock:
            self._seen.clear()
        self._sample()

    def share(self, start: float, end: float) -> CpuShare:
        self._sample()
        spent: dict[str, float] = {"worker": 0.0, "backend": 0.0, "api": 0.0}
        busiest = 0.0
        with self._lock:
            for role, samples in self._seen.values():
                before = [cpu for moment, cpu in samples if moment <= start]
                upto = [cpu for moment, cpu in samples if moment <= end]
                if not upto:
                    continue
                used = upto[-1] - (before[-1] if before else 0.0)
                spent[role] += used
                if role == "backend":
                    busiest = max(busiest, used)
        return CpuShare(end - start, spent["worker"], spent["backend"], busiest, spent["api"], bool(self._database))
