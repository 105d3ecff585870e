"""Assets: one record per file name in the catalog; a manifest's links must name what exists."""

from __future__ import annotations

from sqlmodel import Session

from app.commerce.assets import ASSET_FIELDS, ASSET_STAGING, ASSET_TABLE
from app.commerce.categories import CATEGORY_TABLE
from app.commerce.products import Product, Sku
from app.importing.problems import ValidationProblem
from app.importing.writers.checks import missing_references
from app.importing.writers.upsert import Scope, UpsertTarget, UpsertWriter
from app.jobs import ImportStatus


def unknown_links(session: Session, job: ImportStatus) -> list[ValidationProblem]:
    assert job.id is not None
    scope: dict[str, object] = {"catalog_id": job.catalog_id, "sandbox_id": {0, job.sandbox_id}}
    products = missing_references(session, ASSET_STAGING, job.id, "sku_number", Product.__table__, "sku_number", scope)  # type: ignore[attr-defined]
    skus = dict(missing_references(session, ASSET_STAGING, job.id, "sku_number", Sku.__table__, "sku_number", scope))  # type: ignore[attr-defined]
    problems = [
        ValidationProblem(
            row,
            None,
            "SKU Number",
            sku,
            f"manifest.csv links to SKU Number '{sku}', which is not in catalog {job.catalog_id}",
        )
        for row, sku in products
        if row in skus
    ]
    categories = missing_references(session, ASSET_STAGING, job.id, "category_id", CATEGORY_TABLE, "category_id", scope)
    problems += [
        ValidationProblem(
            row,
            None,
            "Category Id",
            category,
            f"manifest.csv links to Category Id '{category}', which is not in catalog {job.catalog_id}",
        )
        for row, category in categories
    ]
    return sorted(problems, key=lambda problem: problem.row or 0)


ASSET_WRITER = UpsertWriter(
    UpsertTarget(
        ASSET_TABLE, ASSET_STAGING, ("file_name",), ASSET_FIELDS[1:], Scope.CATALOG, "File Name",
        checks=(unknown_links,), named_by_id=True,
    )
)  # fmt: skip
