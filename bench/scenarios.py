"""The scenarios: which file, on which deployment, checked against what."""

from __future__ import annotations

import csv
import time
from collections.abc import Callable

import httpx

from bench.checksum import ExpectedContent
from bench.client import Submitted, run_import, submit, wait_for_end
from bench.data import HEADER, INVALID_PRICE, Col, DataSpec, Variant, generate_rows
from bench.files import DataFile, FileType, prepare, write_csv
from bench.polling import PollingLoad
from bench.runner import Deployment, Expectation, Options, Outcome, Run, measure
from bench.verify import Verdict, judge, stored_content

TITLES = {
    "a": "first import, PostgreSQL + Redis",
    "b": "same file again (unchanged rows skipped)",
    "c": "every price changed (every row updated)",
    "d": "first import, embedded default (SQLite)",
    "e": "XLSX first import, PostgreSQL + Redis",
    "f": "1% invalid rows, onError=skip, PostgreSQL + Redis",
    "g": "first import under status polling, PostgreSQL + Redis",
    "h": "the contract's 3-row import, embedded default",
    "i": "e's rows as CSV (e without its reader), PostgreSQL + Redis",
    "j": "e's rows as Excel writes them (shared strings), PostgreSQL + Redis",
    "k": "first import under status polling, embedded default",
    "l": "the contract's 3 rows beside a first import's queued chunks, PostgreSQL + Redis",
    "m": "the contract's 3 rows beside a first import's queued chunks, embedded default",
}
ALL = tuple(TITLES)
OWN_FILES = ("e", "h", "i", "j")  # the scenarios whose files are not the rows' CSV
ON_ERROR_NOT_AVAILABLE = "n/a (onError not available)"

# The README's (and the contract's) example: catalog -2, site -3, user -2.
CONTRACT_HEADER = (
    "SKU Number", "SKU Indicator", "Product Title", "Product Description", "Product Description(SPANISH)",
    "Default Category Id", "Product URL", "Retail Price", "UPC", "Available Quantity", "ProductAttribute[Color]",
)  # fmt: skip
CONTRACT_ROWS = tuple(
    (sku, "", f"ProductB{sku}", f"ProductB{sku} is awesome!!!", f"¡ ProductB{sku} es increíble!", "2007",
     f"/mens/ProductB{sku}", "3.99", f"282{sku}", "300", color)
    for sku, color in (("2011", "Red"), ("2012", "Blue"), ("2013", "Black"))
)  # fmt: skip
CONTRACT_CATALOG = -2
# Scenario g measures what a status request costs, so it runs with the per-account limits off (0 disables
# each): 50 pollers of one account at 5 requests/s are over the default rate of 20/s, and more than 5 of
# its requests in flight at once count as failed logins and lock the account out for a while (429).
UNLIMITED = {"IMPORTER_RATE_LIMIT_PER_SECOND": "0", "IMPORTER_LOGIN_FAILURES_BEFORE_THROTTLE": "0"}
PROBE_CATALOG = 99  # not catalog 1, which scenario f checks


def _file(
    options: Options, variant: Variant = Variant.BASE, file_type: FileType = FileType.CSV, rows: int | None = None
) -> DataFile:
    """The generated file of `rows` rows (default `--rows`)."""
    return prepare(DataSpec(rows or options.rows, options.seed, variant), file_type, options.data_folder)


def _outcome(key: str, rows: int, options: Options) -> Outcome:
    return Outcome(key, f"{TITLES[key]}, {options.workers} worker{'s' if options.workers > 1 else ''}", rows)


def _unavailable(key: str, options: Options, why: str) -> Outcome:
    outcome = _outcome(key, options.rows, options)
    outcome.unavailable = why
    return outcome


def postgres_updates(run: Run, keys: list[str]) -> list[Outcome]:
    """a, b, c on one database, in order; b and c need the first import, done unreported when a is not chosen."""
    options, rows = run.options, run.options.rows
    steps = [("b", Variant.BASE, "recordsSkipped"), ("c", Variant.REPRICED, "recordsUpdated")]
    outcomes: list[Outcome] = []
    # Every file written before the first import: one written between two imports kept the service idle
    # for longer than IMPORTER_AUTH_CACHE_SECONDS, so that the next import's first poll paid a password
    # check (argon2id, 64 MiB) inside that import's measured window.
    files = {key: _file(options, variant) for key, variant, _ in steps if key in keys}
    with run.postgres_redis("pg-updates", options.workers) as deployment:
        first = _outcome("a", rows, options)
        measure(deployment, first, _file(options), options.timeout, Expectation({"recordsCreated": rows}))
        if "a" in keys:
            outcomes.append(first)
        previous = first
        for key, _, counter in steps:
            if key not in keys:
                continue
            if not previous.completed:
                outcomes.append(_unavailable(key, options, f"not run: {previous.key} did not complete"))
                continue
            previous = _outcome(key, rows, options)
            outcomes.append(measure(deployment, previous, files[key], options.timeout, Expectation({counter: rows})))
    return outcomes


