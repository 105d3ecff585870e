"""A sheet's columns are told as its user sees them: blank and repeated headers keep their columns, a value
beyond the last header is named, and a value past the column limit is the row's problem, never dropped."""

from __future__ import annotations

import io
from dataclasses import replace
from pathlib import Path

import pytest
from openpyxl import load_workbook
from sqlmodel import col, select

from app.db import Database
from app.importing.formats import FileType
from app.jobs import ImportProblem, ImportState
from app.runtime import Runtime
from tests.factories import CONTRACT_HEADER, make_csv, make_xlsx, product_row
from tests.integration.pipeline_driver import RecordingQueue, drain, job, make_principal, make_runtime, submit

Problem = tuple[str, str | None, str | None, str]


def imported(runtime: Runtime, queue: RecordingQueue, body: bytes, file_type: FileType) -> tuple[str, list[Problem]]:
    """The import's state and its problems: kind, column, value, message."""
    job_id = submit(runtime, make_principal(runtime.db, f"ops{file_type.value.lower()}"), body, file_type=file_type)
    drain(runtime, queue)
    with runtime.db.read() as session:
        found = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.id))
        )
        problems = [(p.kind, p.column, p.field_value, p.message) for p in found if p.severity == "error"]
    return job(runtime, job_id).state, problems


def as_csv_and_as_sheet(
    database: Database, tmp_path: Path, rows: list[list[str]], header: list[str]
) -> dict[FileType, tuple[str, list[Problem]]]:
    runtime, queue = make_runtime(database, tmp_path)
    return {
        file_type: imported(runtime, queue, body, file_type)
        for file_type, body in ((FileType.CSV, make_csv(rows, header)), (FileType.XLSX, make_xlsx(rows, header)))
    }


def test_blank_header_cells_keep_the_columns_after_them_where_they_are(database: Database, tmp_path: Path) -> None:
    header = ["", "", *CONTRACT_HEADER]
    rows = [["", "", *product_row("1")], ["", "", *product_row("2", price="twelve")]]

    results = as_csv_and_as_sheet(database, tmp_path, rows, header)

    # Retail Price is the eighth header, in column J after the two blank ones
    message = "Retail Price must be a decimal number, got 'twelve'"
    assert results[FileType.XLSX] == results[FileType.CSV] == (ImportState.FAILED, [("record", "J", "twelve", message)])


def test_a_value_under_a_blank_header_or_beyond_the_last_is_named(database: Database, tmp_path: Path) -> None:
    header = [*CONTRACT_HEADER[:3], "", *CONTRACT_HEADER[3:]]
    rows = [
        [*product_row("1")[:3], "", *product_row("1")[3:]],
        [*product_row("2")[:3], "", *product_row("2")[3:], "", "x"],
    ]
    rows.append([*product_row("3")[:3], "kept?", *product_row("3")[3:]])

    results = as_csv_and_as_sheet(database, tmp_path, rows, header)

    assert results[FileType.XLSX] == results[FileType.CSV]
    assert results[FileType.XLSX] == (
        ImportState.FAILED,
        [
            ("record", "N", "x", "a value stands in column N, beyond the last header"),
            ("record", "D", "kept?", "a value stands in column D, under an empty header"),
        ],
    )


def test_a_header_named_twice_is_refused_as_in_a_csv(database: Database, tmp_path: Path) -> None:
    header = [*CONTRACT_HEADER, " product title "]
    rows = [[*product_row("1"), "Another title"]]

    results = as_csv_and_as_sheet(database, tmp_path, rows, header)

    message = "header 'product title' appears twice (also in column C)"
    assert (
        results[FileType.XLSX]
        == results[FileType.CSV]
        == (ImportState.FAILED, [("header", "L", " product title ", message)])
    )


def with_value_at(body: bytes, row: int, column: int, value: str) -> bytes:
    book = load_workbook(io.BytesIO(body))
    assert book.active is not None
    book.active.cell(row=row, column=column, value=value)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


@pytest.mark.parametrize("column", [21, 16384])
def test_a_value_past_the_column_limit_is_the_rows_problem(database: Database, tmp_path: Path, column: int) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    runtime = replace(runtime, settings=replace(runtime.settings, max_columns=20))
    body = with_value_at(make_xlsx([product_row("1"), product_row("2"), product_row("3")]), 3, column, "far")

    state, problems = imported(runtime, queue, body, FileType.XLSX)

    # the sheet's third row (product 2) stands out; its cells up to column XFD are never filled in
    message = "a value stands past column T, beyond the last header and the limit of 20 columns (IMPORTER_MAX_COLUMNS)"
    assert (state, problems) == (ImportState.FAILED, [("record", "U", None, message)])


def test_a_sheet_header_past_the_column_limit_is_refused_naming_the_limit(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    runtime = replace(runtime, settings=replace(runtime.settings, max_columns=20))
    body = with_value_at(make_xlsx([product_row("1")]), 1, 16384, "Far header")

    state, _ = imported(runtime, queue, body, FileType.XLSX)

    message = "the header has more than 20 columns, the limit (IMPORTER_MAX_COLUMNS)"
    assert (state, job(runtime, 1).message) == (ImportState.FAILED, f"Error in the uploaded file: {message}")


@pytest.mark.parametrize("extra", [[], ["Foo"]])
def test_a_sheet_of_a_header_alone_is_read_as_a_csv_of_one(
    database: Database, tmp_path: Path, extra: list[str]
) -> None:
    results = as_csv_and_as_sheet(database, tmp_path, [], [*CONTRACT_HEADER, *extra])

    assert results[FileType.XLSX] == results[FileType.CSV]
    unknown = [("header", "L", "Foo", "unknown header 'Foo'")]
    assert results[FileType.XLSX] == ((ImportState.FAILED, unknown) if extra else (ImportState.COMPLETED, []))
