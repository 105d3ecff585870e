"""A JSON or JSONL file is read as its user wrote it: each record numbered where its user finds it, every
number kept as it is written, and a record that cannot be stored as written is that record's problem."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sqlmodel import col, select

from app.commerce.products import Product
from app.db import Database
from app.importing.formats import FileType
from app.jobs import ImportProblem, ImportState, OnError
from app.runtime import Runtime
from app.service import failed_rows
from tests.factories import CONTRACT_HEADER, product_row
from tests.integration.pipeline_driver import RecordingQueue, drain, job, make_principal, make_runtime, submit

Problem = tuple[int | None, str | None, str | None, str]
KEYED = [FileType.JSON, FileType.JSONL]


def record(sku: str, title: str | None = None, price: str = "9.99", **overrides: str) -> dict[str, str]:
    """A valid product record, its empty values left out as a JSON writer leaves them."""
    values = zip(CONTRACT_HEADER, product_row(sku, title, price, **overrides), strict=True)
    return {name: value for name, value in values if value}


def one_a_line(texts: list[str], file_type: FileType) -> bytes:
    """JSONL, or a JSON array with one record on each line: record n is on line n, or n + 1 after the '['."""
    if file_type is FileType.JSONL:
        return ("\n".join(texts) + "\n").encode("utf-8")
    return ("[\n" + ",\n".join(texts) + "\n]\n").encode("utf-8")


def imported(
    runtime: Runtime, queue: RecordingQueue, body: bytes, file_type: FileType, on_error: OnError = OnError.ABORT
) -> tuple[int, str, str | None, list[Problem]]:
    """The import's id, its state and message, and its problems: row, column, value, message."""
    principal = make_principal(runtime.db, f"ops{len(queue.steps)}{file_type.value.lower()}{on_error.value}")
    job_id = submit(runtime, principal, body, file_type=file_type, on_error=on_error)
    drain(runtime, queue)
    with runtime.db.read() as session:
        found = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.row_number))
        )
        problems = [(p.row_number, p.column, p.field_value, p.message) for p in found if p.severity == "error"]
    done = job(runtime, job_id)
    return job_id, done.state, done.message, problems


def skus(db: Database) -> list[str]:
    with db.read() as session:
        return sorted(session.exec(select(Product.sku_number)).all())


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

    _, state, _, problems = imported(runtime, queue, one_a_line(texts, file_type), file_type, OnError.SKIP)

    assert (state, problems) == (
        ImportState.COMPLETED,
        [
            (2, None, None, "'Product Title' holds a lone surrogate \\ud800, which no text can store"),
            (
                3,
                None,
                None,
                "the name 'ProductAttribute[Shade\\udfff]' holds a lone surrogate \\udfff, which no text can store",
            ),
        ],
    )
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

    _, state, message, problems = imported(runtime, queue, one_a_line(texts, file_type), file_type)

    assert (state, message) == (
        ImportState.FAILED,
        "Error in the uploaded file: 2 rows failed validation, so nothing was written (onError=abort)",
    )
    assert problems == [
        (2, None, None, "key 'Product Title' appears twice"),
        (3, None, None, "key 'product title' appears twice (also as 'Product Title')"),
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
