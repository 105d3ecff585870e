"""ReadLimits: how much of a file the readers take before they refuse it, each limit named by its setting."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from app.importing.archives import ZipLimits
from app.importing.problems import column_letter, row_problem_text
from app.settings import Settings


@dataclass(frozen=True)
class ReadLimits:
    max_rows: int = 20_000_000
    max_columns: int = 1000
    max_field_bytes: int = 1024**2
    max_line_bytes: int = 16 * 1024**2
    zip: ZipLimits = field(default_factory=ZipLimits)

    @classmethod
    def from_settings(cls, settings: Settings) -> ReadLimits:
        return cls(
            settings.max_rows,
            settings.max_columns,
            settings.max_field_bytes,
            settings.max_line_bytes,
            ZipLimits(settings.zip_max_entries, settings.zip_max_bytes, settings.zip_max_ratio),
        )

    def too_many_columns(self, count: int, counted: bool = True) -> str | None:
        """The refusal of a header of `count` columns; `counted` False when the reader stopped counting past
        the limit (a sheet's row is read up to one cell past it)."""
        if count <= self.max_columns:
            return None
        if not counted:
            return f"the header has more than {self.max_columns} columns, the limit (IMPORTER_MAX_COLUMNS)"
        return f"the header has {count} columns, more than the limit of {self.max_columns} (IMPORTER_MAX_COLUMNS)"

    def long_cell(self, cells: list[str], headers: Sequence[str]) -> str | None:
        if sum(map(len, cells)) <= self.max_field_bytes:  # the usual row: no cell can be over
            return None
        for index, cell in enumerate(cells):
            if len(cell) > self.max_field_bytes:
                name = headers[index] if index < len(headers) else None
                message = (
                    f"the value of '{name or f'column {index + 1}'}' is longer than the limit of "
                    f"{self.max_field_bytes} characters (IMPORTER_MAX_FIELD_BYTES)"
                )
                return row_problem_text(message, column_letter(index), name)
        return None
