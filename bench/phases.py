"""Where an import's time went, from the service's own log lines (import.accepted, .planned, .chunk_written,
.completed), whose timestamps are the processes' local time with milliseconds."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

_LINE = re.compile(r"^(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d,\d{3}) .*?\b(import\.[a-z_]+) job_id=(\d+)")


@dataclass(frozen=True)
class Phases:
    """Seconds of each phase: upload (first byte to accepted), plan (accepted to planned: reading the file once),
    chunks (planned to the last chunk written: the parallel phase), merge (last chunk to completed)."""

    upload: float | None
    plan: float | None
    chunks: float | None
    merge: float | None
    chunk_count: int

    def describe(self) -> str:
        def show(value: float | None) -> str:
            return "?" if value is None else f"{value:.1f}"

        return (
            f"upload {show(self.upload)} s, plan {show(self.plan)} s, "
            f"chunks {show(self.chunks)} s ({self.chunk_count} chunks), merge {show(self.merge)} s"
        )


def _events(logs: Iterable[Path], job_id: int) -> dict[str, list[float]]:
    found: dict[str, list[float]] = {}
    for path in logs:
        if not path.exists():
            continue
        with path.open(encoding="utf-8", errors="replace") as file:
            for line in file:
                match = _LINE.match(line)
                if match is None or int(match.group(3)) != job_id:
                    continue
                moment = datetime.strptime(match.group(1), "%Y-%m-%d %H:%M:%S,%f").timestamp()
                found.setdefault(match.group(2), []).append(moment)
    return found


def _between(start: float | None, end: float | None) -> float | None:
    return None if start is None or end is None else end - start


def phases_of(logs: Iterable[Path], job_id: int, upload_started_wall: float) -> Phases:
    events = _events(logs, job_id)
    accepted = min(events.get("import.accepted", [0.0])) or None
    planned = min(events.get("import.planned", [0.0])) or None
    chunks = events.get("import.chunk_written", [])
    last_chunk = max(chunks) if chunks else planned
    completed = min(events.get("import.completed", [0.0])) or None
    return Phases(
        upload=_between(upload_started_wall, accepted),
        plan=_between(accepted, planned),
        chunks=_between(planned, last_chunk),
        merge=_between(last_chunk, completed),
        chunk_count=len(chunks),
    )
