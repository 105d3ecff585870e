"""The issue's targets, checked against what this run measured (and the 100k run before it, for memory)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from bench.baselines import Baseline
from bench.runner import Outcome

REFERENCE_ROWS = 100_000
RSS_LIMIT_MB = 200.0
RSS_GROWTH = 1.25
XLSX_RATE = 40_000.0
XLSX_RSS_MB = 250.0
POLL_P99_MS = 50.0
CONTRACT_SECONDS = 1.0
# Not one of the targets but ours: a person's small import beside a large one's queued chunks.
BESIDE_SECONDS = 2.0


@dataclass(frozen=True)
class TargetCheck:
    target: str
    measured: str
    met: bool | None  # None: not measured in this run

    def describe(self) -> str:
        verdict = {True: "met", False: "MISSED", None: "not measured"}[self.met]
        return f"{self.target}: {self.measured or '-'} -> {verdict}"


def _by_key(outcomes: Sequence[Outcome]) -> dict[str, Outcome]:
    return {outcome.key: outcome for outcome in outcomes if outcome.seconds is not None}


def _ratio_check(label: str, outcome: Outcome | None, floor: Baseline | None, limit: float) -> TargetCheck:
    if outcome is None or outcome.seconds is None or floor is None:
        return TargetCheck(f"{label} <= {limit:.1f}x COPY floor", "", None)
    ratio = outcome.seconds / floor.seconds_for(outcome.rows)
    return TargetCheck(f"{label} <= {limit:.1f}x COPY floor", f"{ratio:.2f}x at {outcome.rows:,} rows", ratio <= limit)


def _memory_checks(found: dict[str, Outcome], earlier: dict[str, tuple[float, float]]) -> list[TargetCheck]:
    peaks = {key: outcome.peaks for key, outcome in found.items() if outcome.peaks and key in "abcdgk"}
    if not peaks:
        return [TargetCheck(f"peak RSS of API and every worker < {RSS_LIMIT_MB:.0f} MB", "", None)]
    worst = max(max(p.api_mb, p.worker_mb) for p in peaks.values())
    rows = max(found[key].rows for key in peaks)
    checks = [
        TargetCheck(
            f"peak RSS of API and every worker < {RSS_LIMIT_MB:.0f} MB",
            f"max {worst:.0f} MB over {', '.join(sorted(peaks))} at {rows:,} rows",
            worst < RSS_LIMIT_MB,
        )
    ]
    growth: list[str] = []
    met = True
    for key, now in sorted(peaks.items()):
        if key not in earlier or rows <= REFERENCE_ROWS:
            continue
        before_api, before_worker = earlier[key]
        growth.append(f"{key}: API {before_api:.0f}->{now.api_mb:.0f}, worker {before_worker:.0f}->{now.worker_mb:.0f}")
        met = met and now.api_mb <= before_api * RSS_GROWTH and now.worker_mb <= before_worker * RSS_GROWTH
    checks.append(
        TargetCheck(
            f"peak RSS within {RSS_GROWTH - 1:.0%} of the {REFERENCE_ROWS:,}-row run",
            "; ".join(growth),
            met if growth else None,
        )
    )
    return checks


def evaluate(
    outcomes: Sequence[Outcome],
    floor: Baseline | None,
    earlier: dict[str, tuple[float, float]],
) -> list[TargetCheck]:
    """Every target but the scaling one, which --scaling checks on its own."""
    found = _by_key(outcomes)
    checks = [
        _ratio_check("a: first import, PostgreSQL + Redis", found.get("a"), floor, 3.0),
        _ratio_check("c: every row updated, PostgreSQL + Redis", found.get("c"), floor, 4.0),
        _ratio_check("d: embedded default", found.get("d"), floor, 5.0),
        *_memory_checks(found, earlier),
    ]
    xlsx = found.get("e")
    xlsx_target = f"e: XLSX >= {XLSX_RATE / 1000:.0f}k rows/s with worker RSS < {XLSX_RSS_MB:.0f} MB"
    if xlsx and xlsx.per_second and xlsx.peaks:
        measured = f"{xlsx.per_second / 1000:.1f}k rows/s at {xlsx.rows:,} rows, worker {xlsx.peaks.worker_mb:.0f} MB"
        twin = found.get("i")
        if twin and twin.per_second:
            measured += f" (the same rows as CSV, i: {twin.per_second / 1000:.1f}k rows/s)"
        met = xlsx.per_second >= XLSX_RATE and xlsx.peaks.worker_mb < XLSX_RSS_MB
        checks.append(TargetCheck(xlsx_target, measured, met))
    else:
        checks.append(TargetCheck(xlsx_target, "", None))
    for key, where in (("g", "PostgreSQL + Redis"), ("k", "embedded default")):
        polled = found.get(key)
        poll_target = f"{key}: status polling p99 < {POLL_P99_MS:.0f} ms ({where})"
        if polled and polled.polling:
            checks.append(TargetCheck(poll_target, polled.polling.describe(), polled.polling.p99_ms < POLL_P99_MS))
        else:
            checks.append(TargetCheck(poll_target, "", None))
    contract = found.get("h")
    contract_target = f"h: the contract's 3-row import < {CONTRACT_SECONDS:.0f} s on the embedded default"
    if contract and contract.seconds is not None:
        checks.append(TargetCheck(contract_target, f"{contract.seconds:.2f} s", contract.seconds < CONTRACT_SECONDS))
    else:
        checks.append(TargetCheck(contract_target, "", None))
    for key, where in (("l", "PostgreSQL + Redis"), ("m", "embedded default")):
        beside = found.get(key)
        beside_target = f"{key}: the contract's 3 rows beside a large import < {BESIDE_SECONDS:.0f} s ({where})"
        if beside and beside.seconds is not None:
            checks.append(TargetCheck(beside_target, f"{beside.seconds:.2f} s", beside.seconds < BESIDE_SECONDS))
        else:
            checks.append(TargetCheck(beside_target, "", None))
    return checks


def results_path(folder: Path, rows: int) -> Path:
    return folder / f"results-{rows}.json"


def save_peaks(folder: Path, rows: int, outcomes: Sequence[Outcome]) -> None:
    """Keep this run's peaks for a later, larger run to compare against (merged with earlier keys)."""
    path = results_path(folder, rows)
    saved: dict[str, list[float]] = json.loads(path.read_text()) if path.exists() else {}
    for outcome in outcomes:
        if outcome.peaks is not None and outcome.rows == rows:
            saved[outcome.key] = [outcome.peaks.api_mb, outcome.peaks.worker_mb]
    path.write_text(json.dumps(saved, indent=1))


def load_peaks(folder: Path, rows: int = REFERENCE_ROWS) -> dict[str, tuple[float, float]]:
    path = results_path(folder, rows)
    if not path.exists():
        return {}
    saved: dict[str, list[float]] = json.loads(path.read_text())
    return {key: (values[0], values[1]) for key, values in saved.items()}
