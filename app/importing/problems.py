"""ValidationProblem: a problem with a header or a row, kept as data and shown to the user."""

from __future__ import annotations

import json
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


# A reader's or a plan's problem with a row travels to the chunks as one text in the row's normalized record.
# When it knows the column, field or value it concerns, the text carries them too: this mark, then JSON
# (which writes every control character escaped, so the mark never appears inside it). The texts it names
# are shortened, so that the whole stays well under the smallest IMPORTER_MAX_FIELD_BYTES (4096), the
# limit the records are read back with.
_NAMED = "\x1e"
_MESSAGE_CHARACTERS = 1000
_NAME_CHARACTERS = 200


def _shortened(text: str, most: int) -> str:
    return text if len(text) <= most else text[: most - 1] + "\u2026"


def row_problem_text(
    message: str, column: str | None = None, field: str | None = None, value: str | None = None
) -> str:
    """The text of a row's problem as a normalized record carries it."""
    message = _shortened(message, _MESSAGE_CHARACTERS)
    if column is None and field is None and value is None:
        return message
    named = [None if text is None else _shortened(text, _NAME_CHARACTERS) for text in (column, field, value)]
    return _NAMED + json.dumps([*named, message], ensure_ascii=False)


def row_problem(row: int, text: str) -> ValidationProblem:
    """The problem a normalized record carries (see row_problem_text), for row `row`."""
    if text.startswith(_NAMED):
        column, field, value, message = json.loads(text[1:])
        return ValidationProblem(row, column, field, value, message)
    return ValidationProblem(row, None, None, None, text)
