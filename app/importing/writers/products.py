"""ProductWriter: product rows and their SKU rows, staged together and merged into two tables."""

from __future__ import annotations

import json
from collections.abc import Sequence

from sqlalchemy import Subquery, Table, delete, func, select
from sqlmodel import Session

from app.commerce.products import PRODUCT_VALUE_COLUMNS, Product, ProductStaging, Sku
from app.importing.problems import ValidationProblem
from app.importing.validation import Record
from app.importing.writers.base import RowOutcome
from app.importing.writers.merge import MergeCounts, MergePlan, merge
from app.importing.writers.staging import StagingRow
from app.jobs import ImportStatus

_STAGING: Table = ProductStaging.__table__  # type: ignore[attr-defined]
_PRODUCT: Table = Product.__table__  # type: ignore[attr-defined]
_SKU: Table = Sku.__table__  # type: ignore[attr-defined]
_JSON_FIELDS = frozenset({"image_urls", "attributes", "options", "translations"})


def _json(value: object) -> str | None:
    if not value:
        return None
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _values(record: Record) -> list[object]:
    values = record.values
    row: list[object] = []
    for name in PRODUCT_VALUE_COLUMNS:
        if name in ("attributes", "options"):
            row.append(_json(record.families.get(name)))
        elif name == "translations":
            row.append(_json(record.translations))
        elif name in _JSON_FIELDS:
            row.append(_json(values.get(name)))
        else:
            row.append(values.get(name))
    return row


class ProductWriter:
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

    def _firsts(self, job_id: int) -> Subquery:
        """Each SKU Number staged more than once by the job, with the first row that has it."""
        staging = self.staging
        return (
            select(staging.c.sku_number, func.min(staging.c.row_no).label("first_row"))
            .where(staging.c.job_id == job_id)
            .group_by(staging.c.sku_number)
            .having(func.count() > 1)
            .subquery()
        )

    def duplicates(self, session: Session, job_id: int) -> list[ValidationProblem]:
        staging, firsts = self.staging, self._firsts(job_id)
        query = (
            select(staging.c.row_no, staging.c.sku_number, firsts.c.first_row)
            .join(firsts, staging.c.sku_number == firsts.c.sku_number)
            .where(staging.c.job_id == job_id, staging.c.row_no > firsts.c.first_row)
            .order_by(staging.c.row_no)
        )
        return [
            ValidationProblem(
                row,
                None,
                "SKU Number",
                sku,
                f"SKU Number '{sku}' appears more than once in this file (rows {first} and {row})",
            )
            for row, sku, first in session.execute(query)
        ]

    def drop_duplicates(self, session: Session, job_id: int) -> None:
        """Keep the first row of each repeated SKU Number; the later ones are reported, not written."""
        staging, firsts = self.staging, self._firsts(job_id)
        later = (
            select(staging.c.row_no)
            .join(firsts, staging.c.sku_number == firsts.c.sku_number)
            .where(staging.c.job_id == job_id, staging.c.row_no > firsts.c.first_row)
        )
        session.execute(delete(staging).where(staging.c.job_id == job_id, staging.c.row_no.in_(later)))

    def merge(self, session: Session, job: ImportStatus) -> MergeCounts:
        return self._apply(session, job, write=True)

    def preview(self, session: Session, job: ImportStatus) -> MergeCounts:
        return self._apply(session, job, write=False)

    def _apply(self, session: Session, job: ImportStatus, write: bool) -> MergeCounts:
        assert job.id is not None
        scope = {"catalog_id": job.catalog_id, "sandbox_id": job.sandbox_id, "site_id": job.site_id}
        key = ("catalog_id", "sandbox_id", "sku_number")
        product_values = tuple(name for name in PRODUCT_VALUE_COLUMNS if name != "options")
        sku_values = ("product_sku_number", *(n for n in PRODUCT_VALUE_COLUMNS if n != "default_category_id"))
        staged = dict(
            session.execute(
                select(self.staging.c.is_sku, func.count())
                .where(self.staging.c.job_id == job.id)
                .group_by(self.staging.c.is_sku)
            ).all()
        )
        products = MergePlan(
            _PRODUCT, self.staging, (self.staging.c.job_id == job.id) & ~self.staging.c.is_sku,
            key, product_values, scope, {},
        )  # fmt: skip
        skus = MergePlan(
            _SKU, self.staging, (self.staging.c.job_id == job.id) & self.staging.c.is_sku,
            key, sku_values, scope, {"product_sku_number": "parent_sku_number"},
        )  # fmt: skip
        counts = merge(session, products, job.id, int(staged.get(False, 0)), write)
        return counts + merge(session, skus, job.id, int(staged.get(True, 0)), write)
