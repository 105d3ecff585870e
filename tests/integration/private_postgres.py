"""A PostgreSQL server of one test's own, which the test may crash: made with the machine's initdb in a
temporary folder, on a free port, stopped and deleted afterwards."""

from __future__ import annotations

import glob
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from pathlib import Path


def _bin(name: str) -> str:
    installed = glob.glob(f"/usr/lib/postgresql/*/bin/{name}")  # Debian's layout: one folder a version
    by_version = sorted(installed, key=lambda path: tuple(int(part) for part in path.split("/")[4].split(".")))
    found = by_version or [shutil.which(name) or ""]
    assert found[-1], f"PostgreSQL's {name} is not installed on this machine"
    return found[-1]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class PrivatePostgres:
    """initdb, start, crash (an immediate shutdown: the next start recovers as after a crash), stop."""

    def __init__(self) -> None:
        self.folder = Path(tempfile.mkdtemp(prefix="importer-pg-"))
        self.port = _free_port()
        # PostgreSQL refuses to run as root: a root test run hands the server to the postgres account.
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self._as:
            account = pwd.getpwnam("postgres")
            os.chown(self.folder, account.pw_uid, account.pw_gid)
        self._run(_bin("initdb"), "-D", str(self.folder / "data"), "-A", "trust", "-U", "postgres", "--no-sync")
        self.start()

    @property
    def url(self) -> str:
        return f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/postgres"

    def _run(self, *command: str) -> None:
        subprocess.run([*self._as, *command], check=True, capture_output=True, timeout=60)

    def _ctl(self, *arguments: str) -> None:
        self._run(_bin("pg_ctl"), "-D", str(self.folder / "data"), "-l", str(self.folder / "log"), *arguments)

    def start(self) -> None:
        options = f"-p {self.port} -k {self.folder} -c listen_addresses=127.0.0.1 -c fsync=off"
        self._ctl("-o", options, "-w", "start")

    def crash(self) -> None:
        """Stop every server process at once, without a checkpoint, and start again: PostgreSQL recovers
        from its write-ahead log as after a power cut."""
        self._ctl("-m", "immediate", "stop")
        self.start()

    def remove(self) -> None:
        try:
            self._ctl("-m", "immediate", "stop")
        finally:
            shutil.rmtree(self.folder, ignore_errors=True)
