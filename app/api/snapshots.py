"""Status snapshots: one job's rendered status, kept for a fraction of a second and shared by its pollers.

Fifty scripts polling one import five times a second cost the database five reads a second, not 250.
A snapshot is never older than IMPORTER_STATUS_CACHE_SECONDS; who may see it is checked on every read.
"""

from __future__ import annotations

import threading
import time

from app.accounts import Principal, Role

MAX_SNAPSHOTS = 10_000


class StatusSnapshots:
    def __init__(self, ttl_seconds: float) -> None:
        self._ttl = ttl_seconds
        self._snapshots: dict[int, tuple[dict[str, object], int, float]] = {}
        self._lock = threading.Lock()

    def get(self, job_id: int, principal: Principal) -> dict[str, object] | None:
        with self._lock:
            found = self._snapshots.get(job_id)
        if found is None:
            return None
        rendered, owner, expires = found
        if expires < time.monotonic() or (principal.role is Role.IMPORTER and owner != principal.account_id):
            return None
        return rendered

    def put(self, job_id: int, owner: int, rendered: dict[str, object]) -> None:
        if self._ttl <= 0:
            return
        with self._lock:
            if len(self._snapshots) >= MAX_SNAPSHOTS:
                self._snapshots.clear()
            self._snapshots[job_id] = (rendered, owner, time.monotonic() + self._ttl)
