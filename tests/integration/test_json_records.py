"""A JSON or JSONL file is read as its user wrote it: each record numbered where its user finds it, every
number kept as it is written, and a record that cannot be stored as written is that record's problem."""

from __future__ import annotations

import json
import re
import uuid
from pathlib import Path

import pytest
from sqlmodel import col, select

from app.commerce.products import Product
from app.db import Database
from app.importing.formats import FileType
from app.jobs import ImportProblem, ImportState, OnError
from app.runtime import Runtime
from app.service import failed_rows, list_records
from specifications import ImportType
from tests.factories import CONTRACT_HEADER, make_csv, product_row
from tests.integration.pipeline_driver import RecordingQueue, drain, job, make_principal, make_runtime, submit

Problem = tuple[int | None, str | None, str | None, str]
KEYED = [FileType.JSON, FileType.JSONL]


def as_record(row: list[str]) -> dict[str, str]:
    """A product row as a JSON writer writes it, its empty values left out."""
    return {name: value for name, value in zip(CONTRACT_HEADER, row, strict=True) if value}


def record(sku: str, title: str | None = None, price: str = "9.99", **overrides: str) -> dict[str, str]:
    """A valid product record."""
    return as_record(product_row(sku, title, price, **overrides))


def one_a_line(texts: list[str], file_type: FileType) -> bytes:
    """JSONL, or a JSON array with one record on each line: record n is on line n, or n + 1 after the '['."""
    if file_type is FileType.JSONL:
        return ("\n".join(texts) + "\n").encode("utf-8")
    return ("[\n" + ",\n".join(texts) + "\n]\n").encode("utf-8")


def imported(
    runtime: Runtime,
    queue: RecordingQueue,
    body: bytes,
    file_type: FileType,
    on_error: OnError = OnError.ABORT,
    import_type: ImportType = ImportType.PRODUCT,
) -> tuple[int, str, str | None, list[Problem]]:
    """The import's id, its state and message, and its problems: row, column, value, message."""
    principal = make_principal(runtime.db, f"ops{uuid.uuid4().hex}")
    job_id = submit(runtime, principal, body, file_type=file_type, on_error=on_error, import_type=import_type)
    drain(runtime, queue)
    with runtime.db.read() as session:
        found = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.row_number))
        )
        problems = [(p.row_number, p.column, p.field_value, p.message) for p in found if p.severity == "error"]
    done = job(runtime, job_id)
    return job_id, done.state, done.message, problems


def field_names(db: Database, job_id: int) -> list[str | None]:
    """The field each of the import's errors names, in row order."""
    with db.read() as session:
        found = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.row_number))
        )
        return [problem.field_name for problem in found if problem.severity == "error"]


def skus(db: Database) -> list[str]:
    with db.read() as session:
        return sorted(session.exec(select(Product.sku_number)).all())


def plain(items: list[dict[str, object]]) -> list[dict[str, object]]:
    """Records as a user compares them: without their catalog, jobs and times."""
    noise = {"catalog_id", "created_job_id", "updated_job_id", "created_at", "updated_at"}
    return [{key: value for key, value in item.items() if key not in noise} for item in items]


