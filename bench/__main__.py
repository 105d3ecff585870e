"""`python -m bench`: generate the rows, measure the baselines and the scenarios, print one report."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
from types import FrameType

from bench.backends import PostgresDatabase
from bench.baselines import copy_floor, row_by_row
from bench.data import DataSpec
from bench.files import FileType, prepare
from bench.machine import machine_line
from bench.readers import measure_readers, render_readers
from bench.report import Baselines, render
from bench.runner import Options, Run
from bench.scaling import measure_scaling
from bench.scenarios import ALL, OWN_FILES, TITLES, run_scenarios
from bench.targets import evaluate, load_peaks, save_peaks

logger = logging.getLogger("bench")

FULL_ROWS = 1_000_000
QUICK_ROWS = 100_000


def _parse(argv: list[str]) -> tuple[Options, str, bool]:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    size = parser.add_mutually_exclusive_group()
    size.add_argument("--rows", type=int, default=FULL_ROWS, help="rows per file (default 1,000,000)")
    size.add_argument("--quick", action="store_true", help=f"{QUICK_ROWS:,} rows")
    parser.add_argument("--workers", type=int, default=2, help="worker processes (default 2)")
    # argparse formats help with %, so a title's own % (as in "1% invalid rows") is doubled
    chosen = ", ".join(f"{key}: {title}" for key, title in TITLES.items()).replace("%", "%%")
    parser.add_argument("--scenarios", default=",".join(ALL), help=f"comma-separated, of {chosen}")
    parser.add_argument("--scaling", action="store_true", help="measure the chunk phase with 1 worker, then 2")
    parser.add_argument(
        "--readers",
        action="store_true",
        help="instead of the scenarios: XLSX readers (openpyxl, python-calamine, the service's) on sheets of "
        "rows/10 and rows rows",
    )
    parser.add_argument("--no-baselines", action="store_true", help="skip the COPY floor and row-by-row baselines")
    parser.add_argument("--timeout", type=float, default=900.0, help="seconds an import may take (default 900)")
    parser.add_argument("--seed", type=int, default=20261126)
    parser.add_argument(
        "--analyze",
        action="store_true",
        help="run ANALYZE on the service's database after each completed import (untimed): a workaround for "
        "merge plans made on stale statistics, see bench/README.md",
    )
    parser.add_argument(
        "--code",
        default="HEAD",
        help="the service code to run: a git revision, snapshotted with git archive (default HEAD), or 'worktree'",
    )
    parser.add_argument("--keep", action="store_true", help="keep the embedded databases and uploads of the run")
    args = parser.parse_args(argv)
    keys = tuple(key.strip() for key in args.scenarios.split(",") if key.strip())
    unknown = [key for key in keys if key not in TITLES]
    if unknown:
        parser.error(f"unknown scenarios {unknown}; choose among {', '.join(ALL)}")
    rows = QUICK_ROWS if args.quick else args.rows
    options = Options(rows, args.workers, keys, args.timeout, args.seed, args.keep, args.analyze, args.code)
    mode = "readers" if args.readers else "scaling" if args.scaling else "scenarios"
    return options, mode, not args.no_baselines


def _stop_on_sigterm(signum: int, _frame: FrameType | None) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def _baselines(run: Run) -> Baselines:
    data = prepare(DataSpec(run.options.rows, run.options.seed), FileType.CSV, run.options.data_folder)
    with PostgresDatabase("baselines") as database:
        logger.info("bench.baseline copy_floor rows=%s", data.rows)
        floor = copy_floor(database.url, data)
        logger.info("bench.baseline row_by_row")
        orm = row_by_row(database.url, DataSpec(run.options.rows, run.options.seed))
    return Baselines(floor, orm)


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", stream=sys.stderr)
    logging.getLogger("httpx").setLevel(logging.WARNING)
    options, mode, with_baselines = _parse(argv)
    signal.signal(signal.SIGTERM, _stop_on_sigterm)
    signal.signal(signal.SIGINT, signal.default_int_handler)  # even when started in the background
    machine = machine_line()
    if mode == "readers":
        print(f"{machine}\n\n" + render_readers(measure_readers(options.rows, options.seed, options.data_folder)))
        return 0
    # The rows as CSV, unless only scenarios with files of their own run without baselines (at --rows
    # 10000000, for sheets of a million rows, it would be 2.5 GB written for nothing).
    needs_csv = with_baselines or mode == "scaling" or not set(options.scenarios) <= set(OWN_FILES)
    data = prepare(DataSpec(options.rows, options.seed), FileType.CSV, options.data_folder) if needs_csv else None
    run = Run(options)
    context = (
        f"Service code: {run.code.label}\nRows: {options.rows:,}"
        + (f" ({data.size_bytes / 2**20:.0f} MiB CSV)" if data else "")
        + f"; worker processes: {options.workers}"
        + ("; --analyze: ANALYZE after each import (untimed)" if options.analyze else "")
    )
    try:
        baselines = _baselines(run) if with_baselines else Baselines(None, None)
        if mode == "scaling":
            assert data is not None
            result = measure_scaling(run, data)
            report = render(machine, context, list(result.outcomes.values()), baselines, [])
            report += "\n\n" + result.render()
        else:
            outcomes = run_scenarios(run, list(options.scenarios))
            save_peaks(options.data_folder, options.rows, outcomes)
            targets = evaluate(outcomes, baselines.copy_floor, load_peaks(options.data_folder))
            report = render(machine, context, outcomes, baselines, targets)
    finally:
        run.close()
    (run.folder / "report.txt").write_text(report + "\n")
    print(report)
    print(f"\n(logs and this report: {run.folder})")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
