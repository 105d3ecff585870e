"""Peak resident memory of the service's processes, sampled from /proc every ~100 ms in a thread."""

from __future__ import annotations

import os
import threading
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Self

PROC = Path("/proc")
SAMPLE_SECONDS = 0.1


def rss_kib(pid: int) -> int:
    """VmRSS of one process in KiB; 0 when it is gone (or a zombie)."""
    try:
        with open(PROC / str(pid) / "status", "rb") as status:
            for line in status:
                if line.startswith(b"VmRSS:"):
                    return int(line.split()[1])
    except (FileNotFoundError, ProcessLookupError, PermissionError):
        return 0
    return 0


def parents() -> dict[int, int]:
    """Every live process's parent id, from /proc/<pid>/stat (the kernel here has no task/*/children)."""
    found: dict[int, int] = {}
    for entry in os.scandir(PROC):
        if not entry.name.isdigit():
            continue
        try:
            with open(f"{entry.path}/stat", "rb") as stat:
                text = stat.read()
        except (FileNotFoundError, ProcessLookupError, PermissionError):
            continue
        # The name field may hold spaces and parentheses: the fields after the last ')' are fixed.
        fields = text[text.rindex(b")") + 2 :].split()
        found[int(entry.name)] = int(fields[1])
    return found


def descendants(roots: Iterable[int], parent_of: dict[int, int]) -> set[int]:
    children: dict[int, list[int]] = {}
    for pid, parent in parent_of.items():
        children.setdefault(parent, []).append(pid)
    found: set[int] = set()
    pending = list(roots)
    while pending:
        for child in children.get(pending.pop(), []):
            if child not in found:
                found.add(child)
                pending.append(child)
    return found


@dataclass(frozen=True)
class Peaks:
    api_mb: float
    worker_mb: float  # the largest single worker process: a worker's main process or one of its children


class Sampler(ABC):
    """Samples the service's processes in a thread, every `interval` seconds, from start() to stop():
    the API process, and every worker process (the API's descendants, which are the embedded workers,
    and each separate worker with its descendants, its prefork children)."""

    def __init__(self, api_pid: int, worker_roots: Callable[[], list[int]], interval: float, name: str) -> None:
        self._api_pid = api_pid
        self._worker_roots = worker_roots
        self._interval = interval
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def _workers(self) -> set[int]:
        roots = self._worker_roots()
        return descendants([self._api_pid, *roots], parents()) | set(roots)

    @abstractmethod
    def _sample(self) -> None:
        """Take one reading of the processes."""

    def _run(self) -> None:
        while not self._stop.wait(self._interval):
            self._sample()

    def start(self) -> Self:
        self._sample()
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


class MemorySampler(Sampler):
    """Peak RSS of the API process alone, and of the largest worker process."""

    def __init__(self, api_pid: int, worker_roots: Callable[[], list[int]]) -> None:
        super().__init__(api_pid, worker_roots, SAMPLE_SECONDS, "memory-sampler")
        self._api_kib = 0
        self._worker_kib = 0

    def _sample(self) -> None:
        workers = self._workers()
        api = rss_kib(self._api_pid)
        worker = max((rss_kib(pid) for pid in workers), default=0)
        with self._lock:
            self._api_kib = max(self._api_kib, api)
            self._worker_kib = max(self._worker_kib, worker)

    def reset(self) -> None:
        """Start a new window: the peaks from here on."""
        with self._lock:
            self._api_kib = self._worker_kib = 0

    def peaks(self) -> Peaks:
        self._sample()
        with self._lock:
            return Peaks(self._api_kib / 1024, self._worker_kib / 1024)