def test_an_array_written_on_one_line_numbers_its_records_by_their_place_in_it(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    records = [record("1"), record("2", price="twelve"), record("3"), record("4")]
    body = json.dumps(records).encode("utf-8")  # the whole array on one line, as json.dumps writes it

    job_id, state, _, problems = imported(runtime, queue, body, FileType.JSON, OnError.SKIP)

    message = "Retail Price must be a decimal number, got 'twelve'"
    assert (state, problems) == (ImportState.COMPLETED, [(2, "G", "twelve", message)])
    assert skus(database) == ["1", "3", "4"]
    _, _, failed = failed_rows(runtime, make_principal(database, "reader"), job_id)
    assert json.loads(b"".join(failed)) == [{**records[1], "Error": message}]


@pytest.mark.parametrize("file_type", KEYED)
def test_a_lone_surrogate_is_a_problem_of_its_record_naming_the_field(
    database: Database, tmp_path: Path, file_type: FileType
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    texts = [
        json.dumps(record("1")),
        json.dumps(record("2", title="x\ud800y")),  # written as the escape \ud800, which no UTF-8 can hold
        json.dumps(record("3") | {"ProductAttribute[Shade\udfff]": "Dark"}),
        json.dumps(record("4", title="\ud83d\ude00 a pair is one character")),
    ]

    job_id, state, _, problems = imported(runtime, queue, one_a_line(texts, file_type), file_type, OnError.SKIP)

    assert (state, problems) == (
        ImportState.COMPLETED,
        [
            (2, "B", None, "'Product Title' holds a lone surrogate \\ud800, which no text can store"),
            (
                3,
                None,
                None,
                "the name 'ProductAttribute[Shade\\udfff]' holds a lone surrogate \\udfff, which no text can store",
            ),
        ],
    )
    assert field_names(database, job_id) == ["Product Title", "ProductAttribute[Shade\\udfff]"]
    assert skus(database) == ["1", "4"]


@pytest.mark.parametrize("file_type", KEYED)
def test_a_key_given_twice_in_a_record_is_a_problem_of_that_record(
    database: Database, tmp_path: Path, file_type: FileType
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    first = json.dumps(record("2", title="first"))
    texts = [
        json.dumps(record("1")),
        first[:-1] + ', "Product Title": "second"}',
        first[:-1] + ', " product title ": "third"}',  # names are compared as a header's: case and outer spaces aside
    ]

    job_id, state, message, problems = imported(runtime, queue, one_a_line(texts, file_type), file_type)

    assert (state, message) == (
        ImportState.FAILED,
        "Error in the uploaded file: 2 rows failed validation, so nothing was written (onError=abort)",
    )
    assert field_names(database, job_id) == ["Product Title", "product title"]
    assert problems == [
        (2, "B", None, "key 'Product Title' appears twice"),
        (3, "B", None, "key 'product title' appears twice (also as 'Product Title')"),
    ]


@pytest.mark.parametrize("file_type", KEYED)
def test_a_value_nested_too_deep_to_read_is_a_problem_of_its_record(
    database: Database, tmp_path: Path, file_type: FileType
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    deep = "[" * 100_000 + "]" * 100_000
    texts = [json.dumps(record("1")), '{"SKU Number": ' + deep + "}", json.dumps(record("3"))]

    _, state, message, problems = imported(runtime, queue, one_a_line(texts, file_type), file_type)

    where = "line 2" if file_type is FileType.JSONL else "record 2, starting on line 3,"
    assert (state, message) == (
        ImportState.FAILED,
        "Error in the uploaded file: 1 row failed validation, so nothing was written (onError=abort)",
    )
    assert problems == [
        (2, None, None, f"{where} holds lists or objects nested too deep to read: a value must be text, a number, "
         "true/false or null"),
    ]  # fmt: skip


NUMBERS = ("Retail Price", "Available Quantity", "UPC", "Default Category Id", "Product Description")


def numbers_bare(text: str) -> str:
    """A record's texts in the number columns written as JSON numbers, digit for digit: "1.10" becomes 1.10."""
    return re.sub(r'"({})": "([-+.0-9eE]+)"'.format("|".join(NUMBERS)), r'"\1": \2', text)


@pytest.mark.parametrize("file_type", KEYED)
def test_a_json_number_is_stored_as_written_as_its_text_in_a_csv_is(
    database: Database, tmp_path: Path, file_type: FileType
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    rows = [
        product_row("1", price="1.10", **{"Available Quantity": "5.0", "UPC": "123456789012345678901234567890"}),
        product_row("2", price="19.999999999999999", **{"Default Category Id": "2007.0", "UPC": "2822011"}),
        product_row("3", price="12345678901234567890.12", **{"Product Description": "7" * 5000, "UPC": "3"}),
    ]
    texts = [numbers_bare(json.dumps(as_record(row))) for row in rows]
    assert '"Retail Price": 1.10,' in texts[0]

    from_csv = submit(runtime, principal, make_csv(rows), catalog_id=1)
    from_json = submit(runtime, principal, one_a_line(texts, file_type), file_type=file_type, catalog_id=2)
    drain(runtime, queue)

    assert (job(runtime, from_csv).state, job(runtime, from_json).state) == ("COMPLETED", "COMPLETED")
    stored = {catalog: list_records(runtime, ImportType.PRODUCT, catalog, 1, 1, 10)[0] for catalog in (1, 2)}
    assert [(p["retail_price"], p["available_quantity"], p["upc"], p["default_category_id"]) for p in stored[2]] == [
        ("1.10", 5, "123456789012345678901234567890", "2007"),
        ("19.999999999999999", 10, "2822011", "2007"),
        ("12345678901234567890.12", 10, "3", "2007"),
    ]
    assert stored[2][2]["product_description"] == "7" * 5000
    assert plain(stored[2]) == plain(stored[1])


@pytest.mark.parametrize("file_type", KEYED)
def test_a_json_number_in_a_date_column_is_refused_as_its_text_in_a_csv_is(
    database: Database, tmp_path: Path, file_type: FileType
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    header = ["Category Id", "Category Name", "Active Start Date", "Active End Date"]
    rows = [["1", "Mens", "2024-03-01", ""], ["2", "Womens", "45352", ""], ["3", "Kids", "", "1.5"]]
    texts = [
        '{"Category Id": "1", "Category Name": "Mens", "Active Start Date": "2024-03-01"}',
        '{"Category Id": "2", "Category Name": "Womens", "Active Start Date": 45352}',  # an Excel serial date
        '{"Category Id": "3", "Category Name": "Kids", "Active End Date": 1.5}',
    ]

    as_csv = imported(runtime, queue, make_csv(rows, header), FileType.CSV, import_type=ImportType.CATEGORY)
    as_json = imported(runtime, queue, one_a_line(texts, file_type), file_type, import_type=ImportType.CATEGORY)

    must = "must be a date such as 2024-03-01 or 2024-03-01T09:30:00Z, got"
    assert as_json[1:] == (
        ImportState.FAILED,
        "Error in the uploaded file: 2 rows failed validation, so nothing was written (onError=abort)",
        [(2, "C", "45352", f"Active Start Date {must} '45352'"), (3, "D", "1.5", f"Active End Date {must} '1.5'")],
    )
    assert [(column, value, message) for _, column, value, message in as_csv[3]] == [
        problem[1:] for problem in as_json[3]
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ('[{"SKU Number": "1"}]\n[{"SKU Number": "2"}]',
         "the JSON array ends before line 2, where more follows it: a JSON file holds one array"),
        ('[{"SKU Number": "1"}\n {"SKU Number": "2"}]', "a comma is missing before the record that starts on line 2"),
        ('[{"SKU Number": "1"},\n]', "a comma stands before the array's end, on line 2"),
        ('[{"SKU Number": "1"}, 5]', "the JSON array holds something other than an object at line 1"),
        ("", "the file is empty: a JSON file holds an array of objects"),
        ('[{"SKU Number": "1"}', "the JSON array is not closed: the file ends inside it at line 1"),
    ],
)  # fmt: skip
def test_an_array_that_is_not_one_array_of_records_is_refused_saying_where(
    database: Database, tmp_path: Path, text: str, message: str
) -> None:
    # What follows the array's end is read too: a second array pasted after the first is never left out.
    runtime, queue = make_runtime(database, tmp_path)

    _, state, found, _ = imported(runtime, queue, text.encode(), FileType.JSON)

    assert (state, found) == (ImportState.FAILED, f"Error in the uploaded file: {message}")
    assert skus(database) == []


@pytest.mark.parametrize(
    ("file_type", "body"), [(FileType.JSON, b"[]\n"), (FileType.JSONL, b""), (FileType.JSONL, b"\n\n")]
)
def test_no_records_at_all_is_an_import_of_nothing(
    database: Database, tmp_path: Path, file_type: FileType, body: bytes
) -> None:
    # As a CSV of a header alone: the export of a day with no changes imports nothing, and fails nothing.
    runtime, queue = make_runtime(database, tmp_path)

    job_id, state, message, problems = imported(runtime, queue, body, file_type)

    assert (state, message, problems, job(runtime, job_id).total_records) == (ImportState.COMPLETED, None, [], 0)


@pytest.mark.parametrize("file_type", KEYED)
def test_a_file_whose_every_record_is_unreadable_fails_naming_each_record(
    database: Database, tmp_path: Path, file_type: FileType
) -> None:
    # A script that writes str(record) instead of json.dumps(record): not one record can be read, which is
    # no import of nothing.
    runtime, queue = make_runtime(database, tmp_path)
    texts = [str(record("1")), json.dumps(record("2", **{"UPC": "0042"})).replace('"0042"', '{"code": "0042"}')]

    _, state, message, problems = imported(runtime, queue, one_a_line(texts, file_type), file_type)

    first = "line 1" if file_type is FileType.JSONL else "record 1, starting on line 2,"
    assert (state, message) == (
        ImportState.FAILED,
        "Error in the uploaded file: 2 rows failed validation, so nothing was written (onError=abort)",
    )
    assert problems == [
        (1, None, None, f"{first} is not valid JSON: Expecting property name enclosed in double quotes"),
        (2, None, None, "'UPC' must be text, a number, true/false or null, not a list or object"),
    ]
    assert skus(database) == []
