"""ZIP bodies of data files: one import across its files, in name order, with per-file counts and rows."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

from sqlmodel import col, select

from app.api.rendering import files_of, problem_json
from app.db import Database
from app.importing.formats import FileType, detect
from app.jobs import ImportProblem, ImportState
from app.service import failed_rows, list_records
from specifications import ImportType
from tests.factories import make_csv, make_jsonl, make_xlsx, make_zip, product_row
from tests.integration.pipeline_driver import drain, job, make_principal, make_runtime, submit


def test_every_data_file_of_the_zip_is_one_import_counted_per_file(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=2)
    body = make_zip({
        "b.xlsx": make_xlsx([product_row("b-1"), product_row("b-2")]),
        "a.csv": make_csv([product_row("a-1"), product_row("a-2"), product_row("a-3")]),
        "c/feed.jsonl": make_jsonl([product_row("c-1")]),
    })  # fmt: skip

    job_id = submit(runtime, make_principal(database), body, file_type=FileType.ZIP)
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.total_records, done.records_created) == (ImportState.COMPLETED, 6, 6)
    assert [(f["name"], f["fileType"], f["totalRecords"]) for f in files_of(done)] == [
        ("a.csv", "CSV", 3), ("b.xlsx", "XLSX", 2), ("c/feed.jsonl", "JSONL", 1),
    ]  # fmt: skip
    assert list_records(runtime, ImportType.PRODUCT, -2, -3, 1, 10)[1] == 6
    assert detect(body[:8192]) is FileType.ZIP and detect(make_xlsx([["1"]])[:8192]) is FileType.XLSX


def test_a_problem_names_its_file_and_the_row_that_file_shows(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    body = make_zip({
        "a.csv": make_csv([product_row("a-1"), product_row("a-2")]),
        "b.csv": make_csv([product_row("b-1"), product_row("b-2", price="oops")]),
    })  # fmt: skip

    job_id = submit(runtime, principal, body, file_type=FileType.ZIP)
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED
    with database.read() as session:
        problem = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.id))
        ).one()
    shown = problem_json(problem, files_of(done))
    assert (shown["file"], shown["rowNumber"], shown["fieldName"]) == ("b.csv", 3, "Retail Price")
    media, name, content = failed_rows(runtime, principal, job_id)
    archive = zipfile.ZipFile(io.BytesIO(b"".join(content)))
    assert (media, name, archive.namelist()) == (
        "application/zip",
        f"import-{job_id}-failed-rows.zip",
        ["b failed rows.csv"],
    )
    assert archive.read("b failed rows.csv").decode().splitlines()[1].startswith('"b-2",')


def test_anything_but_data_files_in_the_zip_is_refused_by_name(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    with_image = submit(
        runtime, principal, make_zip({"a.csv": make_csv([product_row("1")]), "logo.png": b"x"}), file_type=FileType.ZIP
    )
    nested = submit(runtime, principal, make_zip({"inner.zip": make_zip({"a.csv": b"x"})}), file_type=FileType.ZIP)
    drain(runtime, queue)

    assert "'logo.png', which is not a data file" in (job(runtime, with_image).message or "")
    assert "nested archives are not imported" in (job(runtime, nested).message or "")
    assert list_records(runtime, ImportType.PRODUCT, -2, -3, 1, 10)[1] == 0
