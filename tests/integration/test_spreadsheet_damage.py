"""XLSX as spreadsheets leave it: numbers where text was meant, serial dates, formulas, phantom rows."""

from __future__ import annotations

import io
import re
import time
import zipfile
from pathlib import Path

from openpyxl import Workbook
from sqlmodel import select

from app.db import Database
from app.importing.formats import FileType
from app.jobs import ImportProblem, ImportState, OnError
from app.service import read_record
from specifications import ImportType
from tests.factories import rewrite_sheet
from tests.integration.pipeline_driver import drain, job, make_principal, make_runtime, submit

PRODUCT_HEADER = ["SKU Number", "Product Title", "Product Description", "Retail Price", "UPC", "Available Quantity",
                  "SKU Indicator"]  # fmt: skip


def workbook_bytes(rows: list[list[object]], header: list[str]) -> bytes:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(header)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def edit_sheet(data: bytes, edit: dict[str, str]) -> bytes:
    def change(content: bytes) -> bytes:
        text = content.decode()
        for pattern, replacement in edit.items():
            text = re.sub(pattern, replacement, text, count=1)
        return text.encode()

    return rewrite_sheet(data, change)


def test_numbers_dates_flags_and_formulas_read_as_their_columns_mean(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    rows: list[list[object]] = [
        [2007.0, "Spreadsheet", "typed", 3.5, 12.0, 300.0, False],
        [1.2e1, "Scientific", "twelve", 1, 7, 1, None],
        [30, "Formula", "cached", 0, 8, 2, None],
    ]
    body = edit_sheet(
        workbook_bytes(rows, PRODUCT_HEADER), {r'<c r="D4"[^>]*>.*?</c>': '<c r="D4"><f>1.5*2</f><v>3</v></c>'}
    )

    job_id = submit(runtime, principal, body, file_type=FileType.XLSX)
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED, job(runtime, job_id).message
    first = read_record(runtime, ImportType.PRODUCT, ["2007"], -2, -3)
    assert (first["upc"], first["retail_price"], first["available_quantity"]) == ("12", "3.5", 300)
    assert read_record(runtime, ImportType.PRODUCT, ["12"], -2, -3)["product_title"] == "Scientific"
    assert read_record(runtime, ImportType.PRODUCT, ["30"], -2, -3)["retail_price"] == "3"


def test_a_formula_with_no_saved_value_is_its_rows_problem_not_an_empty_cell(
    database: Database, tmp_path: Path
) -> None:
    # What openpyxl and other libraries write: the formula alone, for a spreadsheet program to compute.
    runtime, queue = make_runtime(database, tmp_path)
    rows: list[list[object]] = [["1", "Saved", "d", 3.5, '=A2&"x"', 1], ["2", "Unsaved", "d", 4.5, '=A3&"x"', 2]]
    body = edit_sheet(
        workbook_bytes(rows, PRODUCT_HEADER),
        {r'<c r="E2"[^>]*>.*?</c>': '<c r="E2" t="str"><f>A2&amp;"x"</f><v>1x</v></c>'},
    )

    job_id = submit(runtime, make_principal(database), body, file_type=FileType.XLSX, on_error=OnError.SKIP)
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED
    assert read_record(runtime, ImportType.PRODUCT, ["1"], -2, -3)["upc"] == "1x"
    with database.read() as session:
        problems = session.exec(select(ImportProblem).where(ImportProblem.severity == "error")).all()
    assert [(p.row_number, p.column, p.field_name, p.message) for p in problems] == [
        (3, "E", "UPC", "the cell in column E holds a formula with no saved value: open and save the file in a "
            "spreadsheet program, which computes it, or paste the values"),
    ]  # fmt: skip


def test_bare_serial_dates_in_a_date_column_become_dates(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    body = workbook_bytes(
        [["C1", "Root", 45352, 45352.75]], ["Category Id", "Category Name", "Active Start Date", "Active End Date"]
    )

    job_id = submit(runtime, make_principal(database), body, file_type=FileType.XLSX, import_type=ImportType.CATEGORY)
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED
    category = read_record(runtime, ImportType.CATEGORY, ["C1"], -2, 1)
    assert str(category["active_start_date"]).startswith("2024-03-01 00:00:00")
    assert str(category["active_end_date"]).startswith("2024-03-01 18:00:00")


def test_a_sheet_that_claims_a_million_rows_is_read_to_its_last_real_row(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    body = edit_sheet(
        workbook_bytes([["P1", "Phantom", "rows", 1]], PRODUCT_HEADER[:4]),
        {r'<dimension ref="[^"]*"\s*/>': '<dimension ref="A1:XFD1048576"/>'},
    )

    assert b'<dimension ref="A1:XFD1048576"/>' in zipfile.ZipFile(io.BytesIO(body)).read("xl/worksheets/sheet1.xml")
    started = time.monotonic()
    job_id = submit(runtime, make_principal(database), body, file_type=FileType.XLSX)
    drain(runtime, queue)

    assert (job(runtime, job_id).state, job(runtime, job_id).total_records) == (ImportState.COMPLETED, 1)
    assert time.monotonic() - started < 10
