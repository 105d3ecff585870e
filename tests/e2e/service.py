"""The real service in subprocesses, started as the README does, for end-to-end tests."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from sqlmodel import col, select

from app.accounts import Role, add_account
from app.db import Database
from app.settings import Settings
from app.storage import UPLOAD_PREFIX, StoredUpload, UploadBlock

IMPORTER = str(Path(sys.executable).parent / "importer")
TERMINAL = ("COMPLETED", "FAILED", "CANCELLED")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def run_cli(
    args: list[str], env: dict[str, str], stdin: str = "", timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [IMPORTER, *args], input=stdin, env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass
class Service:
    """`importer serve` (with its own workers, or --no-worker beside `importer worker` processes)."""

    data_dir: Path
    settings: dict[str, str]
    split_workers: int = 0
    port: int = field(default_factory=free_port)
    processes: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTER_")}
        return env | {"IMPORTER_DATA_DIR": str(self.data_dir)} | self.settings

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def add_user(self, name: str, password: str, role: str = "admin", types: str = "", cli: bool = False) -> None:
        """An account, by `importer users add` as the README says (cli=True, a second's start-up), or written by
        the same function in this process, for the accounts a story needs beside its first admin."""
        if cli:
            args = ["users", "add", name, "--role", role] + (["--types", types] if types else [])
            result = run_cli(args, self.env, stdin=password + "\n")
            assert result.returncode == 0, result.stderr
            return
        db = Database(Settings.from_env(self.env).database_url)
        try:
            db.create_schema()
            with db.write() as session:
                add_account(session, name, password, Role(role), frozenset(types.split(",")) if types else None)
        finally:
            db.dispose()

    def upload_keys(self) -> set[str]:
        """Every upload the service holds, whole or in part: files in its folder, or uploads and blocks in its
        database (IMPORTER_UPLOAD_STORAGE)."""
        settings = Settings.from_env(self.env)
        if settings.upload_storage == "local":
            folder = settings.uploads_dir
            return {path.name for path in folder.iterdir()} if folder.exists() else set()
        db = Database(settings.database_url)
        try:
            with db.read() as session:
                uploads = session.exec(select(StoredUpload.key).where(col(StoredUpload.key).startswith(UPLOAD_PREFIX)))
                blocks = session.exec(select(UploadBlock.key).where(col(UploadBlock.key).startswith(UPLOAD_PREFIX)))
                return set(uploads) | set(blocks)
        finally:
            db.dispose()

    def _spawn(self, args: list[str], log_name: str) -> subprocess.Popen[bytes]:
        with (self.data_dir / log_name).open("ab") as log:
            process = subprocess.Popen(
                [IMPORTER, *args], env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
            )
        self.processes.append(process)
        return process

    def start(self) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.start_api()
        for number in range(self.split_workers):
            self._spawn(["worker"], f"worker-{number}.log")
        self.wait_healthy()

    def start_api(self) -> None:
        serve = ["serve", "--port", str(self.port)] + (["--no-worker"] if self.split_workers else [])
        process = self._spawn(serve, "serve.log")
        self.processes.remove(process)
        self.processes.insert(0, process)

    @property
    def api(self) -> subprocess.Popen[bytes]:
        return self.processes[0]

    def replace_api(self) -> None:
        """Forget the (dead) API process and start a new one on the same port."""
        self.processes.pop(0).wait()
        self.start_api()
        self.wait_healthy()

    def restart_worker(self, index: int) -> None:
        """Start a new worker in place of a split worker that died."""
        self.processes[1 + index].wait()
        self.processes[1 + index] = self._spawn(["worker"], f"worker-{index}.log")
        self.processes.pop()

    def wait_healthy(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.base_url + "/api/health", timeout=2).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.api.poll() is not None:
                raise RuntimeError(f"the service exited: {self.log('serve.log')[-3000:]}")
            time.sleep(0.2)
        raise RuntimeError("the service did not answer in time")

    def stop(self) -> None:
        for process in reversed(self.processes):
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
        for process in self.processes:
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes.clear()

    def log(self, name: str) -> str:
        path = self.data_dir / name
        return path.read_text(errors="replace") if path.exists() else ""

    def client(self, user: str, password: str) -> httpx.Client:
        return httpx.Client(base_url=self.base_url, auth=(user, password), timeout=30)


@dataclass
class ApiWithoutWorkers(Service):
    """`importer serve --no-worker` alone: every import it accepts stays START_REQUESTED, as while every worker
    is busy."""

    log_name: str = "serve.log"

    def start_api(self) -> None:
        process = self._spawn(["serve", "--no-worker", "--port", str(self.port)], self.log_name)
        self.processes.remove(process)
        self.processes.insert(0, process)


def wait_for_end(client: httpx.Client, status_url: str, timeout: float = 90) -> list[dict[str, Any]]:
    """Poll a status URL until the import ends; every status seen, in order."""
    seen: list[dict[str, Any]] = []
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        response = client.get(status_url)
        assert response.status_code == 200, response.text
        seen.append(response.json())
        if seen[-1]["status"] in TERMINAL:
            return seen
        time.sleep(0.05)
    raise AssertionError(f"the import did not end in {timeout} s: last status {seen[-1] if seen else None}")
