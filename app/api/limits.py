"""Limits on callers: failed logins per account and address, password checks per address, request rate and
running imports per account.

The login throttle and the request rate live in the memory of one API process (N processes allow N times
the rate, and each keeps its own lockouts); running imports are counted in the database, so that limit
holds across every API process (app.service.running_limit).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import threading
import time
from collections import Counter, OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from app.accounts import Principal
from app.api.auth import authenticate
from app.errors import TooManyRequests
from app.runtime import Runtime
from app.service.running_limit import refuse_at_running_limit
from app.settings import Settings

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Endpoint = Callable[[Request], Awaitable[Response]]
MAX_REMEMBERED = 100_000


@dataclass
class _Attempts:
    failures: deque[float] = field(default_factory=deque)
    lockouts: int = 0
    locked_until: float = 0.0
    last_seen: float = 0.0


class LoginThrottle:
    """Locks an (account, address) pair out after repeated failed logins, for longer at each lockout.

    An attempt counts as a failure from the moment it starts until it succeeds, so that many guesses
    sent at once still get no more than `failures` tries; a success forgets the pair.
    """

    def __init__(
        self, failures: int, window: float, lockout: float, max_lockout: float, clock: Clock = time.monotonic
    ) -> None:
        self.failures = failures
        self._window = window
        self._lockout = lockout
        self._max_lockout = max(lockout, max_lockout)
        self._clock = clock
        self._pairs: OrderedDict[tuple[str, str], _Attempts] = OrderedDict()
        self._lock = threading.Lock()

    def _pair(self, key: tuple[str, str], now: float) -> _Attempts:
        attempts = self._pairs.get(key)
        if attempts is None or now - max(attempts.last_seen, attempts.locked_until) > self._window:
            attempts = _Attempts()
        self._pairs[key] = attempts
        self._pairs.move_to_end(key)
        while len(self._pairs) > MAX_REMEMBERED:
            self._pairs.popitem(last=False)
        return attempts

    def begin(self, username: str, address: str) -> float | None:
        """Seconds left of a lockout (refuse the attempt); None when the attempt may go on."""
        if self.failures <= 0:
            return None
        now = self._clock()
        with self._lock:
            attempts = self._pair((username, address), now)
            if attempts.locked_until > now:
                return attempts.locked_until - now
            while attempts.failures and attempts.failures[0] <= now - self._window:
                attempts.failures.popleft()
            attempts.failures.append(now)
            attempts.last_seen = now
            if len(attempts.failures) >= self.failures:
                attempts.lockouts += 1
                doubling = 2.0 ** min(attempts.lockouts - 1, 30)
                attempts.locked_until = now + min(self._lockout * doubling, self._max_lockout)
                attempts.failures.clear()
        return None

    def locked_for(self, username: str, address: str) -> float:
        with self._lock:
            attempts = self._pairs.get((username, address))
            return max(0.0, attempts.locked_until - self._clock()) if attempts else 0.0

    def succeeded(self, username: str, address: str) -> None:
        with self._lock:
            self._pairs.pop((username, address), None)


class RequestRate:
    """A token bucket per account: `burst` requests at once, refilled at `per_second`; 0 disables it."""

    def __init__(self, per_second: float, burst: int, clock: Clock = time.monotonic) -> None:
        self.per_second = per_second
        self.burst = max(1, burst)
        self._clock = clock
        self._buckets: dict[int, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, account_id: int) -> float | None:
        """None when the request may go on; otherwise the seconds until it may."""
        if self.per_second <= 0:
            return None
        now = self._clock()
        with self._lock:
            tokens, stamp = self._buckets.get(account_id, (float(self.burst), now))
            tokens = min(float(self.burst), tokens + (now - stamp) * self.per_second)
            if tokens >= 1.0:
                self._buckets[account_id] = (tokens - 1.0, now)
                return None
            self._buckets[account_id] = (tokens, now)
        return (1.0 - tokens) / self.per_second


class PasswordChecks:
    """Password checks waiting or running in one API process, held on the event loop.

    `at_once` checks run (argon2id: 64 MiB and a tenth of a second each); the others wait here, not in a
    worker thread, which every request of the API needs: made-up logins waiting in threads kept logged-in
    scripts and token holders waiting behind them. One address may have `per_address` credentials waiting
    or running at once (many requests sending the same credential count once); more get 429 at once.
    """

    def __init__(self, per_address: int, at_once: int = 2) -> None:
        self.per_address = per_address
        self._at_once = at_once
        self._pending: dict[str, Counter[bytes]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._slots = asyncio.Semaphore(at_once)

    def _slots_of_this_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._loop is not loop:  # one loop in a served API; tests may run the app on several, one after another
            self._loop, self._slots = loop, asyncio.Semaphore(self._at_once)
        return self._slots

    @contextlib.asynccontextmanager
    async def slot(self, address: str, credential: bytes) -> AsyncIterator[None]:
        """Held while one credential from `address` is checked; TooManyRequests when that address has its
        `per_address` other credentials waiting or running."""
        pending = self._pending.setdefault(address, Counter())
        if credential not in pending and len(pending) >= self.per_address:
            raise TooManyRequests(
                f"too many password checks at once from {address}: at most {self.per_address} credentials are "
                "checked at a time for one address (IMPORTER_LOGIN_CHECKS_PER_ADDRESS); retry in 1 second",
                1,
            )
        pending[credential] += 1
        try:
            async with self._slots_of_this_loop():
                yield
        finally:
            pending[credential] -= 1
            if pending[credential] <= 0:
                del pending[credential]
            if not pending:
                self._pending.pop(address, None)


def _seconds(wait: float) -> int:
    return max(1, math.ceil(wait))


@dataclass(frozen=True)
class AccessLimits:
    """The limits of one API process, kept in its application state; each refusal names its setting."""

    logins: LoginThrottle
    rate: RequestRate
    password_checks: PasswordChecks

    @classmethod
    def from_settings(cls, settings: Settings) -> AccessLimits:
        logins = LoginThrottle(
            settings.login_failures_before_throttle,
            settings.login_failure_window_seconds,
            settings.login_throttle_seconds,
            settings.login_throttle_max_seconds,
        )
        rate = RequestRate(settings.rate_limit_per_second, settings.rate_limit_burst)
        return cls(logins, rate, PasswordChecks(settings.login_checks_per_address))

    def begin_login(self, username: str, address: str) -> None:
        """Refuse a password check while (account, address) is locked out."""
        wait = self.logins.begin(username, address)
        if wait is None:
            return
        logger.warning("auth.throttled username=%r client=%s retry_after=%s", username, address, _seconds(wait))
        raise TooManyRequests(
            f"too many failed logins for '{username}' from {address}: try again in {_seconds(wait)} seconds "
            f"(after {self.logins.failures} failures, IMPORTER_LOGIN_FAILURES_BEFORE_THROTTLE, an account is "
            "locked out for that address for IMPORTER_LOGIN_THROTTLE_SECONDS, doubling at each lockout)",
            _seconds(wait),
        )

    def refuse_if_locked_out(self, username: str, address: str) -> None:
        """A lockout holds even for a credential checked before it began; nothing is counted."""
        wait = self.logins.locked_for(username, address)
        if wait > 0:
            raise TooManyRequests(
                f"'{username}' is locked out from {address} after failed logins: try again in {_seconds(wait)} "
                "seconds (IMPORTER_LOGIN_THROTTLE_SECONDS)",
                _seconds(wait),
            )

    def failed_login(self, username: str, address: str) -> None:
        """Log a failed password check: the username and the address, never the password."""
        logger.warning("auth.failed username=%r client=%s", username, address)
        locked = self.logins.locked_for(username, address)
        if locked > 0:
            logger.warning("auth.locked_out username=%r client=%s seconds=%s", username, address, _seconds(locked))

    def succeeded_login(self, username: str, address: str) -> None:
        self.logins.succeeded(username, address)

    def take_request(self, principal: Principal) -> None:
        """Count a request against its account's rate."""
        wait = self.rate.take(principal.account_id)
        if wait is None:
            return
        raise TooManyRequests(
            f"account '{principal.username}' is over its request rate of {self.rate.per_second:g} per second "
            f"with bursts of {self.rate.burst} (IMPORTER_RATE_LIMIT_PER_SECOND, IMPORTER_RATE_LIMIT_BURST); "
            f"retry in {_seconds(wait)} seconds",
            _seconds(wait),
        )


def within_running_limit(endpoint: Endpoint) -> Endpoint:
    """An endpoint that starts an import, refused (before its body is read) at the account's limit; the
    service counts again when it records the job (app.service.running_limit)."""

    async def guarded(request: Request) -> Response:
        principal = await authenticate(request)
        runtime: Runtime = request.app.state.runtime
        await run_in_threadpool(refuse_at_running_limit, runtime, principal)
        return await endpoint(request)

    return guarded
