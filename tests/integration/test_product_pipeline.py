"""The PRODUCT pipeline on real SQLite and PostgreSQL: plan, chunks, staging and the merge."""

from __future__ import annotations

from pathlib import Path

from sqlmodel import col, select

from app.commerce.products import Product, ProductStaging, Sku
from app.db import Database
from app.importing import pipeline
from app.importing.formats import FileType
from app.jobs import ImportChunk, ImportProblem, ImportState, OnError
from app.service import job_status, list_records, read_record
from specifications import ImportType
from tests.factories import CONTRACT_HEADER, CONTRACT_ROWS, contract_csv, make_csv, make_xlsx, product_row
from tests.integration.pipeline_driver import drain, job, make_principal, make_runtime, submit


def products(db: Database, catalog_id: int = -2) -> dict[str, Product]:
    with db.read() as session:
        rows = session.exec(select(Product).where(Product.catalog_id == catalog_id)).all()
    return {row.sku_number: row for row in rows}


def problems(db: Database, job_id: int) -> list[tuple[int | None, str | None, str]]:
    with db.read() as session:
        found = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.row_number))
        ).all()
    return [(p.row_number, p.field_name, p.message) for p in found]


def test_the_contract_example_creates_three_products_in_its_catalog(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)

    job_id = submit(runtime, principal, contract_csv())
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.total_records, done.percent_complete) == (ImportState.COMPLETED, 3, 100.0)
    assert (done.records_created, done.records_updated, done.submitted_by, done.user_id) == (3, 0, "ops", -2)
    found = products(database)
    assert sorted(found) == ["2011", "2012", "2013"]
    product = found["2012"]
    assert (product.catalog_id, product.site_id, product.sandbox_id) == (-2, -3, 0)
    assert product.product_title == "ProductB2012"
    assert product.retail_price == "3.99"
    assert product.upc == "2822012"
    assert product.available_quantity == 300
    assert product.default_category_id == "2007"
    assert product.attributes == '{"Color":"Blue"}'
    assert product.translations == '{"product_description":{"es":"¡ ProductB2012 es increíble!"}}'


