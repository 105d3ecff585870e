"""Status snapshots: one job's rendered status, kept for a fraction of a second and shared by its pollers.

Fifty scripts polling one import five times a second cost the database five reads a second, not 250.
A snapshot is never older than IMPORTER_STATUS_CACHE_SECONDS; who may see it is checked on every read.

A snapshot is renewed before it expires: the first read past REFRESH_AT of its life claims the renewal,
which runs beside the requests (they go on getting the snapshot, still valid). Renewed only on expiry,
every poll that came while the database answered waited for it, and under a running import those
were the slowest of all polls (its p99).

A change the API makes to a job (cancel, retry) forgets its snapshot, and no rendering read before the
change may take its place: a snapshot is only ever replaced by one read later.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

from app.accounts import Principal, Role

MAX_SNAPSHOTS = 10_000
REFRESH_AT = 0.6  # of a snapshot's life


class StatusSnapshots:
    def __init__(self, ttl_seconds: float, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl_seconds
        self._clock = clock
        # job id -> (rendering, or None once forgotten; its owner's account; when it expires)
        self._snapshots: dict[int, tuple[dict[str, object] | None, int, float]] = {}
        self._renewing: set[int] = set()
        self._lock = threading.Lock()

    def now(self) -> float:
        return self._clock()

    def get(self, job_id: int, principal: Principal) -> dict[str, object] | None:
        with self._lock:
            found = self._snapshots.get(job_id)
        if found is None:
            return None
        rendered, owner, expires = found
        if rendered is None or expires < self._clock():
            return None
        if principal.role is Role.IMPORTER and owner != principal.account_id:
            return None
        return rendered

    def claim_renewal(self, job_id: int) -> bool:
        """True for the one caller that should renew a snapshot past REFRESH_AT of its life (and not
        expired: an expired one is read again by whoever asks)."""
        with self._lock:
            found = self._snapshots.get(job_id)
            if found is None or found[0] is None or job_id in self._renewing:
                return False
            expires = found[2]
            if not expires - self._ttl * (1 - REFRESH_AT) <= self._clock() <= expires:
                return False
            self._renewing.add(job_id)
            return True

    def renewal_failed(self, job_id: int) -> None:
        with self._lock:
            self._renewing.discard(job_id)

    def put(self, job_id: int, owner: int, rendered: dict[str, object], read_at: float | None = None) -> None:
        """Keep a rendering of the job read from the database at `read_at` (now, when not given): it
        expires IMPORTER_STATUS_CACHE_SECONDS after that read began."""
        if self._ttl <= 0:
            return
        read_at = self._clock() if read_at is None else read_at
        with self._lock:
            self._renewing.discard(job_id)
            current = self._snapshots.get(job_id)
            if current is not None and current[2] > read_at + self._ttl:  # read later, or forgotten since
                return
            if len(self._snapshots) >= MAX_SNAPSHOTS:
                self._snapshots.clear()
            self._snapshots[job_id] = (rendered, owner, read_at + self._ttl)

    def forget(self, job_id: int) -> None:
        """Drop a job's snapshot after a change made to it: until the time to live of a read begun now has
        passed, only a rendering read from now on may be kept (a renewal already under way is not)."""
        if self._ttl <= 0:
            return
        with self._lock:
            self._renewing.discard(job_id)
            self._snapshots[job_id] = (None, 0, self._clock() + self._ttl)
