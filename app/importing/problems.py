"""ValidationProblem: a problem with a header or a row, kept as data and shown to the user."""

from __future__ import annotations

from dataclasses import dataclass

from app.jobs import Severity


def column_letter(index: int) -> str:
    """0 -> A, 25 -> Z, 26 -> AA: the column a spreadsheet user sees."""
    letters = ""
    index += 1
    while index:
        index, remainder = divmod(index - 1, 26)
        letters = chr(65 + remainder) + letters
    return letters


@dataclass(frozen=True, slots=True)
class ValidationProblem:
    row: int | None
    column: str | None
    field_name: str | None
    value: str | None
    message: str
    severity: Severity = Severity.ERROR
