"""Reading limits: a file past a limit gets a clear answer naming the limit, never memory growth."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import select

from app.db import Database
from app.importing.formats import FileType
from app.jobs import ImportProblem, ImportState
from app.runtime import Runtime
from tests.factories import make_csv, make_jsonl, product_row
from tests.integration.pipeline_driver import RecordingQueue, drain, job, make_principal, make_runtime, submit


def limited(database: Database, tmp_path: Path, **limits: Any) -> tuple[Runtime, RecordingQueue]:
    runtime, queue = make_runtime(database, tmp_path)
    return replace(runtime, settings=replace(runtime.settings, **limits)), queue


@pytest.mark.parametrize(
    ("limits", "body", "message"),
    [
        ({"max_rows": 3}, make_csv([product_row(str(n)) for n in range(4)]),
         "the file has more than 3 rows, the limit (IMPORTER_MAX_ROWS)"),
        ({"max_columns": 5}, make_csv([product_row("1")]),
         "the header has 11 columns, more than the limit of 5 (IMPORTER_MAX_COLUMNS)"),
        ({"max_line_bytes": 2048}, make_csv([product_row("1", title="x" * 5000)]),
         "a line of row 2 is longer than the limit of 2048 bytes (IMPORTER_MAX_LINE_BYTES)"),
        ({"max_field_bytes": 4096}, make_csv([product_row("1", title="x" * 5000)]),
         "a value in row 2 is longer than the limit of 4096 characters (IMPORTER_MAX_FIELD_BYTES)"),
    ],
)  # fmt: skip
def test_a_csv_past_a_limit_fails_naming_it(
    database: Database, tmp_path: Path, limits: dict[str, int], body: bytes, message: str
) -> None:
    runtime, queue = limited(database, tmp_path, **limits)

    job_id = submit(runtime, make_principal(database), body)
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.message) == (ImportState.FAILED, f"Error in the uploaded file: {message}")


def test_a_json_value_past_the_field_limit_is_a_problem_on_its_line(database: Database, tmp_path: Path) -> None:
    runtime, queue = limited(database, tmp_path, max_field_bytes=4096)  # the smallest limit the settings take
    body = make_jsonl([product_row("1"), product_row("2", title="y" * 5000), product_row("3")])

    job_id = submit(runtime, make_principal(database), body, file_type=FileType.JSONL)
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.FAILED
    with database.read() as session:
        problem = session.exec(select(ImportProblem).where(ImportProblem.job_id == job_id)).one()
    assert (problem.row_number, problem.column, problem.field_name, problem.message) == (
        2, "B", "Product Title",
        "the value of 'Product Title' is longer than the limit of 4096 characters (IMPORTER_MAX_FIELD_BYTES)",
    )  # fmt: skip
