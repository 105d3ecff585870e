"""The failed-rows file: the invalid rows of an upload in its own format and columns, plus an Error column.

Source rows and problems are both read in row order and joined as they stream, so memory stays
flat however many rows failed. Cells that a spreadsheet would run as a formula are neutralised
with a leading apostrophe, which every reader of this service drops again, and every cell of a CSV is
quoted, so that a spreadsheet whose list separator is another (a ';', a tab) cannot cut a cell in two
and start the second half with a formula.
"""

from __future__ import annotations

import csv
import io
import json
import re
import tempfile
import zipfile
from collections.abc import Iterator
from typing import IO

from openpyxl import Workbook
from sqlmodel import col, select

from app.importing.formats import FileType
from app.importing.header import ERROR_HEADER, resolve_header
from app.importing.normalized import read_normalized
from app.importing.readers.delimited import SourceRow, read_records
from app.jobs import ImportChunk, ImportProblem, ImportStatus, ProblemKind, Severity
from app.runtime import Runtime
from specifications import ImportType, find_specification

ERROR_COLUMN = ERROR_HEADER
_PLAIN_NUMBER = re.compile(r"^[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?$")
_BATCH = 5000


def neutralise(cell: str) -> str:
    """A cell a spreadsheet would run as a formula, behind an apostrophe: one starting with = + - @, or with a
    tab or carriage return (which some programs skip before reading a formula); a plain number is left be."""
    if cell[:1] in ("=", "+", "-", "@", "\t", "\r") and not _PLAIN_NUMBER.match(cell):
        return "'" + cell
    return cell


def _failed_rows(runtime: Runtime, job_id: int) -> Iterator[tuple[int, str]]:
    """(row number, its messages joined) for every row with an error, in row order, a batch at a time."""
    after = 0
    while True:
        with runtime.db.read() as session:
            batch = session.exec(
                select(ImportProblem.row_number, ImportProblem.message)
                .where(
                    ImportProblem.job_id == job_id,
                    ImportProblem.kind == ProblemKind.RECORD.value,
                    ImportProblem.severity == Severity.ERROR.value,
                    col(ImportProblem.row_number) > after,
                )
                .order_by(col(ImportProblem.row_number), col(ImportProblem.id))
                .limit(_BATCH)
            ).all()
        if not batch:
            return
        rows: dict[int, list[str]] = {}
        for row, message in batch:
            if row is not None:
                rows.setdefault(row, []).append(message)
        last = max(rows)
        if len(batch) == _BATCH and len(rows) > 1:  # the last row may go on in the next batch: take it whole then
            rows.pop(last, None)
            last = last - 1
        yield from ((row, "; ".join(messages)) for row, messages in sorted(rows.items()))
        after = last


def _rows_keys(runtime: Runtime, job: ImportStatus) -> list[str]:
    """The files of a job's normalized rows in row order: the job's, then any of the last part of a sheet."""
    with runtime.db.read() as session:
        keys = session.execute(
            select(col(ImportChunk.rows_key))
            .where(col(ImportChunk.job_id) == job.id, col(ImportChunk.rows_key).is_not(None))
            .order_by(col(ImportChunk.chunk_no))
        ).scalars()
        return [key for key in dict.fromkeys([job.rows_key, *keys]) if key is not None]


def _source_rows(runtime: Runtime, job: ImportStatus) -> Iterator[SourceRow]:
    if job.rows_key is not None:
        for key in _rows_keys(runtime, job):
            with runtime.storage.open(key) as stream:
                yield from read_normalized(stream)
        return
    with runtime.storage.open(job.upload_key) as stream:
        rows = read_records(
            stream, encoding=job.encoding or "utf-8", delimiter=job.delimiter or ",", first_row=1, skip_bom=True
        )
        next(rows, None)
        yield from rows


def _earlier_errors(job: ImportStatus) -> set[int]:
    """The Error column of an earlier failed-rows file the upload was (fixed and sent back as it is): this file's
    own Error column takes its place."""
    spec = find_specification(ImportType(job.import_type), job.specification)
    return set() if spec is None else set(resolve_header(spec, json.loads(job.header or "[]")).ignored)


def _header(job: ImportStatus) -> list[str]:
    earlier = _earlier_errors(job)
    names = json.loads(job.header or "[]")
    return [name for index, name in enumerate(names) if index not in earlier] + [ERROR_COLUMN]


