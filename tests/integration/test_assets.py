"""ASSET imports on real SQLite and PostgreSQL: a ZIP of media, stored once per content, linked by manifest."""

from __future__ import annotations

from pathlib import Path

import pytest
from celery.exceptions import Retry
from sqlmodel import col, select

from app.accounts import Role
from app.db import Database
from app.errors import NotFound
from app.importing import pipeline
from app.jobs import ImportProblem, ImportState
from app.service import asset_content, list_records, read_record
from specifications import ImportType
from tests.factories import make_csv, make_zip, product_row
from tests.integration.pipeline_driver import Delivery, WorkerOf, drain, job, make_principal, make_runtime, submit
from workers.tasks import run_step

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + bytes(range(200))
PDF = b"%PDF-1.7\n" + b"x" * 300


def problems(db: Database, job_id: int) -> list[tuple[int | None, str | None, str | None, str]]:
    """Each problem's row, field, value and message."""
    with db.read() as session:
        found = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.row_number))
        ).all()
    return [(p.row_number, p.field_name, p.field_value, p.message) for p in found]


def test_a_zip_of_media_becomes_assets_linked_by_its_manifest(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    submit(runtime, principal, make_csv([product_row("2011")]), catalog_id=7)
    drain(runtime, queue)
    manifest = b"File Name,SKU Number,Alt Text\nimages/front.png,2011,The front\n"
    body = make_zip({"manifest.csv": manifest, "images/front.png": PNG, "spec sheet.pdf": PDF, "copy.png": PNG})

    job_id = submit(runtime, principal, body, catalog_id=7, import_type=ImportType.ASSET)
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED and job(runtime, job_id).total_records == 3
    items, total = list_records(runtime, ImportType.ASSET, 7, 1, 1, 10)
    assert total == 3
    by_name = {item["file_name"]: item for item in items}
    front = by_name["images/front.png"]
    assert (front["content_type"], front["size"], front["sku_number"], front["alt_text"]) == (
        "image/png", len(PNG), "2011", "The front",
    )  # fmt: skip
    assert by_name["spec sheet.pdf"]["content_type"] == "application/pdf"
    assert by_name["copy.png"]["storage_key"] == front["storage_key"]  # the same bytes are kept once
    media, name, body_bytes = asset_content(runtime, principal, int(str(front["id"])))
    assert (media, name, b"".join(body_bytes)) == ("image/png", "front.png", PNG)
    read = read_record(runtime, ImportType.ASSET, ["images/front.png"], 7, 1)
    assert read["id"] == front["id"]
    assert "base_job_id" not in read and "base_job_id" not in front  # the service's bookkeeping, not data


def test_a_folder_compressed_whole_links_its_files_by_the_manifest_inside_it(
    database: Database, tmp_path: Path
) -> None:
    # Finder's "Compress" (and Windows' "Send to > Compressed folder") puts every file under the folder's name,
    # manifest.csv too, which names the files beside it as the user sees them.
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    submit(runtime, principal, make_csv([product_row("2011"), product_row("2012")]), catalog_id=7)
    drain(runtime, queue)
    manifest = b"File Name,SKU Number,Alt Text\r\nfront.png,2011,The front\r\nphotos/back.png,2012,The back\r\n"
    body = make_zip({
        "photos/": b"", "photos/front.png": PNG, "photos/back.png": PNG + b"back", "photos/manifest.csv": manifest,
        "__MACOSX/photos/._front.png": b"\x00\x05\x16\x07", "__MACOSX/photos/._manifest.csv": b"\x00\x05\x16\x07",
    })  # fmt: skip

    job_id = submit(runtime, principal, body, catalog_id=7, import_type=ImportType.ASSET)
    drain(runtime, queue)

    assert (job(runtime, job_id).state, problems(database, job_id)) == (ImportState.COMPLETED, [])
    items, _ = list_records(runtime, ImportType.ASSET, 7, 1, 1, 10)
    assert sorted((item["file_name"], item["sku_number"], item["alt_text"]) for item in items) == [
        ("photos/back.png", "2012", "The back"),
        ("photos/front.png", "2011", "The front"),
    ]


def test_assets_posted_right_after_the_products_their_manifest_links_wait_for_them_and_land(
    database: Database, tmp_path: Path
) -> None:
    # A script posts the products, then the images of their SKUs, without waiting: two workers take both at once.
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    products = submit(runtime, principal, make_csv([product_row("2011")]), catalog_id=7)
    manifest = b"File Name,SKU Number,Alt Text\nfront.png,2011,The front\n"
    assets = submit(runtime, principal, make_zip({"manifest.csv": manifest, "front.png": PNG}), catalog_id=7,
                    import_type=ImportType.ASSET)  # fmt: skip
    queue.steps.clear()

    with pytest.raises(Retry):  # the second worker takes the assets first
        run_step(Delivery().task, WorkerOf(runtime), assets, lambda worker: pipeline.plan(worker, assets))
    waiting = job(runtime, assets)
    pipeline.plan(runtime, products)
    drain(runtime, queue)
    pipeline.plan(runtime, assets)  # the retry, once the products are in
    drain(runtime, queue)

    assert (waiting.state, waiting.message) == (
        ImportState.START_REQUESTED,
        f"waiting for import {products} (PRODUCT) to finish: the rows of this import name records that import writes",
    )
    assert (job(runtime, assets).state, problems(database, assets)) == (ImportState.COMPLETED, [])
    (front,), _ = list_records(runtime, ImportType.ASSET, 7, 1, 1, 10)
    assert front["sku_number"] == "2011"


def test_the_same_bytes_uploaded_again_are_stored_once(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)

    for catalog in (8, 9):
        submit(runtime, principal, make_zip({"a.png": PNG}), catalog_id=catalog, import_type=ImportType.ASSET)
        drain(runtime, queue)

    keys = {
        item["storage_key"]
        for catalog in (8, 9)
        for item in list_records(runtime, ImportType.ASSET, catalog, 1, 1, 5)[0]
    }
    assert len(keys) == 1
    if database.is_sqlite:
        assert [path.name for path in (tmp_path / "assets").iterdir()] == [next(iter(keys))]


def test_a_manifest_that_names_nothing_real_is_a_problem_per_line(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    manifest = b"File Name,SKU Number,Category Id\na.png,NOPE,\nmissing.jpg,,\na.png,,\nb.png,,NOCAT\n"
    archive = make_zip({"manifest.csv": manifest, "a.png": PNG, "b.png": PDF})

    job_id = submit(runtime, make_principal(database), archive, import_type=ImportType.ASSET)
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.FAILED
    # a row is a file of the archive: the message names the file, as its manifest line does
    assert problems(database, job_id) == [
        (1, "SKU Number", "NOPE", "manifest.csv links 'a.png' to SKU Number 'NOPE', which is not in catalog -2"),
        (2, "Category Id", "NOCAT", "manifest.csv links 'b.png' to Category Id 'NOCAT', which is not in catalog -2"),
        (3, "File Name", "missing.jpg", "manifest.csv line 3 names 'missing.jpg', which is not in the archive"),
        (4, "File Name", "a.png", "manifest.csv line 4 names 'a.png' again (first on line 2)"),
    ]


def test_an_entry_name_that_escapes_storage_fails_the_import_and_stores_nothing(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path)

    job_id = submit(runtime, make_principal(database), make_zip({"ok.png": PNG, "../../etc/evil.png": PDF}),
                    import_type=ImportType.ASSET)  # fmt: skip
    drain(runtime, queue)

    done = job(runtime, job_id)
    assert done.state == ImportState.FAILED
    assert "'../../etc/evil.png' points outside its folder" in (done.message or "")
    assert list_records(runtime, ImportType.ASSET, -2, 1, 1, 5)[1] == 0
    assert not (tmp_path / "etc").exists() and not (tmp_path.parent / "etc" / "evil.png").exists()


def test_an_asset_in_a_sandbox_is_served_only_to_accounts_that_may_see_the_sandbox(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    owner, other = make_principal(database, "owner", Role.IMPORTER), make_principal(database, "other", Role.IMPORTER)
    job_id = submit(runtime, owner, make_zip({"draft.png": PNG}), import_type=ImportType.ASSET, to_sandbox=True)
    drain(runtime, queue)
    sandbox_id = job(runtime, job_id).sandbox_id
    asset_id = int(str(list_records(runtime, ImportType.ASSET, -2, 1, 1, 5, sandbox_id)[0][0]["id"]))

    with pytest.raises(NotFound, match=f"no asset with id {asset_id}"):
        asset_content(runtime, other, asset_id)

    assert b"".join(asset_content(runtime, owner, asset_id)[2]) == PNG
    assert b"".join(asset_content(runtime, make_principal(database), asset_id)[2]) == PNG


@pytest.mark.parametrize("delimiter", [",", ";"])
def test_a_manifest_as_excel_saves_it_keeps_its_accents(database: Database, tmp_path: Path, delimiter: str) -> None:
    # Excel's plain 'CSV' is Windows-1252, and in much of Europe its delimiter is a semicolon.
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    submit(runtime, principal, make_csv([product_row("2011")]), catalog_id=7)
    drain(runtime, queue)
    manifest = f"File Name{delimiter}SKU Number{delimiter}Alt Text\r\nfront.png{delimiter}2011{delimiter}Café crème\r\n"
    body = make_zip({"manifest.csv": manifest.encode("cp1252"), "front.png": PNG})

    job_id = submit(runtime, principal, body, catalog_id=7, import_type=ImportType.ASSET)
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED
    front = read_record(runtime, ImportType.ASSET, ["front.png"], 7, 1)
    assert (front["sku_number"], front["alt_text"]) == ("2011", "Café crème")
