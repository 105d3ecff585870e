"""The real service as subprocesses, started as the README does, and always stopped again."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

import httpx

IMPORTER = str(Path(sys.executable).parent / "importer")
USER = ("bench", "bench-password-1")
READY_MARK = "ready."  # what a Celery worker logs once it consumes
STOP_SECONDS = 30.0


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ServiceError(RuntimeError):
    """The service could not be started: the message carries the end of its log."""


@dataclass
class Service:
    """`importer serve` with its own workers (embedded), or `serve --no-worker` beside N `importer worker`s.

    Every process is the leader of a session of its own, so that Ctrl-C reaches the benchmark only
    and stopping a process (SIGTERM, then SIGKILL) also reaches the prefork children it started.
    """

    folder: Path
    settings: dict[str, str]
    code: Path  # the folder the service's packages are imported from (a snapshot, or the repository)
    separate_workers: int = 0
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)
    logs: list[Path] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {name: value for name, value in os.environ.items() if not name.startswith("IMPORTER_")}
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(self.code), env.get("PYTHONPATH")]))
        return env | {"IMPORTER_DATA_DIR": str(self.folder / "data")} | self.settings

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def api_pid(self) -> int:
        return self.processes[0].pid

    @property
    def worker_pids(self) -> list[int]:
        return [process.pid for process in self.processes[1:]]

    def add_user(self) -> None:
        name, password = USER
        result = subprocess.run(
            [IMPORTER, "users", "add", name, "--role", "admin"],
            input=password + "\n", env=self.env, cwd=self.code, capture_output=True, text=True, timeout=120,
            check=False,
        )  # fmt: skip
        if result.returncode != 0:
            raise ServiceError(f"importer users add failed: {result.stderr.strip()}")

    def _spawn(self, args: list[str], log_name: str, extra: dict[str, str] | None = None) -> None:
        path = self.folder / log_name
        self.logs.append(path)
        with path.open("ab") as log:
            process = subprocess.Popen(
                [IMPORTER, *args], env=self.env | (extra or {}), cwd=self.code, stdout=log, stderr=subprocess.STDOUT,
                start_new_session=True,
            )  # fmt: skip
        self.processes.append(process)

    def start(self, timeout: float = 120.0) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.add_user()
        serve = ["serve", "--port", str(self.port)] + (["--no-worker"] if self.separate_workers else [])
        self._spawn(serve, "serve.log")
        for number in range(self.separate_workers):
            self._spawn(["worker"], f"worker-{number + 1}.log", {"IMPORTER_WORKER_CONCURRENCY": "1"})
        deadline = time.monotonic() + timeout
        self._wait_healthy(deadline)
        self._wait_workers_ready(deadline)

    def _check_alive(self) -> None:
        for process, log in zip(self.processes, self.logs, strict=True):
            if process.poll() is not None:
                raise ServiceError(f"{log.name}: the process exited with {process.returncode}:\n{tail(log)}")

    def _wait_healthy(self, deadline: float) -> None:
        while time.monotonic() < deadline:
            self._check_alive()
            try:
                if httpx.get(self.base_url + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise ServiceError(f"the API did not answer in time:\n{tail(self.logs[0])}")

    def _wait_workers_ready(self, deadline: float) -> None:
        worker_logs = self.logs[1:] if self.separate_workers else self.logs[:1]
        while time.monotonic() < deadline:
            self._check_alive()
            if all(READY_MARK in log.read_text(errors="replace") for log in worker_logs):
                return
            time.sleep(0.2)
        raise ServiceError(f"the workers did not become ready in time:\n{tail(worker_logs[0])}")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + STOP_SECONDS
        for process in self.processes:
            with contextlib.suppress(subprocess.TimeoutExpired):
                process.wait(timeout=max(0.1, deadline - time.monotonic()))
            # The session's other members (prefork children, a supervised worker) go too.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self.processes.clear()

    def __enter__(self) -> Service:
        return self

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None, tb: TracebackType | None) -> None:
        self.stop()


def tail(path: Path, lines: int = 40) -> str:
    if not path.exists():
        return "(no log)"
    return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