def _numbered(runtime: Runtime, job: ImportStatus) -> Iterator[tuple[int, list[str]]]:
    """(row number, cells with the Error column) of every failed row, in row order."""
    assert job.id is not None
    width = len(json.loads(job.header or "[]"))
    earlier = _earlier_errors(job)
    failed = _failed_rows(runtime, job.id)
    wanted = next(failed, None)
    for row in _source_rows(runtime, job):
        while wanted is not None and wanted[0] < row.number:
            wanted = next(failed, None)
        if wanted is None:
            return
        if wanted[0] == row.number:
            cells = row.cells + [""] * (width - len(row.cells))
            kept = [neutralise(cell) for index, cell in enumerate(cells) if index not in earlier]
            # Under the Error header, even when the row has values past the last header (they follow it).
            place = width - len(earlier)
            yield row.number, [*kept[:place], wanted[1], *kept[place:]]


def _joined(runtime: Runtime, job: ImportStatus) -> Iterator[list[str]]:
    yield _header(job)
    for _, cells in _numbered(runtime, job):
        yield cells


def failed_rows_zip(runtime: Runtime, job: ImportStatus) -> Iterator[bytes]:
    """For a ZIP import: a ZIP holding, for each file with failed rows, a CSV of them to fix.

    Rows come in row order and a ZIP's files hold consecutive row numbers, so each file's entry
    is written whole before the next one starts: memory holds one row.
    """
    header = _header(job)
    files = sorted(json.loads(job.files or "[]"), key=lambda file: int(file["offset"]))
    with tempfile.TemporaryFile() as spool:
        with zipfile.ZipFile(spool, "w", zipfile.ZIP_DEFLATED) as archive:
            current: str | None = None
            entry: IO[bytes] | None = None
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\r\n", quoting=csv.QUOTE_ALL)
            for number, cells in _numbered(runtime, job):
                name = next((str(f["name"]) for f in reversed(files) if int(f["offset"]) < number), "rows")
                if name != current:
                    if entry is not None:
                        entry.close()
                    current, entry = name, archive.open(f"{name.rsplit('.', 1)[0]} failed rows.csv", "w")
                    writer.writerow(header)
                writer.writerow(cells)
                assert entry is not None
                entry.write(text.getvalue().encode("utf-8"))
                text.seek(0)
                text.truncate()
            if entry is not None:
                entry.close()
        spool.seek(0)
        yield from iter(lambda: spool.read(1 << 16), b"")


def failed_rows_csv(runtime: Runtime, job: ImportStatus) -> Iterator[bytes]:
    line = io.StringIO()
    writer = csv.writer(line, delimiter=job.delimiter or ",", lineterminator="\r\n", quoting=csv.QUOTE_ALL)
    for cells in _joined(runtime, job):
        writer.writerow(cells)
        yield line.getvalue().encode("utf-8")
        line.seek(0)
        line.truncate()


def failed_rows_xlsx(runtime: Runtime, job: ImportStatus) -> Iterator[bytes]:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Failed rows")
    for cells in _joined(runtime, job):
        sheet.append(cells)
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        yield from iter(lambda: spool.read(1 << 16), b"")


def failed_rows_json(runtime: Runtime, job: ImportStatus, lines: bool) -> Iterator[bytes]:
    """JSONL (an object per line) or a JSON array, the values as text, empty cells left out."""
    rows = _joined(runtime, job)
    header = next(rows)
    if not lines:
        yield b"["
    for number, cells in enumerate(rows):
        text = json.dumps(
            {name: value for name, value in zip(header, cells, strict=False) if value}, ensure_ascii=False
        )
        if lines:
            yield (text + "\n").encode("utf-8")
        else:
            yield (("\n" if number == 0 else ",\n") + text).encode("utf-8")
    if not lines:
        yield b"\n]\n"


def failed_rows_file(runtime: Runtime, job: ImportStatus) -> tuple[str, str, Iterator[bytes]]:
    """(media type, file name, body) of the failed-rows file of a job."""
    kind = FileType(job.file_type)
    if kind is FileType.ZIP:
        return "application/zip", f"import-{job.id}-failed-rows.zip", failed_rows_zip(runtime, job)
    if kind in (FileType.JSON, FileType.JSONL):
        suffix = "jsonl" if kind is FileType.JSONL else "json"
        media = "application/x-ndjson" if kind is FileType.JSONL else "application/json"
        return media, f"import-{job.id}-failed-rows.{suffix}", failed_rows_json(runtime, job, kind is FileType.JSONL)
    if kind is FileType.XLSX:
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return media, f"import-{job.id}-failed-rows.xlsx", failed_rows_xlsx(runtime, job)
    return "text/csv; charset=utf-8", f"import-{job.id}-failed-rows.csv", failed_rows_csv(runtime, job)
