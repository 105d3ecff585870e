"""The printed report: one results table, the same-run baselines, phases, failures and the machine line."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from bench.baselines import Baseline
from bench.runner import Outcome
from bench.targets import TargetCheck

COLUMNS = ("scenario", "rows", "seconds", "rows/s", "x COPY floor", "API MB", "worker MB", "check", "notes")
MIN_ROWS_FOR_RATIO = 1000


@dataclass(frozen=True)
class Baselines:
    copy_floor: Baseline | None
    row_by_row: Baseline | None


def _rate(value: float | None) -> str:
    if value is None:
        return ""
    return f"{value / 1000:.1f}k" if value >= 1000 else f"{value:.0f}"


def ratio_to_floor(outcome: Outcome, floor: Baseline | None) -> float | None:
    if floor is None or outcome.seconds is None or outcome.rows < MIN_ROWS_FOR_RATIO:
        return None
    return outcome.seconds / floor.seconds_for(outcome.rows)


def _notes(outcome: Outcome) -> str:
    if outcome.polling is not None:
        return outcome.polling.describe()
    status = outcome.status
    if status.get("status") != "COMPLETED":
        return str(status.get("status", ""))
    counts = (status.get("recordsCreated"), status.get("recordsUpdated"), status.get("recordsSkipped"))
    notes = "created/updated/skipped {}/{}/{}".format(*counts)
    if status.get("recordsFailed"):
        notes += f", failed {status['recordsFailed']}"
    if outcome.note and outcome.verdict is not None and outcome.verdict.passed:
        notes += f"; {outcome.note}"
    return notes


def _cells(outcome: Outcome, floor: Baseline | None) -> tuple[str, ...]:
    name = f"{outcome.key}: {outcome.title}"
    if outcome.unavailable is not None:
        return name, f"{outcome.rows:,}", outcome.unavailable, "", "", "", "", "", ""
    ratio = ratio_to_floor(outcome, floor)
    peaks = outcome.peaks
    return (
        name,
        f"{outcome.rows:,}",
        "" if outcome.seconds is None else f"{outcome.seconds:.2f}",
        _rate(outcome.per_second),
        "" if ratio is None else f"{ratio:.2f}x",
        "" if peaks is None else f"{peaks.api_mb:.0f}",
        "" if peaks is None else f"{peaks.worker_mb:.0f}",
        outcome.verdict.label if outcome.verdict else "",
        _notes(outcome),
    )


def markdown_table(header: Sequence[str], rows: Sequence[Sequence[str]]) -> list[str]:
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(len(header))]

    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(str(cell).ljust(width) for cell, width in zip(cells, widths, strict=True)) + " |"

    return [line(header), "|" + "|".join("-" * (width + 2) for width in widths) + "|", *(line(row) for row in rows)]


def _baseline_lines(baselines: Baselines, rows: int) -> list[str]:
    lines = ["Baselines (same run, same rows, PostgreSQL):"]
    floor = baselines.copy_floor
    if floor is not None:
        runs = f", the median of {', '.join(f'{seconds:.2f}' for seconds in floor.runs)} s" if floor.runs else ""
        lines.append(
            f"  COPY floor: {floor.rows:,} rows in {floor.seconds:.2f} s{runs} = {_rate(floor.per_second)} rows/s "
            "(COPY FROM STDIN, FORMAT csv, into a typed table with a primary key on the SKU)"
        )
    orm = baselines.row_by_row
    if orm is not None:
        lines.append(
            f"  row-by-row ORM (session.merge + commit per row): {orm.rows:,} rows in {orm.seconds:.2f} s = "
            f"{_rate(orm.per_second)} rows/s; {rows:,} rows would take {orm.seconds_for(rows):,.0f} s (extrapolated)"
        )
    return lines


def render(
    machine: str, context: str, outcomes: Sequence[Outcome], baselines: Baselines, targets: Sequence[TargetCheck]
) -> str:
    lines = [f"Machine: {machine}", context, ""]
    lines += markdown_table(COLUMNS, [_cells(outcome, baselines.copy_floor) for outcome in outcomes])
    lines += ["", *_baseline_lines(baselines, max((o.rows for o in outcomes), default=0))]
    phased = [outcome for outcome in outcomes if outcome.phases is not None]
    if phased:
        lines += ["", "Phases (from the service's log lines):"]
        for outcome in phased:
            assert outcome.phases is not None
            load = "" if outcome.load_average is None else f"; load average {outcome.load_average:.1f} at the end"
            lines.append(f"  {outcome.key}: {outcome.phases.describe()}{load}")
            if outcome.cpu is not None:
                lines.append(f"     after the upload: {outcome.cpu.describe()}")
    polled = [outcome for outcome in outcomes if outcome.polling is not None and outcome.polling.slow]
    if polled:
        lines += ["", "Slow polls (seconds from the start of the polling):"]
        lines += [f"  {outcome.key}: {outcome.polling.slow}" for outcome in polled if outcome.polling]
    failed = [outcome for outcome in outcomes if outcome.verdict is not None and not outcome.verdict.passed]
    if failed:
        lines += ["", "Failures:"]
        for outcome in failed:
            assert outcome.verdict is not None
            lines += [f"  {outcome.key}: {reason}" for reason in outcome.verdict.reasons]
            if outcome.note:
                lines += ["    " + line for line in outcome.note.splitlines()]
    if targets:
        lines += ["", "Targets:"]
        lines += [f"  {check.describe()}" for check in targets]
    return "\n".join(lines)
