"""Status polling under load: many clients GET one statusUrl on a fixed period while an import runs."""

from __future__ import annotations

import asyncio
import statistics
import threading
import time
from collections import Counter
from dataclasses import dataclass

import httpx

from bench.service import USER


@dataclass(frozen=True)
class PollingResult:
    pollers: int
    requests: int
    errors: int
    seconds: float
    p50_ms: float
    p99_ms: float
    max_ms: float
    error_kinds: str = ""  # e.g. "ReadTimeout x3, 429 x2"

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        return (
            f"{self.pollers} pollers: {self.per_second:.0f} req/s, p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, max {self.max_ms:.0f} ms, {self.errors} errors"
            + (f" ({self.error_kinds})" if self.error_kinds else "")
        )


async def _poller(
    client: httpx.AsyncClient, url: str, interval: float, until: float, latencies: list[float], errors: list[str]
) -> None:
    tick = time.monotonic()
    while (began := time.monotonic()) < until:
        try:
            response = await client.get(url)
            if response.status_code == 200:
                latencies.append(time.monotonic() - began)
            else:
                errors.append(str(response.status_code))
        except httpx.HTTPError as error:
            errors.append(type(error).__name__)
        tick += interval
        await asyncio.sleep(max(0.0, tick - time.monotonic()))


async def _poll(base_url: str, url: str, pollers: int, interval: float, duration: float) -> PollingResult:
    latencies: list[float] = []
    errors: list[str] = []
    limits = httpx.Limits(max_connections=pollers, max_keepalive_connections=pollers)
    async with httpx.AsyncClient(base_url=base_url, auth=USER, timeout=10.0, limits=limits) as client:
        began = time.monotonic()
        until = began + duration
        await asyncio.gather(*(_poller(client, url, interval, until, latencies, errors) for _ in range(pollers)))
        seconds = time.monotonic() - began
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        p50, p99 = cuts[49], cuts[98]
    else:
        p50 = p99 = latencies[0] if latencies else 0.0
    worst = max(latencies, default=0.0)
    kinds = ", ".join(f"{kind} x{count}" for kind, count in Counter(errors).most_common())
    requests = len(latencies) + len(errors)
    return PollingResult(pollers, requests, len(errors), seconds, p50 * 1e3, p99 * 1e3, worst * 1e3, kinds)


class PollingLoad:
    """Runs the pollers on an event loop of their own, in a thread, beside the caller's own polling."""

    def __init__(self, base_url: str, status_url: str, pollers: int, interval: float, duration: float) -> None:
        self._arguments = (base_url, status_url, pollers, interval, duration)
        self._thread = threading.Thread(target=self._run, name="polling-load", daemon=True)
        self.result: PollingResult | None = None
        self.error: BaseException | None = None

    def _run(self) -> None:
        try:
            self.result = asyncio.run(_poll(*self._arguments))
        except BaseException as error:  # reported by join(), in the caller's thread
            self.error = error

    def start(self) -> None:
        self._thread.start()

    def join(self) -> PollingResult:
        self._thread.join()
        if self.error is not None:
            raise self.error
        assert self.result is not None
        return self.result
