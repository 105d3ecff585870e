"""XLSX readers side by side: the same generated sheets read by openpyxl (read-only), python-calamine and
the service's own streaming parse of the sheet XML, each in a fresh process, for rows per second and
peak memory at two sizes, so that memory growing with the rows shows.

python-calamine is not a dependency of the service; `pip install -e '.[bench]'` brings it. Without it
its lines say so.
"""

from __future__ import annotations

import importlib.util
import multiprocessing
import time
from collections.abc import Callable
from dataclasses import dataclass
from multiprocessing.connection import Connection
from pathlib import Path

from bench.data import DataSpec
from bench.files import FileType, prepare

# The service's reader scans plain rows in compiled code where its module was built (sheet_rows.COMPILED).
READERS = ("openpyxl read-only", "python-calamine", "service (compiled scan + expat, streaming)")
_FORMS = {FileType.XLSX: "inline text", FileType.XLSX_SHARED: "shared strings"}


def _openpyxl(path: Path) -> int:
    from openpyxl import load_workbook

    workbook = load_workbook(path, read_only=True, data_only=True)
    rows = sum(1 for _ in workbook.worksheets[0].iter_rows(values_only=True))
    workbook.close()
    return rows


def _calamine(path: Path) -> int:
    from python_calamine import CalamineWorkbook

    sheet = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0)
    return sum(1 for _ in sheet.iter_rows())


def _service(path: Path) -> int:
    from app.heap import collection_paused
    from app.importing.readers.sheet_rows import COMPILED
    from app.importing.readers.workbook import iter_sheet

    if not COMPILED:
        raise RuntimeError("the service's compiled row scan is not built: `pip install -e .` builds it")
    with path.open("rb") as source, collection_paused():
        return sum(1 for _ in iter_sheet(source))


_READ: dict[str, Callable[[Path], int]] = dict(zip(READERS, (_openpyxl, _calamine, _service), strict=True))


def _resident_kib(field: str) -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1])
    return 0


def _measure(reader: str, path: Path, results: Connection) -> None:
    """In a fresh process: import the reader, note the memory, read every row, note the peak."""
    read = _READ[reader]
    if reader == "openpyxl read-only":
        import openpyxl  # noqa: F401  (imported before the baseline, like the others' modules)
    elif reader == "python-calamine":
        import python_calamine  # noqa: F401
    else:
        import app.importing.readers.workbook  # noqa: F401
    before = _resident_kib("VmRSS")
    began = time.perf_counter()
    rows = read(path)
    results.send((rows, time.perf_counter() - began, before, _resident_kib("VmHWM")))


@dataclass(frozen=True)
class ReaderRun:
    reader: str
    rows: int  # data rows on the sheet
    seconds: float | None  # None: the reader is not installed
    peak_mb: float = 0.0  # peak RSS of the reading process
    growth_mb: float = 0.0  # peak RSS minus RSS once the reader's module was imported
    form: FileType = FileType.XLSX  # text inline, or in a shared-strings table

    @property
    def per_second(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def _installed(reader: str) -> bool:
    return reader != "python-calamine" or importlib.util.find_spec("python_calamine") is not None


def _run(reader: str, path: Path, rows: int, form: FileType) -> ReaderRun:
    if not _installed(reader):
        return ReaderRun(reader, rows, None, form=form)
    context = multiprocessing.get_context("spawn")
    receiving, sending = context.Pipe(duplex=False)
    process = context.Process(target=_measure, args=(reader, path, sending))
    process.start()
    sending.close()
    read_rows, seconds, before, peak = receiving.recv()
    process.join()
    if read_rows != rows + 1:  # the header row too
        raise RuntimeError(f"{reader} read {read_rows} rows of {path.name}, expected {rows + 1}")
    return ReaderRun(reader, rows, seconds, peak / 1024, (peak - before) / 1024, form)


def measure_readers(rows: int, seed: int, folder: Path) -> list[ReaderRun]:
    """Every reader on a sheet of rows/10 and of rows rows (the bench's generated products), in both forms:
    text inline in the sheet (what the scenarios upload) and in a shared-strings table (as Excel writes)."""
    runs = []
    for form in (FileType.XLSX, FileType.XLSX_SHARED):
        for size in (max(1, rows // 10), rows):
            path = prepare(DataSpec(size, seed), form, folder).path
            runs += [_run(reader, path, size, form) for reader in READERS]
    return runs


def render_readers(runs: list[ReaderRun]) -> str:
    lines = [
        "| sheet | reader | rows | seconds | rows/s | peak RSS MB | growth while reading MB |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        if run.seconds is None:
            lines.append(
                f"| {_FORMS[run.form]} | {run.reader} | {run.rows:,} | not installed (pip install -e '.[bench]') "
                "| | | |"
            )
            continue
        lines.append(
            f"| {_FORMS[run.form]} | {run.reader} | {run.rows:,} | {run.seconds:.2f} | {run.per_second / 1000:.1f}k | "
            f"{run.peak_mb:.0f} | {run.growth_mb:.0f} |"
        )
    return "\n".join(lines)
