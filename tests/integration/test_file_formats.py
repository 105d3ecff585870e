"""CSV, XLSX, JSON and JSONL of the same data give the same records, value for value and type for type."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlmodel import col, select

from app.db import Database
from app.importing.formats import FileType
from app.importing.planning import ReadOptions
from app.jobs import ImportProblem, ImportState
from app.service import list_records, read_record
from specifications import ImportType
from tests.factories import CONTRACT_HEADER, make_csv, make_json, make_jsonl, make_xlsx, make_zip, product_row
from tests.integration.pipeline_driver import drain, job, make_principal, make_runtime, submit

HEADER = [*CONTRACT_HEADER, "options[Size]"]
ROWS = [
    [*product_row("0100", price="10.55", **{"UPC": "00123"}), ""],
    [*product_row("0100-S", price="11", **{"SKU Indicator": "Y", "Product Description": ""}), "S"],
    [*product_row("200", title="Çà et là — ünïcode", **{"Available Quantity": "0"}), ""],
]


def typed_for_spreadsheets(row: list[str]) -> list[object]:
    """What a spreadsheet or a JSON writer keeps: numbers as numbers, where they look like numbers."""
    typed: list[object] = list(row)
    for index in (7, 9):  # Retail Price, Available Quantity
        typed[index] = float(row[index]) if "." in row[index] else int(row[index])
    return typed


BODIES = {
    FileType.CSV: make_csv(ROWS, header=HEADER),
    FileType.XLSX: make_xlsx([typed_for_spreadsheets(row) for row in ROWS], header=HEADER),
    FileType.JSON: make_json([typed_for_spreadsheets(row) for row in ROWS], header=HEADER),
    FileType.JSONL: make_jsonl(ROWS, header=HEADER),
}


def comparable(items: list[dict[str, object]]) -> list[dict[str, object]]:
    noise = {"catalog_id", "created_job_id", "updated_job_id", "created_at", "updated_at"}
    return [
        {k: v for k, v in item.items() if k not in noise} | {"skus": comparable(item["skus"]) if "skus" in item else []}  # type: ignore[arg-type]
        for item in items
    ]


def test_every_format_gives_the_same_products(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    results = {}
    for catalog, (file_type, body) in enumerate(BODIES.items(), start=1):
        job_id = submit(runtime, principal, body, file_type=file_type, catalog_id=catalog)
        drain(runtime, queue)
        assert job(runtime, job_id).state == ImportState.COMPLETED, file_type
        results[file_type] = comparable(list_records(runtime, ImportType.PRODUCT, catalog, 1, 1, 100)[0])

    assert results[FileType.XLSX] == results[FileType.CSV]
    assert results[FileType.JSON] == results[FileType.CSV]
    assert results[FileType.JSONL] == results[FileType.CSV]
    first = results[FileType.CSV][0]
    assert (first["sku_number"], first["upc"], first["retail_price"]) == ("0100", "00123", "10.55")
    assert first["skus"][0]["retail_price"] == "11"  # type: ignore[index]


@pytest.mark.parametrize("file_type", [FileType.JSON, FileType.JSONL])
def test_a_malformed_json_record_is_a_problem_of_that_record(
    database: Database, tmp_path: Path, file_type: FileType
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    good = make_jsonl([product_row("1"), product_row("2")]).decode().splitlines()
    expected: list[tuple[int, str | None, str]]  # row, the field it names, message
    if file_type is FileType.JSONL:  # numbered by line
        body = "\n".join([good[0], '{"SKU Number": "x", oops}', good[1]]).encode()
        expected = [(2, None, "line 2 is not valid JSON: Expecting property name enclosed in double quotes")]
    else:  # numbered by place in the array, the first record on line 2 being record 1
        broken = [good[0], '{"SKU Number": ["not", "text"]}', '{"SKU Number": "x", oops}', good[1]]
        body = ("[\n" + ",\n".join(broken[:2]) + ",\n" + ", ".join(broken[2:]) + "\n]").encode()
        expected = [
            (2, "SKU Number", "'SKU Number' must be text, a number, true/false or null, not a list or object"),
            (
                3,
                None,
                "record 3, starting on line 4, is not valid JSON: Expecting property name enclosed in double quotes",
            ),
        ]

    job_id = submit(runtime, make_principal(database), body, file_type=file_type)
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.FAILED
    with database.read() as session:
        found = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.row_number))
        ).all()
    assert [(p.row_number, p.field_name, p.message) for p in found] == expected


def test_a_given_delimiter_encoding_and_sheet_are_used(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    body = make_csv([product_row("p;1", title="Crème")], delimiter="|").decode().encode("cp1252")
    workbook = Workbook()
    first = workbook.active
    assert first is not None
    first.append(["not", "this", "sheet"])
    second = workbook.create_sheet("Products")
    for row in [CONTRACT_HEADER, product_row("s-1")]:
        second.append(row)
    data = io.BytesIO()
    workbook.save(data)

    csv_job = submit(runtime, principal, body, reading=ReadOptions("cp1252", "|", None))
    xlsx_job = submit(
        runtime, principal, data.getvalue(), file_type=FileType.XLSX, reading=ReadOptions(sheet_name="Products")
    )
    missing = submit(
        runtime, principal, data.getvalue(), file_type=FileType.XLSX, reading=ReadOptions(sheet_name="Nope")
    )
    drain(runtime, queue)

    assert (job(runtime, csv_job).state, job(runtime, csv_job).delimiter) == (ImportState.COMPLETED, "|")
    assert read_record(runtime, ImportType.PRODUCT, ["p;1"], -2, -3)["product_title"] == "Crème"
    assert job(runtime, xlsx_job).state == ImportState.COMPLETED
    assert "the workbook has no sheet named 'Nope'" in (job(runtime, missing).message or "")


def test_a_hidden_sheet_before_the_products_is_not_the_first_sheet_read(database: Database, tmp_path: Path) -> None:
    # A workbook whose first tab holds notes the user hid: the sheet they see first is the one imported.
    runtime, queue = make_runtime(database, tmp_path)
    workbook = Workbook()
    notes = workbook.active
    assert notes is not None
    notes.title, notes.sheet_state = "Notes", "hidden"
    notes.append(["read me", "first"])
    products = workbook.create_sheet("Products")
    for row in [CONTRACT_HEADER, product_row("s-1")]:
        products.append(row)
    data = io.BytesIO()
    workbook.save(data)

    principal = make_principal(database)
    seen = submit(runtime, principal, data.getvalue(), file_type=FileType.XLSX)
    asked = submit(
        runtime, principal, data.getvalue(), file_type=FileType.XLSX, reading=ReadOptions(sheet_name="Notes")
    )
    drain(runtime, queue)

    assert job(runtime, seen).state == ImportState.COMPLETED
    assert read_record(runtime, ImportType.PRODUCT, ["s-1"], -2, -3)["product_title"] == "Product s-1"
    assert job(runtime, asked).state == ImportState.FAILED  # a hidden sheet is read when named
    assert job(runtime, asked).message == "Error in the uploaded file: the header row has 6 problems"


@pytest.mark.parametrize("file_type", [FileType.JSON, FileType.JSONL])
def test_a_json_text_with_carriage_returns_imports_as_written(
    database: Database, tmp_path: Path, file_type: FileType
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    description = "first line\rsecond line"  # nothing else in it that CSV quotes
    other = 'first line\r\nsecond, with a comma and a "quote"'
    rows = [product_row("1", **{"Product Description": description}), product_row("2", title=other)]
    body = (make_json if file_type is FileType.JSON else make_jsonl)(rows)
    job_id = submit(runtime, make_principal(database), body, file_type=file_type)
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED
    assert read_record(runtime, ImportType.PRODUCT, ["1"], -2, -3)["product_description"] == description
    assert read_record(runtime, ImportType.PRODUCT, ["2"], -2, -3)["product_title"] == other


def test_a_csv_whose_lines_end_in_a_carriage_return_alone_is_refused_saying_how_to_save_it(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    body = make_csv([product_row("1"), product_row("2")]).replace(b"\r\n", b"\n").replace(b"\n", b"\r")

    job_id = submit(runtime, make_principal(database), body)
    drain(runtime, queue)

    assert (job(runtime, job_id).state, job(runtime, job_id).message) == (
        ImportState.FAILED,
        "Error in the uploaded file: row 1 holds a carriage return alone outside quotes (as 'CSV (Macintosh)' ends "
        "its lines): quote a value that holds one, or save the file with Windows or Unix line ends (CSV UTF-8)",
    )


def excel_sheet(rows: list[list[str]]) -> bytes:
    """A workbook whose cells hold these texts as Excel stores them: a number as the <v> Excel writes (up to 17
    significant digits), anything else as an inline string."""
    cells = []
    for number, row in enumerate(rows, start=1):
        row_cells = []
        for column, text in zip("ABCDEFGHIJK", row, strict=False):
            if text and text[0].isdigit() and text.replace(".", "", 1).replace("E+", "", 1).isdigit():
                row_cells.append(f'<c r="{column}{number}"><v>{text}</v></c>')
            elif text:
                row_cells.append(f'<c r="{column}{number}" t="inlineStr"><is><t>{text}</t></is></c>')
        cells.append(f'<row r="{number}">{"".join(row_cells)}</row>')
    main = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
    relations = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
    return make_zip({
        "xl/workbook.xml": f'<workbook xmlns="{main}" xmlns:r="{relations}"><sheets>'
        '<sheet name="Products" sheetId="1" r:id="rId1"/></sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
        'relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>',
        "xl/worksheets/sheet1.xml": f'<worksheet xmlns="{main}"><sheetData>{"".join(cells)}</sheetData></worksheet>',
    })  # fmt: skip


def test_numbers_of_an_excel_sheet_import_as_excel_shows_them_and_its_csv_export_says(
    database: Database, tmp_path: Path
) -> None:
    # A price computed in the sheet (=3*1.1) is stored to 17 digits and shown as 3.3; an 18-digit code typed
    # into a cell keeps Excel's 15 digits, and is shown as 123456789012345000. Excel's CSV export writes what
    # it shows, and the two files are the same data.
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    header = ["SKU Number", "Product Title", "Product Description", "Retail Price", "UPC"]
    stored = [["1.23456789012345E+17", "Computed", "d", "3.3000000000000003", "0.30000000000000004"]]
    shown = [["123456789012345000", "Computed", "d", "3.3", "0.3"]]

    sheet_job = submit(runtime, principal, excel_sheet([header, *stored]), file_type=FileType.XLSX, catalog_id=1)
    csv_job = submit(runtime, principal, make_csv(shown, header=header), catalog_id=2)
    drain(runtime, queue)

    assert (job(runtime, sheet_job).state, job(runtime, csv_job).state) == (ImportState.COMPLETED,) * 2
    from_sheet = comparable(list_records(runtime, ImportType.PRODUCT, 1, 1, 1, 100)[0])
    from_csv = comparable(list_records(runtime, ImportType.PRODUCT, 2, 1, 1, 100)[0])
    assert [(p["sku_number"], p["retail_price"], p["upc"]) for p in from_sheet] == [
        ("123456789012345000", "3.3", "0.3")
    ]
    assert from_sheet == from_csv


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-be"])
def test_a_csv_saved_as_unicode_text_is_refused_saying_how_to_save_it(
    database: Database, tmp_path: Path, encoding: str
) -> None:
    # Excel's "Unicode Text (*.txt)" writes UTF-16 with a byte order mark, tab-delimited.
    runtime, queue = make_runtime(database, tmp_path)
    text = make_csv([product_row("1")], delimiter="\t").decode().replace("\n", "\r\n")
    body = (b"\xfe\xff" if encoding == "utf-16-be" else b"") + text.encode(encoding)

    job_id = submit(runtime, make_principal(database), body)
    drain(runtime, queue)

    assert (job(runtime, job_id).state, job(runtime, job_id).message) == (
        ImportState.FAILED,
        "Error in the uploaded file: the file is UTF-16 text (as Excel's 'Unicode Text' saves it), which is not "
        "read: save it as 'CSV UTF-8' and upload that",
    )