def test_importing_again_updates_changed_rows_and_never_duplicates(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    submit(runtime, principal, make_csv([product_row("1"), product_row("2"), product_row("3")]))
    drain(runtime, queue)

    second = submit(runtime, principal, make_csv([product_row("1"), product_row("2", price="5.00"), product_row("4")]))
    drain(runtime, queue)

    done = job(runtime, second)
    assert (done.records_created, done.records_updated, done.records_skipped) == (1, 1, 1)
    found = products(database)
    assert sorted(found) == ["1", "2", "3", "4"]
    assert found["2"].retail_price == "5.00"
    assert found["2"].updated_job_id == second
    assert found["1"].updated_job_id != second


def test_records_are_cut_into_chunks_that_keep_sku_rows_with_their_product(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=2)
    principal = make_principal(database)
    header = [*CONTRACT_HEADER, "options[Size]"]
    rows = [
        [*product_row("10"), ""],
        [*product_row("11"), ""],
        [*product_row("11-S", **{"SKU Indicator": "Y"}), "S"],
        [*product_row("11-M", **{"SKU Indicator": "Y"}), "M"],
        [*product_row("12"), ""],
    ]

    job_id = submit(runtime, principal, make_csv(rows, header=header))
    drain(runtime, queue)

    with database.read() as session:
        chunks = session.exec(
            select(ImportChunk).where(ImportChunk.job_id == job_id).order_by(col(ImportChunk.chunk_no))
        ).all()
        skus = session.exec(select(Sku).order_by(col(Sku.sku_number))).all()
        staged = session.exec(select(ProductStaging)).all()
    assert [(c.first_row, c.record_count) for c in chunks] == [(2, 4), (6, 1)]
    assert job(runtime, job_id).total_records == 5
    assert sorted(products(database)) == ["10", "11", "12"]
    assert [(s.sku_number, s.product_sku_number, s.options) for s in skus] == [
        ("11-M", "11", '{"Size":"M"}'),
        ("11-S", "11", '{"Size":"S"}'),
    ]
    assert staged == []


def test_one_invalid_row_fails_the_import_and_writes_nothing(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    rows = [product_row("1"), product_row("2", price="12,5x"), product_row("3", title=" ")]

    job_id = submit(runtime, principal, make_csv(rows))
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED
    assert done.records_failed == 2
    assert "2 rows failed validation, so nothing was written" in (done.message or "")
    assert problems(database, job_id) == [
        (3, "Retail Price", "Retail Price must be a decimal number, got '12,5x'"),
        (4, "Product Title", "Missing Required Data: Product Title is required"),
    ]
    assert products(database) == {}


def test_a_sku_number_twice_in_one_file_is_a_problem_naming_both_rows(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=1)
    principal = make_principal(database)

    job_id = submit(runtime, principal, make_csv([product_row("7"), product_row("8"), product_row("7")]))
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.FAILED
    assert problems(database, job_id) == [
        (4, "SKU Number", "SKU Number '7' appears more than once in this file (rows 2 and 4)")
    ]
    assert products(database) == {}


def test_an_unknown_header_fails_at_once_with_a_header_problem(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    header = ["SKU Number", "Prodct Title", "Product Title", "Product Description", "Retail Price"]

    job_id = submit(runtime, principal, make_csv([["1", "x", "T", "D", "1.00"]], header=header))
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED
    assert done.message == "Error in the uploaded file: the header row has 1 problem"
    assert problems(database, job_id) == [
        (1, "Prodct Title", "unknown header 'Prodct Title'; did you mean 'Product Title'?")
    ]


def test_an_xlsx_upload_imports_the_same_products_as_csv(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    rows: list[list[object]] = [list(row) for row in CONTRACT_ROWS]
    for row in rows:
        row[0], row[7], row[8], row[9] = float(str(row[0])), float(str(row[7])), int(str(row[8])), 300.0
    rows[0][8] = "02822011"

    job_id = submit(runtime, principal, make_xlsx(rows), file_type=FileType.XLSX)
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED
    found = products(database)
    assert sorted(found) == ["2011", "2012", "2013"]
    assert (found["2011"].upc, found["2012"].upc) == ("02822011", "2822012")
    assert (found["2013"].retail_price, found["2013"].available_quantity) == ("3.99", 300)


def test_a_redelivered_chunk_is_written_once(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=2)
    principal = make_principal(database)
    job_id = submit(runtime, principal, make_csv([product_row(str(n)) for n in range(5)]))
    _name, args = queue.steps.popleft()
    pipeline.plan(runtime, *args)
    first_chunk = queue.steps[0]

    queue.steps.append(first_chunk)
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.records_created, done.processed_records) == (ImportState.COMPLETED, 5, 5)
    assert len(products(database)) == 5


def test_windows_1252_text_is_detected_and_read(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    body = make_csv([product_row("1", title="Café crème")]).decode("utf-8").encode("cp1252")

    job_id = submit(runtime, principal, body)
    drain(runtime, queue)

    assert job(runtime, job_id).encoding == "cp1252"
    assert products(database)["1"].product_title == "Café crème"


def test_semicolon_files_blank_lines_and_crlf_are_read(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    body = make_csv([product_row("1"), product_row("2")], delimiter=";").replace(b"\n", b"\r\n")
    body = body.replace(b"\r\n2;", b"\r\n\r\n2;")

    job_id = submit(runtime, principal, body)
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert (done.state, done.total_records, done.delimiter) == (ImportState.COMPLETED, 2, ";")
    assert sorted(products(database)) == ["1", "2"]


def test_a_page_of_products_lists_each_with_its_own_skus_as_reading_each_by_key_does(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=100)
    header = [*CONTRACT_HEADER, "options[Size]"]
    rows = []
    for n in range(12):
        rows.append([*product_row(f"{n:02}", **{"Default Category Id": f"C{n % 3}"}), ""])
        rows += [[*product_row(f"{n:02}-{size}", **{"SKU Indicator": "Y"}), size] for size in "SM"[: n % 3]]
    submit(runtime, make_principal(database), make_csv(rows, header=header))
    drain(runtime, queue)

    listed, total = list_records(runtime, ImportType.PRODUCT, -2, -3, 2, 5)  # the second page of five

    assert total == 12
    assert [item["sku_number"] for item in listed] == ["05", "06", "07", "08", "09"]
    assert listed == [read_record(runtime, ImportType.PRODUCT, [str(item["sku_number"])], -2, -3) for item in listed]
    assert [len(item["skus"]) for item in listed] == [2, 0, 1, 2, 0]  # type: ignore[arg-type]


def test_an_ended_import_shows_its_invalid_row_before_a_hundred_warnings(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path, chunk_rows=50)
    principal = make_principal(database)
    no_category = {"Default Category Id": ""}
    rows = [[*product_row(f"w{n}", **no_category), "pic.png"] for n in range(120)]  # names no asset: a warning
    rows.append([*product_row("bad", price="12,5x", **no_category), ""])
    body = make_csv(rows, header=[*CONTRACT_HEADER, "Image Url(s)"])

    failed = submit(runtime, principal, body)
    skipped = submit(runtime, principal, body, on_error=OnError.SKIP, catalog_id=-5)
    drain(runtime, queue)

    for job_id, state in ((failed, ImportState.FAILED), (skipped, ImportState.COMPLETED)):
        view = job_status(runtime, principal, job_id)
        first, *rest = view.record_problems
        assert (view.job.state, first.row_number, first.severity, first.field_value) == (state, 122, "error", "12,5x")
        assert [(p.row_number, p.severity) for p in rest] == [(row, "warning") for row in range(2, 101)]
    assert (job(runtime, failed).problem_count, job(runtime, skipped).problem_count) == (121, 121)


def test_a_problem_keeps_its_value_as_written_whatever_characters_it_holds(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    awkward = 'a\tb\nc\\d "é" \\N \x00 end'
    rows = [product_row("odd", price=awkward), product_row("long", price="x" * 1200)]

    job_id = submit(runtime, principal, make_csv(rows))
    drain(runtime, queue)

    with database.read() as session:
        kept = session.exec(select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.id)))
        values = [(p.row_number, p.column, p.field_name, p.field_value, p.severity) for p in kept]
    assert values == [
        (2, "H", "Retail Price", awkward.replace("\x00", "\\x00"), "error"),
        (3, "H", "Retail Price", "x" * 1000 + "…", "error"),
    ]
