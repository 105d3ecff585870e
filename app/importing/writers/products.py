"""ProductWriter: product rows and their SKU rows, staged together and merged into two tables."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Table, exists, func, select
from sqlmodel import Session

from app.commerce.categories import CATEGORY_TABLE
from app.commerce.products import PRODUCT_VALUE_COLUMNS, Product, ProductStaging, Sku
from app.importing.problems import ValidationProblem
from app.importing.validation import Record
from app.importing.writers.base import RowOutcome, StagedWriter
from app.importing.writers.checks import repeated_keys
from app.importing.writers.merge import MergeCounts, MergePlan, merge
from app.importing.writers.staging import StagingRow
from app.importing.writers.upsert import json_text
from app.jobs import ImportStatus, Severity

_STAGING: Table = ProductStaging.__table__  # type: ignore[attr-defined]
_PRODUCT: Table = Product.__table__  # type: ignore[attr-defined]
_SKU: Table = Sku.__table__  # type: ignore[attr-defined]
MAX_PENDING_WARNINGS = 1000


def _json(value: object) -> str | None:
    return json_text(value)


_ORDER = (
    "product_title", "product_description", "product_url", "default_category_id", "retail_price", "upc",
    "available_quantity", "image_urls", "fulfillment_type", "attributes", "options", "translations",
)  # fmt: skip
assert _ORDER == PRODUCT_VALUE_COLUMNS, "the staging row below is written in PRODUCT_VALUE_COLUMNS order"


def _values(record: Record) -> tuple[object, ...]:
    """A record's staging values in PRODUCT_VALUE_COLUMNS order, written out: this runs for every row."""
    get, families = record.values.get, record.families
    return (
        get("product_title"), get("product_description"), get("product_url"), get("default_category_id"),
        get("retail_price"), get("upc"), get("available_quantity"), _json(get("image_urls")),
        get("fulfillment_type"), _json(families.get("attributes")), _json(families.get("options")),
        _json(record.translations),
    )  # fmt: skip


class ProductWriter(StagedWriter):
    staging = _STAGING
    staging_columns = (
        "job_id",
        "row_no",
        "chunk_no",
        "is_sku",
        "sku_number",
        "parent_sku_number",
        *PRODUCT_VALUE_COLUMNS,
    )

    def stage(
        self, job_id: int, chunk_no: int, outcomes: Sequence[RowOutcome]
    ) -> tuple[list[StagingRow], list[ValidationProblem]]:
        rows: list[StagingRow] = []
        problems: list[ValidationProblem] = []
        parent: RowOutcome | None = None
        for outcome in outcomes:
            if not outcome.is_child:
                parent = outcome
                if outcome.record is not None:
                    rows.append((job_id, outcome.row, chunk_no, False, outcome.key, None, *_values(outcome.record)))
                continue
            if outcome.record is None:
                continue
            if parent is None:
                message = "a SKU row needs a product row above it"
                problems.append(ValidationProblem(outcome.row, None, "SKU Indicator", "Y", message))
            elif parent.record is None:
                message = f"this SKU row belongs to the product in row {parent.row}, which is invalid"
                problems.append(ValidationProblem(outcome.row, None, "SKU Indicator", "Y", message))
            else:
                rows.append((job_id, outcome.row, chunk_no, True, outcome.key, parent.key, *_values(outcome.record)))
        return rows, problems

    def set_problems(self, session: Session, job: ImportStatus, keys_unique: bool = False) -> list[ValidationProblem]:
        assert job.id is not None
        if keys_unique:
            return []
        return repeated_keys(session, self.staging, job.id, ("sku_number",), "SKU Number")

    def warnings(self, session: Session, job: ImportStatus) -> list[ValidationProblem]:
        """One warning per Default Category Id that names no category yet: the products link once it arrives."""
        staging, categories = self.staging, CATEGORY_TABLE
        known = exists().where(
            categories.c.catalog_id == job.catalog_id,
            categories.c.sandbox_id.in_({0, job.sandbox_id}),
            categories.c.category_id == staging.c.default_category_id,
        )
        query = (
            select(staging.c.default_category_id, func.min(staging.c.row_no), func.count())
            .where(staging.c.job_id == job.id, staging.c.default_category_id.is_not(None), ~known)
            .group_by(staging.c.default_category_id)
            .order_by(func.min(staging.c.row_no))
            .limit(MAX_PENDING_WARNINGS)
        )
        return [
            ValidationProblem(
                int(row),
                None,
                "Default Category Id",
                category,
                f"Default Category Id '{category}' names no category of catalog {job.catalog_id} yet "
                f"({count} product{'s' if count != 1 else ''}); they link to it when it is imported",
                Severity.WARNING,
            )
            for category, row, count in session.execute(query)
        ]

    def merge_plans(self, job: ImportStatus) -> list[MergePlan]:
        """Products, then their SKUs, each matched on (catalog, sandbox, SKU number)."""
        scope = {"catalog_id": job.catalog_id, "sandbox_id": job.sandbox_id, "site_id": job.site_id}
        key = ("catalog_id", "sandbox_id", "sku_number")
        product_values = tuple(name for name in PRODUCT_VALUE_COLUMNS if name != "options")
        sku_values = ("product_sku_number", *(n for n in PRODUCT_VALUE_COLUMNS if n != "default_category_id"))
        in_job = self.staging.c.job_id == job.id
        products = MergePlan(_PRODUCT, self.staging, in_job & ~self.staging.c.is_sku, key, product_values, scope, {})
        skus = MergePlan(
            _SKU, self.staging, in_job & self.staging.c.is_sku,
            key, sku_values, scope, {"product_sku_number": "parent_sku_number"},
        )  # fmt: skip
        return [products, skus]

    def _apply(self, session: Session, job: ImportStatus, write: bool) -> MergeCounts:
        assert job.id is not None
        staged = dict(
            session.execute(
                select(self.staging.c.is_sku, func.count())
                .where(self.staging.c.job_id == job.id)
                .group_by(self.staging.c.is_sku)
            ).all()
        )
        products, skus = self.merge_plans(job)
        counts = merge(session, products, job.id, int(staged.get(False, 0)), write)
        return counts + merge(session, skus, job.id, int(staged.get(True, 0)), write)
