"""Row validation: one source row in, a typed Record and its problems out."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal

from app.importing.cells import CELL_READERS, CellError, CellValue
from app.importing.header import HeaderMap, Slot
from app.importing.problems import ValidationProblem, column_letter
from specifications.model import Column, ColumnKind, Requirement

MISSING = "Missing Required Data"
FORMULA_STARTS = frozenset("=+-@")
_TEXT_KINDS = frozenset({ColumnKind.TEXT, ColumnKind.CODE, ColumnKind.URL})  # read_text: the cell itself


def unquoted(raw: str) -> str:
    """A trimmed cell that starts with an apostrophe: without it when it neutralised a formula (as the
    files we write out do), as it is otherwise; trimmed again when a tab or carriage return followed it.
    Callers test raw[0] == "'" first: it is rare."""
    after = raw[1:2]
    if after and after in FORMULA_STARTS:
        return raw[1:]
    return raw[1:].strip() if after in ("\t", "\r") else raw


def too_long(header: str, value: str, limit: int) -> str:
    return f"{header} may have at most {limit} characters, got {len(value)}"


def _empty_value(column: Column) -> CellValue:
    """What an empty cell gives: a flag's N, unless the column has a default (a new record takes it, a stored
    one keeps its value: see Column.default), and nothing for any other kind."""
    return False if column.kind is ColumnKind.FLAG and column.default is None else None


@dataclass(slots=True)
class Record:
    """A valid row's typed values, keyed by specification field."""

    row: int
    values: dict[str, CellValue]
    families: dict[str, dict[str, str]] = field(default_factory=dict)
    translations: dict[str, dict[str, str]] = field(default_factory=dict)
    is_child: bool = False