def _contract_file(run: Run) -> DataFile:
    path = run.folder / "contract-3-rows.csv"
    with path.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(CONTRACT_HEADER)
        writer.writerows(CONTRACT_ROWS)
    expected = ExpectedContent()
    for row in CONTRACT_ROWS:
        cells = dict(zip(CONTRACT_HEADER, row, strict=True))
        expected.add_row([cells.get(name, "") for name in HEADER])
    return DataFile(path, FileType.CSV, len(CONTRACT_ROWS), expected.result())


def _contract(deployment: Deployment, run: Run) -> Outcome:
    """The first import of a cold service (timed), then the same file again on the warm service (noted)."""
    data, outcome = _contract_file(run), Outcome("h", TITLES["h"], len(CONTRACT_ROWS))
    expectation = Expectation({"recordsCreated": 3}, CONTRACT_CATALOG, "&siteId=-3&userId=-2")
    measure(deployment, outcome, data, run.options.timeout, expectation)
    again = run_import(deployment.client, data, run.options.timeout, CONTRACT_CATALOG, "&siteId=-3&userId=-2")
    outcome.note = f"again, warm: {again.seconds:.2f} s {again.state}"
    return outcome


def embedded(run: Run, keys: list[str]) -> list[Outcome]:
    """h (first, on a cold service) and d, on one embedded deployment."""
    options = run.options
    outcomes: list[Outcome] = []
    with run.embedded("embedded", options.workers) as deployment:
        if "h" in keys:
            outcomes.append(_contract(deployment, run))
        if "d" in keys:
            outcome = _outcome("d", options.rows, options)
            expectation = Expectation({"recordsCreated": options.rows})
            outcomes.append(measure(deployment, outcome, _file(options), options.timeout, expectation))
    return outcomes


def xlsx(run: Run, keys: list[str]) -> list[Outcome]:
    """e; i, the same rows as CSV, what e would take if reading the sheet cost nothing (on 2 cores, the
    sheet's reader and the chunks share them); j, the same rows with their texts in a shared-strings
    table, as Excel writes them. Each on a deployment of its own."""
    options = run.options
    outcomes: list[Outcome] = []
    forms = (
        ("e", FileType.XLSX, "pg-xlsx"),
        ("i", FileType.CSV, "pg-xlsx-as-csv"),
        ("j", FileType.XLSX_SHARED, "pg-xlsx-shared"),
    )
    for key, file_type, folder in forms:
        if key not in keys:
            continue
        data = _file(options, file_type=file_type, rows=options.xlsx_rows)
        with run.postgres_redis(folder, options.workers) as deployment:
            outcome = _outcome(key, data.rows, options)
            expectation = Expectation({"recordsCreated": data.rows})
            outcomes.append(measure(deployment, outcome, data, options.timeout, expectation))
    return outcomes


def _on_error_accepted(client: httpx.Client, run: Run) -> bool:
    """A 100-row probe with one invalid product row: does `onError=skip` complete, skipping just that row?"""
    rows = list(generate_rows(DataSpec(100, run.options.seed)))
    rows[0][Col.PRICE] = INVALID_PRICE
    probe = write_csv(rows, run.folder / "on-error-probe.csv")
    finished = run_import(client, probe, 120.0, PROBE_CATALOG, "&onError=skip")
    return finished.state == "COMPLETED" and finished.status.get("onError") == "skip"


def on_error_skip(run: Run, keys: list[str]) -> list[Outcome]:
    options = run.options
    with run.postgres_redis("pg-onerror", options.workers) as deployment:
        if not _on_error_accepted(deployment.client, run):
            return [_unavailable("f", options, ON_ERROR_NOT_AVAILABLE)]
        data = _file(options, Variant.INVALID)
        stored = data.expected.products + data.expected.skus
        counts = {"recordsCreated": stored, "recordsFailed": data.rows - stored}
        expectation = Expectation(counts, query="&onError=skip")
        return [measure(deployment, _outcome("f", options.rows, options), data, options.timeout, expectation)]


