"""The ImportWriter protocol every import type's writer follows."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Sequence
from typing import NamedTuple, Protocol

from sqlalchemy import Table
from sqlmodel import Session

from app.importing.problems import ValidationProblem
from app.importing.validation import Record
from app.importing.writers.checks import drop_rows
from app.importing.writers.merge import MergeCounts, MergePlan
from app.importing.writers.staging import StagingRow
from app.jobs import ImportStatus


class RowOutcome(NamedTuple):
    """A validated source row: its record when valid, and whether it is a child of the row above.

    A named tuple, one per row: half the cost of making a frozen dataclass."""

    row: int
    record: Record | None
    is_child: bool
    key: str | None


class ImportWriter(Protocol):
    staging: Table
    staging_columns: tuple[str, ...]

    def stage(
        self, job_id: int, chunk_no: int, outcomes: Sequence[RowOutcome]
    ) -> tuple[list[StagingRow], list[ValidationProblem]]:
        """Staging rows for a chunk's valid records, and the problems found between rows."""
        ...

    def set_problems(self, session: Session, job: ImportStatus, keys_unique: bool = False) -> list[ValidationProblem]:
        """Errors only the whole upload shows: a key given twice, a reference to nothing, a cycle. With
        `keys_unique` the caller knows that no key of the `merge_plans` was given twice (their targets'
        indexes refused it, see rolling_merge.py), and that check is left out."""
        ...

    def drop_rows(self, session: Session, job_id: int, rows: Sequence[int]) -> None:
        """Unstage rows that `set_problems` found invalid."""
        ...

    def warnings(self, session: Session, job: ImportStatus) -> list[ValidationProblem]:
        """Problems that never fail a job (a reference still pending), found once every row is staged."""
        ...

    def merge(self, session: Session, job: ImportStatus) -> MergeCounts: ...

    def merge_plans(self, job: ImportStatus) -> list[MergePlan] | None:
        """The plain merges `merge` makes, when that is all it does: a rolling merge may then make them
        while the chunks are staged (see rolling_merge.py). None when it does more."""
        ...

    def preview(self, session: Session, job: ImportStatus) -> MergeCounts:
        """What `merge` would count, writing nothing."""
        ...


class StagedWriter(ABC):
    """What every writer shares: unstaging rows found invalid, no warnings unless it says so, and a merge
    that can also only count (a dry run)."""

    staging: Table

    def drop_rows(self, session: Session, job_id: int, rows: Sequence[int]) -> None:
        drop_rows(session, self.staging, job_id, rows)

    def warnings(self, session: Session, job: ImportStatus) -> list[ValidationProblem]:
        return []

    def merge(self, session: Session, job: ImportStatus) -> MergeCounts:
        return self._apply(session, job, write=True)

    def merge_plans(self, job: ImportStatus) -> list[MergePlan] | None:
        return None

    def preview(self, session: Session, job: ImportStatus) -> MergeCounts:
        return self._apply(session, job, write=False)

    @abstractmethod
    def _apply(self, session: Session, job: ImportStatus, write: bool) -> MergeCounts:
        """Merge the job's staging (or, without `write`, count what the merge would do)."""
