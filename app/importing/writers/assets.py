"""Assets: one record per file name in the catalog; a manifest's links must name what exists."""

from __future__ import annotations

from sqlalchemy import select
from sqlmodel import Session

from app.commerce.assets import ASSET_FIELDS, ASSET_STAGING, ASSET_TABLE
from app.commerce.categories import CATEGORY_TABLE
from app.commerce.products import Product, Sku
from app.importing.problems import ValidationProblem
from app.importing.writers.checks import DROP_BATCH, missing_references
from app.importing.writers.upsert import Scope, UpsertTarget, UpsertWriter
from app.jobs import ImportStatus


def unknown_links(session: Session, job: ImportStatus) -> list[ValidationProblem]:
    """Manifest lines that link a file to a SKU or a category the catalog does not have, each named by its file
    (a row of an ASSET import is a file of the archive)."""
    assert job.id is not None
    scope: dict[str, object] = {"catalog_id": job.catalog_id, "sandbox_id": {0, job.sandbox_id}}
    products = missing_references(session, ASSET_STAGING, job.id, "sku_number", Product.__table__, "sku_number", scope)  # type: ignore[attr-defined]
    skus = dict(missing_references(session, ASSET_STAGING, job.id, "sku_number", Sku.__table__, "sku_number", scope))  # type: ignore[attr-defined]
    categories = missing_references(session, ASSET_STAGING, job.id, "category_id", CATEGORY_TABLE, "category_id", scope)
    unknown = [(row, "SKU Number", sku) for row, sku in products if row in skus]
    unknown += [(row, "Category Id", category) for row, category in categories]
    names = _file_names(session, job.id, sorted({row for row, _, _ in unknown}))
    return [
        ValidationProblem(
            row, None, header, value,
            f"manifest.csv links '{names[row]}' to {header} '{value}', which is not in catalog {job.catalog_id}",
        )
        for row, header, value in sorted(unknown)
    ]  # fmt: skip


def _file_names(session: Session, job_id: int, rows: list[int]) -> dict[int, str]:
    staging, names = ASSET_STAGING, {}
    for start in range(0, len(rows), DROP_BATCH):
        batch = rows[start : start + DROP_BATCH]
        query = select(staging.c.row_no, staging.c.file_name).where(
            staging.c.job_id == job_id, staging.c.row_no.in_(batch)
        )
        names.update({int(row): str(name) for row, name in session.execute(query)})
    return names


ASSET_WRITER = UpsertWriter(
    UpsertTarget(
        ASSET_TABLE, ASSET_STAGING, ("file_name",), ASSET_FIELDS[1:], Scope.CATALOG, "File Name",
        checks=(unknown_links,), named_by_id=True,
    )
)  # fmt: skip