def polling(run: Run, keys: list[str]) -> list[Outcome]:
    """g and k: a first import while `pollers` clients GET its statusUrl every `poll_interval` s for
    `poll_seconds` s, on PostgreSQL + Redis (g) and on the embedded default (k), each a deployment of its own."""
    outcomes: list[Outcome] = []
    if "g" in keys:
        with run.postgres_redis("pg-polling", run.options.workers, UNLIMITED) as deployment:
            outcomes.append(_polled("g", deployment, run.options))
    if "k" in keys:
        with run.embedded("embedded-polling", run.options.workers, UNLIMITED) as deployment:
            outcomes.append(_polled("k", deployment, run.options))
    return outcomes


def _polled(key: str, deployment: Deployment, options: Options) -> Outcome:
    data = _file(options)
    loads: list[PollingLoad] = []
    base_url = deployment.service.base_url

    def start_load(submitted: Submitted) -> None:
        arguments = (options.pollers, options.poll_interval, options.poll_seconds)
        loads.append(PollingLoad(base_url, submitted.status_url, *arguments))
        loads[-1].start()

    outcome = _outcome(key, data.rows, options)
    measure(deployment, outcome, data, options.timeout, Expectation({"recordsCreated": data.rows}), start_load)
    if loads:
        outcome.polling = loads[0].join()
    return outcome


def beside_a_large_import(run: Run, keys: list[str]) -> list[Outcome]:
    """l and m: the contract's 3 rows posted once a first import of `--rows` has planned (its chunks queued),
    on PostgreSQL + Redis (l) and on the embedded default (m), each a deployment of its own: how long a person's
    small import waits behind a large one."""
    outcomes: list[Outcome] = []
    if "l" in keys:
        with run.postgres_redis("pg-beside", run.options.workers) as deployment:
            outcomes.append(_beside("l", deployment, run))
    if "m" in keys:
        with run.embedded("embedded-beside", run.options.workers) as deployment:
            outcomes.append(_beside("m", deployment, run))
    return outcomes


def _beside(key: str, deployment: Deployment, run: Run) -> Outcome:
    options, client = run.options, deployment.client
    large, small = _file(options), _contract_file(run)
    outcome = Outcome(key, TITLES[key], len(CONTRACT_ROWS))
    submitted = submit(client, large)
    deadline = submitted.started + options.timeout
    while (status := client.get(submitted.status_url).json())["totalRecords"] == 0 and time.monotonic() < deadline:
        if status["status"] in ("FAILED", "CANCELLED"):
            break
        time.sleep(0.05)
    finished = run_import(client, small, options.timeout, CONTRACT_CATALOG, "&siteId=-3&userId=-2")
    meanwhile = client.get(submitted.status_url).json()
    ended = wait_for_end(client, submitted, options.timeout)
    outcome.status, outcome.seconds = finished.status, finished.seconds
    stored = stored_content(deployment.database_url, CONTRACT_CATALOG) if finished.state == "COMPLETED" else None
    outcome.verdict = judge(small.expected, stored, finished.status, {"recordsCreated": len(CONTRACT_ROWS)})
    if ended.state != "COMPLETED":
        outcome.verdict = Verdict(False, (*outcome.verdict.reasons, f"the large import ended {ended.state}"))
    outcome.note = (
        f"the large import ({large.rows:,} rows) at {meanwhile['percentComplete']}% when it ended; "
        f"it took {ended.seconds:.1f} s"
    )
    return outcome


Scenarios = Callable[[Run, list[str]], list[Outcome]]
GROUPS: tuple[tuple[str, Scenarios], ...] = (
    ("abc", postgres_updates),
    ("hd", embedded),
    ("eij", xlsx),
    ("f", on_error_skip),
    ("gk", polling),
    ("lm", beside_a_large_import),
)


def run_scenarios(run: Run, keys: list[str]) -> list[Outcome]:
    outcomes: list[Outcome] = []
    for members, scenarios in GROUPS:
        chosen = [key for key in keys if key in members]
        if chosen:
            outcomes += scenarios(run, chosen)
    return sorted(outcomes, key=lambda outcome: ALL.index(outcome.key))