class RowValidator:
    """Validates rows against one resolved header; build it once per chunk."""

    def __init__(self, header: HeaderMap) -> None:
        self.header = header
        spec = header.spec
        self._plain = [slot for slot in header.slots if slot.column is not None and slot.locale is None]
        # What each plain column does with a cell, prepared once: (slot, field, reader, value of an empty cell,
        # most characters it may have, least number it may be). Text kinds keep the trimmed cell as it is: no
        # reader is called for them.
        self._readers = [
            (
                slot,
                slot.column.field,
                None if slot.column.kind in _TEXT_KINDS else CELL_READERS[slot.column.kind],
                _empty_value(slot.column),
                slot.column.length_limit,
                slot.column.minimum,
            )
            for slot in self._plain
            if slot.column is not None
        ]
        self._family = [slot for slot in header.slots if slot.family is not None]
        self._translated = [slot for slot in header.slots if slot.locale is not None]
        self._width = len(header.cells)
        self._unused = [index for index in range(self._width) if index not in header.read]
        # Only the columns with a rule to check: (slot, field, whether SKU rows are exempt).
        self._required = [
            (slot, column.field, column.requirement is Requirement.REQUIRED_ON_PARENT_ROWS)
            for slot in self._plain
            if (column := slot.column) is not None
            and column.requirement in (Requirement.REQUIRED, Requirement.REQUIRED_ON_PARENT_ROWS)
        ]
        self._child_flag = spec.child_flag
        self._families = spec.families
        by_field = {slot.column.field: slot for slot in self._plain if slot.column is not None}
        self._ranges = [
            (by_field[start], by_field[end], meaning)
            for start, end, meaning in spec.date_ranges
            if start in by_field and end in by_field
        ]

    def validate(self, number: int, cells: list[str]) -> tuple[Record | None, list[ValidationProblem]]:
        problems: list[ValidationProblem] = []
        values: dict[str, CellValue] = {}
        width = len(cells)
        for slot, field_name, reader, empty, limit, minimum in self._readers:
            raw = cells[slot.index].strip() if slot.index < width else ""
            if not raw:
                values[field_name] = empty
                continue
            if raw[0] == "'":
                raw = unquoted(raw)
            if "\x00" in raw:
                problems.append(self._problem(number, slot, raw, f"{slot.header} contains a NUL byte"))
                continue
            if limit is not None and len(raw) > limit:
                problems.append(self._problem(number, slot, raw, too_long(slot.header, raw, limit)))
                continue
            if reader is None:
                values[field_name] = raw
                continue
            try:
                value = reader(raw, slot.header)
            except CellError as error:
                problems.append(self._problem(number, slot, raw, str(error)))
                continue
            if minimum is not None and Decimal(str(value)) < minimum:
                problems.append(
                    self._problem(number, slot, raw, f"{slot.header} must be {minimum} or more, got '{raw}'")
                )
                continue
            values[field_name] = value
        if self._ranges:
            self._check_ranges(number, cells, values, problems)
        is_child = bool(values.get(self._child_flag)) if self._child_flag else False
        families = self._read_families(number, cells, problems)
        translations = self._read_translations(number, cells, problems)
        self._check_required(number, values, families, is_child, problems)
        self._check_stray_cells(number, cells, problems)
        if problems:
            return None, problems
        return Record(number, values, families, translations, is_child), problems

    def _read_families(
        self, number: int, cells: list[str], problems: list[ValidationProblem]
    ) -> dict[str, dict[str, str]]:
        families: dict[str, dict[str, str]] = {family.field: {} for family in self._families}
        width = len(cells)
        for slot in self._family:
            raw = cells[slot.index].strip() if slot.index < width else ""
            if not raw:
                continue
            if raw[0] == "'":
                raw = unquoted(raw)
            assert slot.family is not None and slot.member is not None
            if "\x00" in raw:
                problems.append(self._problem(number, slot, raw, f"{slot.header} contains a NUL byte"))
            else:
                families[slot.family.field][slot.member] = raw
        return families

    def _read_translations(
        self, number: int, cells: list[str], problems: list[ValidationProblem]
    ) -> dict[str, dict[str, str]]:
        translations: dict[str, dict[str, str]] = {}
        width = len(cells)
        for slot in self._translated:
            raw = cells[slot.index].strip() if slot.index < width else ""
            if not raw:
                continue
            if raw[0] == "'":
                raw = unquoted(raw)
            assert slot.column is not None and slot.locale is not None
            if "\x00" in raw:
                problems.append(self._problem(number, slot, raw, f"{slot.header} contains a NUL byte"))
            else:
                translations.setdefault(slot.column.field, {})[slot.locale] = raw
        return translations

    def _check_required(
        self,
        number: int,
        values: dict[str, CellValue],
        families: dict[str, dict[str, str]],
        is_child: bool,
        problems: list[ValidationProblem],
    ) -> None:
        failed = {problem.field_name for problem in problems} if problems else ()
        for slot, field_name, parent_rows_only in self._required:
            if values.get(field_name) is None and not (parent_rows_only and is_child) and slot.header not in failed:
                message = f"{MISSING}: {slot.header} is required"
                if parent_rows_only:
                    message += " on product rows"
                problems.append(self._problem(number, slot, "", message))
        if not is_child:
            return
        for family in self._families:
            if family.requirement is Requirement.REQUIRED_ON_CHILD_ROWS and not families[family.field]:
                header = f"{family.prefix}[Name]"
                message = f"{MISSING}: a SKU row needs at least one {header} value"
                problems.append(ValidationProblem(number, None, header, "", message))

    def _check_ranges(
        self, number: int, cells: list[str], values: dict[str, CellValue], problems: list[ValidationProblem]
    ) -> None:
        """An end date before its start date: the record's dates say it is never in force."""
        for start, end, meaning in self._ranges:
            assert start.column is not None and end.column is not None
            first, last = values.get(start.column.field), values.get(end.column.field)
            if isinstance(first, datetime) and isinstance(last, datetime) and last < first:
                shown_start, shown_end = cells[start.index].strip(), cells[end.index].strip()
                message = f"{end.header} '{shown_end}' is before {start.header} '{shown_start}': {meaning}"
                problems.append(self._problem(number, end, shown_end, message))

    def _check_stray_cells(self, number: int, cells: list[str], problems: list[ValidationProblem]) -> None:
        width = len(cells)
        if width <= self._width and not self._unused:
            return
        stray = [index for index in self._unused if index < width and cells[index].strip()]
        stray += [index for index in range(self._width, width) if cells[index].strip()]
        for index in stray:
            where = "beyond the last header" if index >= self._width else "under an empty header"
            message = f"a value stands in column {column_letter(index)}, {where}"
            problems.append(ValidationProblem(number, column_letter(index), None, cells[index], message))

    @staticmethod
    def _problem(number: int, slot: Slot, value: str, message: str) -> ValidationProblem:
        return ValidationProblem(number, slot.letter, slot.header, value, message)
