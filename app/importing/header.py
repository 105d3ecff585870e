"""Header validation: every header cell mapped to a column, a family member or a translation."""

from __future__ import annotations

import difflib
import re
from dataclasses import dataclass, field

from app.importing.locales import normalise_locale
from app.importing.problems import ValidationProblem, column_letter
from specifications.model import Column, ColumnFamily, Requirement, Specification

# The column the failed-rows file adds to the rows to fix: a file fixed and sent back as it is brings it along,
# and its cells are messages, not values (unless the specification has a column of that name).
ERROR_HEADER = "Error"
_FAMILY = re.compile(r"^\s*([^\[\]]+?)\s*\[\s*(.+?)\s*\]\s*$")
_TRANSLATION = re.compile(r"^\s*(.+?)\s*\(\s*([^()]+?)\s*\)\s*$")


@dataclass(frozen=True, slots=True)
class Slot:
    """What one header cell feeds: a column, a family member (`attributes`/`Color`) or a translation."""

    index: int
    header: str
    column: Column | None = None
    family: ColumnFamily | None = None
    member: str | None = None
    locale: str | None = None

    @property
    def letter(self) -> str:
        return column_letter(self.index)


@dataclass(frozen=True)
class HeaderMap:
    spec: Specification
    cells: tuple[str, ...]
    slots: tuple[Slot, ...]
    problems: tuple[ValidationProblem, ...] = field(default=())
    ignored: tuple[int, ...] = field(default=())  # the failed-rows file's Error column, when it came back

    @property
    def read(self) -> frozenset[int]:
        """The columns whose cells are taken up (a value in any other column is a stray one)."""
        return frozenset(slot.index for slot in self.slots).union(self.ignored)

    def slot_for(self, field_name: str) -> Slot | None:
        for slot in self.slots:
            if slot.column is not None and slot.locale is None and slot.column.field == field_name:
                return slot
        return None


def _known_headers(spec: Specification) -> list[str]:
    names = [column.header for column in spec.columns]
    names += [f"{family.prefix}[Name]" for family in spec.families]
    return names


def _suggestion(spec: Specification, header: str) -> str:
    known = _known_headers(spec)
    lowered = {name.lower(): name for name in known}
    close = difflib.get_close_matches(header.strip().lower(), list(lowered), n=1, cutoff=0.5)
    return f"; did you mean '{lowered[close[0]]}'?" if close else ""


def _resolve_cell(spec: Specification, index: int, header: str) -> Slot | str:
    """The slot of one header cell, or a message saying why it has none."""
    wanted = header.strip().lower()
    if wanted in spec.refused_headers:
        return f"header '{header.strip()}' is refused: {spec.refused_headers[wanted]}"
    for column in spec.columns:
        if column.header.lower() == wanted:
            return Slot(index, header.strip(), column=column)
    family_match = _FAMILY.match(header)
    if family_match:
        prefix, member = family_match.group(1).lower(), family_match.group(2)
        for family in spec.families:
            if family.prefix.lower() == prefix:
                return Slot(index, header.strip(), family=family, member=member)
    translation_match = _TRANSLATION.match(header)
    if translation_match:
        base, locale_text = translation_match.group(1).lower(), translation_match.group(2)
        for column in spec.columns:
            if column.header.lower() == base:
                if not column.translatable:
                    return f"'{column.header}' cannot be translated"
                locale = normalise_locale(locale_text)
                if locale is None:
                    return f"unknown locale '{locale_text}' in header '{header.strip()}'"
                return Slot(index, header.strip(), column=column, locale=locale)
    return f"unknown header '{header.strip()}'{_suggestion(spec, header)}"


def resolve_header(spec: Specification, cells: list[str]) -> HeaderMap:
    slots: list[Slot] = []
    problems: list[ValidationProblem] = []
    ignored: list[int] = []
    seen: dict[tuple[str, str | None, str | None], str] = {}
    for index, cell in enumerate(cells):
        if not cell.strip():
            continue
        resolved = _resolve_cell(spec, index, cell)
        letter = column_letter(index)
        if isinstance(resolved, str) and cell.strip().lower() == ERROR_HEADER.lower() and not ignored:
            ignored.append(index)
            continue
        if isinstance(resolved, str):
            problems.append(ValidationProblem(1, letter, cell.strip(), cell, resolved))
            continue
        identity = (
            resolved.column.field if resolved.column else resolved.family.field if resolved.family else "",
            resolved.member.lower() if resolved.member else None,
            resolved.locale,
        )
        if identity in seen:
            message = f"header '{cell.strip()}' appears twice (also in column {seen[identity]})"
            problems.append(ValidationProblem(1, letter, cell.strip(), cell, message))
            continue
        seen[identity] = letter
        slots.append(resolved)
    present = {slot.column.field for slot in slots if slot.column and slot.locale is None}
    for column in spec.columns:
        needed = column.requirement in (Requirement.REQUIRED, Requirement.REQUIRED_ON_PARENT_ROWS)
        if needed and column.field not in present:
            message = f"Missing required header '{column.header}'"
            problems.append(ValidationProblem(1, None, column.header, None, message))
    return HeaderMap(spec, tuple(cells), tuple(slots), tuple(problems), tuple(ignored))
