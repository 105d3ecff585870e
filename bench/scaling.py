"""--scaling: the parallel chunk phase of one file with 1 worker process, then with 2."""

from __future__ import annotations

from dataclasses import dataclass

from bench.files import DataFile
from bench.runner import Expectation, Outcome, Run, measure

WORKER_COUNTS = (1, 2)


@dataclass(frozen=True)
class ScalingResult:
    outcomes: dict[int, Outcome]  # by worker processes

    def chunk_seconds(self, workers: int) -> float | None:
        phases = self.outcomes[workers].phases
        return phases.chunks if phases else None

    @property
    def speedup(self) -> float | None:
        one, two = self.chunk_seconds(1), self.chunk_seconds(2)
        return one / two if one and two else None

    def render(self) -> str:
        lines = ["Scaling of the chunk phase (planned -> last chunk written, from the service's logs):"]
        for workers, outcome in self.outcomes.items():
            check = outcome.verdict.label if outcome.verdict else "?"
            phases = outcome.phases.describe() if outcome.phases else "no phases"
            poll = outcome.chunk_poll_seconds
            proxy = "" if poll is None else f"; by status polls {poll:.1f} s"
            total = "" if outcome.seconds is None else f"{outcome.seconds:.1f} s in all, "
            lines.append(f"  {workers} worker(s): {total}{phases}{proxy} [{check}]")
        speedup = self.speedup
        lines.append(f"  speed-up with 2 workers: {'?' if speedup is None else f'{speedup:.2f}x'} (target >= 1.6x)")
        return "\n".join(lines)


def measure_scaling(run: Run, data: DataFile) -> ScalingResult:
    outcomes: dict[int, Outcome] = {}
    for workers in WORKER_COUNTS:
        with run.postgres_redis(f"scaling-{workers}", workers) as deployment:
            outcome = Outcome(f"{workers}w", f"first import, {workers} worker(s)", data.rows)
            expectation = Expectation({"recordsCreated": data.rows})
            outcomes[workers] = measure(deployment, outcome, data, run.options.timeout, expectation)
    return ScalingResult(outcomes)
