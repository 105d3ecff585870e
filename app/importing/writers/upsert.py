"""UpsertWriter: the generic writer, one staging table merged into one target table by the key."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from enum import StrEnum

import orjson
from sqlalchemy import Table, func, select
from sqlmodel import Session

from app.importing.problems import ValidationProblem
from app.importing.validation import Record
from app.importing.writers.base import RowOutcome, StagedWriter
from app.importing.writers.checks import repeated_keys
from app.importing.writers.merge import MergeCounts, MergePlan, merge
from app.importing.writers.staging import StagingRow
from app.jobs import ImportStatus

SetCheck = Callable[[Session, ImportStatus], list[ValidationProblem]]


class Scope(StrEnum):
    CATALOG = "catalog"
    SITE = "site"


def scope_values(job: ImportStatus, scope: Scope) -> dict[str, int]:
    if scope is Scope.CATALOG:
        return {"catalog_id": job.catalog_id, "sandbox_id": job.sandbox_id, "site_id": job.site_id}
    return {"site_id": job.site_id, "sandbox_id": job.sandbox_id}


def scope_key(scope: Scope) -> tuple[str, ...]:
    return ("catalog_id", "sandbox_id") if scope is Scope.CATALOG else ("site_id", "sandbox_id")


def json_text(value: object) -> str | None:
    """Compact JSON with sorted keys, non-ASCII kept: the text json.dumps(value, ensure_ascii=False,
    sort_keys=True, separators=(",", ":")) gives, so that rows stored before compare equal, at a fifth
    of its cost (this runs four times for every product row)."""
    return orjson.dumps(value, option=orjson.OPT_SORT_KEYS).decode() if value else None


def staged_value(record: Record, name: str) -> object:
    """A record's value for one staged column: families and translations as JSON text."""
    if name in record.families:
        return json_text(record.families[name])
    if name == "translations":
        return json_text(record.translations)
    value = record.values.get(name)
    return json_text(value) if isinstance(value, list | dict) else value


@dataclass(frozen=True)
class UpsertTarget:
    target: Table
    staging: Table
    key_fields: tuple[str, ...]
    value_fields: tuple[str, ...]
    scope: Scope
    key_label: str
    checks: tuple[SetCheck, ...] = field(default=())
    # The header a repeated key's problem names, when the key is several columns: the one that tells a
    # record from the others of its kind (an address's name among its customer's addresses).
    key_column: str | None = None
    named_by_id: bool = False  # other rows hold its rows' ids (see MergePlan)
    # Values a new record takes where its row gives none, that a stored one keeps (see MergePlan).
    defaults: dict[str, object] = field(default_factory=dict)


class UpsertWriter(StagedWriter):
    def __init__(self, spec: UpsertTarget) -> None:
        self.spec = spec
        self.staging = spec.staging
        self.fields = (*spec.key_fields, *spec.value_fields)
        self.staging_columns = ("job_id", "row_no", "chunk_no", *self.fields)

    def stage(
        self, job_id: int, chunk_no: int, outcomes: Sequence[RowOutcome]
    ) -> tuple[list[StagingRow], list[ValidationProblem]]:
        rows = [
            (job_id, outcome.row, chunk_no, *(staged_value(outcome.record, name) for name in self.fields))
            for outcome in outcomes
            if outcome.record is not None
        ]
        return rows, []

    def set_problems(self, session: Session, job: ImportStatus, keys_unique: bool = False) -> list[ValidationProblem]:
        assert job.id is not None
        found = (
            []
            if keys_unique
            else repeated_keys(
                session, self.staging, job.id, self.spec.key_fields, self.spec.key_label, self.spec.key_column
            )
        )
        for check in self.spec.checks:
            found += check(session, job)
        return found

    def merge_plans(self, job: ImportStatus) -> list[MergePlan]:
        key = (*scope_key(self.spec.scope), *self.spec.key_fields)
        in_job = self.staging.c.job_id == job.id
        scope = scope_values(job, self.spec.scope)
        spec = self.spec
        plan = MergePlan(spec.target, self.staging, in_job, key, spec.value_fields, scope, {})
        return [replace(plan, named_by_id=spec.named_by_id, defaults=spec.defaults)]

    def _apply(self, session: Session, job: ImportStatus, write: bool) -> MergeCounts:
        assert job.id is not None
        (plan,) = self.merge_plans(job)
        staged = session.execute(
            select(func.count()).select_from(self.staging).where(self.staging.c.job_id == job.id)
        ).scalar_one()
        return merge(session, plan, job.id, int(staged), write)
