"""Status polling under load: many clients GET one statusUrl on a fixed period while an import runs."""

from __future__ import annotations

import asyncio
import contextlib
import multiprocessing
import statistics
import time
from collections import Counter
from dataclasses import dataclass
from multiprocessing.queues import Queue

import httpx

from bench.service import USER

WARM_UP_SECONDS = 2.0  # every poller builds its client and opens its connection before any latency counts
SLOW_MS = 50.0  # a poll slower than this (the target's p99) is slow
BURST_GAP_SECONDS = 0.3  # slow polls that began closer together than this are one burst


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
    slow: str = ""  # when the slow polls came, e.g. "12 polls over 50 ms, in 1 burst: +12.5 s for 0.45 s (max 147 ms)"

    @property
    def per_second(self) -> float:
        return self.requests / self.seconds if self.seconds else 0.0

    def describe(self) -> str:
        return (
            f"{self.pollers} pollers: {self.per_second:.0f} req/s, p50 {self.p50_ms:.1f} ms, "
            f"p99 {self.p99_ms:.1f} ms, max {self.max_ms:.0f} ms, {self.errors} errors"
            + (f" ({self.error_kinds})" if self.error_kinds else "")
        )


def slow_bursts(timeline: list[tuple[float, float]]) -> str:
    """When the slow polls came: (start, seconds) of each poll, grouped into bursts of slow polls that
    began close together. A burst says that something held every poll at once (a stalled process, a
    CPU taken), not that one request was slow."""
    slow = sorted((began, took * 1e3) for began, took in timeline if took * 1e3 > SLOW_MS)
    if not slow:
        return f"no poll over {SLOW_MS:.0f} ms"
    bursts: list[list[tuple[float, float]]] = [[slow[0]]]
    for poll in slow[1:]:
        if poll[0] - bursts[-1][-1][0] > BURST_GAP_SECONDS:
            bursts.append([])
        bursts[-1].append(poll)
    described = ", ".join(
        f"+{burst[0][0]:.1f} s for {burst[-1][0] - burst[0][0]:.2f} s (max {max(ms for _, ms in burst):.0f} ms)"
        for burst in bursts
    )
    count = len(bursts)
    return f"{len(slow)} polls over {SLOW_MS:.0f} ms, in {count} burst{'s' if count > 1 else ''}: {described}"


async def _poller(
    base_url: str,
    url: str,
    interval: float,
    offset: float,
    until: float,
    latencies: list[tuple[float, float]],
    errors: list[str],
) -> None:
    """One script polling one statusUrl: its own connection, warmed up before it counts, at its own phase."""
    async with httpx.AsyncClient(base_url=base_url, auth=USER, timeout=10.0) as client:
        with contextlib.suppress(httpx.HTTPError):
            await client.get(url)  # the connection is opened (and the client built) before the clock runs
        await asyncio.sleep(offset)
        tick = time.monotonic()
        while (began := time.monotonic()) < until:
            try:
                response = await client.get(url)
                if response.status_code == 200:
                    latencies.append((began, time.monotonic() - began))
                else:
                    errors.append(str(response.status_code))
            except httpx.HTTPError as error:
                errors.append(type(error).__name__)
            tick += interval
            await asyncio.sleep(max(0.0, tick - time.monotonic()))


async def _poll(base_url: str, url: str, pollers: int, interval: float, duration: float) -> PollingResult:
    """`pollers` independent scripts, their phases spread over one interval (real pollers are not in step)."""
    timeline: list[tuple[float, float]] = []  # (when a poll began, how long it took)
    errors: list[str] = []
    began = time.monotonic() + WARM_UP_SECONDS
    until = began + duration
    offsets = [WARM_UP_SECONDS + interval * number / pollers for number in range(pollers)]
    await asyncio.gather(*(_poller(base_url, url, interval, offset, until, timeline, errors) for offset in offsets))
    seconds = time.monotonic() - began
    latencies = [took for _, took in timeline]
    if len(latencies) >= 2:
        cuts = statistics.quantiles(latencies, n=100, method="inclusive")
        p50, p99 = cuts[49], cuts[98]
    else:
        p50 = p99 = latencies[0] if latencies else 0.0
    worst = max(latencies, default=0.0)
    kinds = ", ".join(f"{kind} x{count}" for kind, count in Counter(errors).most_common())
    requests = len(latencies) + len(errors)
    slow = slow_bursts([(at - began, took) for at, took in timeline])
    return PollingResult(pollers, requests, len(errors), seconds, p50 * 1e3, p99 * 1e3, worst * 1e3, kinds, slow)


def _run(arguments: tuple[str, str, int, float, float], results: Queue[PollingResult | str]) -> None:
    try:
        results.put(asyncio.run(_poll(*arguments)))
    except BaseException as error:  # reported by join(), in the benchmark's process
        results.put(f"{type(error).__name__}: {error}")


class PollingLoad:
    """The pollers in a process of their own, so that they share no interpreter lock with the benchmark."""

    def __init__(self, base_url: str, status_url: str, pollers: int, interval: float, duration: float) -> None:
        context = multiprocessing.get_context("spawn")
        self._results: Queue[PollingResult | str] = context.Queue()
        arguments = (base_url, status_url, pollers, interval, duration)
        self._process = context.Process(target=_run, args=(arguments, self._results), name="polling-load", daemon=True)

    def start(self) -> None:
        self._process.start()

    def join(self) -> PollingResult:
        result = self._results.get()
        self._process.join()
        if isinstance(result, str):
            raise RuntimeError(f"the polling load failed: {result}")
        return result
