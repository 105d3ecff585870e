"""JSON (an array of objects) and JSONL (an object per line): records keyed by header names, streamed.

Each record comes with its number: a JSONL record's line, a JSON record's place in its array (the first
is 1), which stays unique and in order however the array is laid out, several records on a line among
them. A record that cannot be read is returned with a problem instead, so that one damaged record never
stops the reading of the others.
"""

from __future__ import annotations

import codecs
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO, cast

from app.errors import UnreadableFile
from app.importing.problems import row_problem_text

READ_BYTES = 1 << 16
JsonScalar = str | bool | None
# A lone surrogate reaches a string only through an escape (the text itself is strict UTF-8): records without
# one are not searched.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile(r"[\ud800-\udfff]")


@dataclass(frozen=True, slots=True)
class KeyedRecord:
    number: int
    values: dict[str, JsonScalar]
    problem: str | None = None


class _Members(list[tuple[str, object]]):
    """A JSON object's members in order, each name as often as it is given (a dict keeps only the last)."""


# A number is kept as the text it is written as, and read as that text in a CSV is: every digit kept (1.10,
# 19.999999999999999, a 30-digit integer), never taken for a spreadsheet's serial date in a date column.
_DECODER = json.JSONDecoder(object_pairs_hook=_Members, parse_float=str, parse_int=str, parse_constant=str)


def _record(number: int, where: str, text: str) -> KeyedRecord:
    """The record numbered `number`, `where` naming it in a problem ("line 3", "record 2, starting on line 5,")."""
    try:
        value = _DECODER.decode(text)
    except json.JSONDecodeError as error:
        return KeyedRecord(number, {}, f"{where} is not valid JSON: {error.msg}")
    except RecursionError:  # json reads nested values by recursion; where the record ends is known already
        nested = f"{where} holds lists or objects nested too deep to read"
        return KeyedRecord(number, {}, f"{nested}: a value must be text, a number, true/false or null")
    if not isinstance(value, _Members):
        return KeyedRecord(number, {}, f"{where} must hold a JSON object of header names and values")
    problem = _unstorable(value)
    values = dict(value)
    if problem is None and _SURROGATE_ESCAPE.search(text):
        problem = _lone_surrogate(values)
    if problem is not None:
        return KeyedRecord(number, {}, problem)
    return KeyedRecord(number, cast(dict[str, JsonScalar], values))


def _unstorable(members: _Members) -> str | None:
    """The problem of the first member that no column can take: a list or object, or a name given again
    (compared as header names are, case and outer spaces aside)."""
    first: dict[str, str] = {}
    for count, (name, item) in enumerate(members, start=1):
        if isinstance(item, _Members | list):
            message = f"'{_shown(name)}' must be text, a number, true/false or null, not a list or object"
            return row_problem_text(message, field=_shown(name))
        earlier = first.setdefault(name.strip().lower(), name.strip())
        if len(first) < count:
            also = "" if earlier == name.strip() else f" (also as '{_shown(earlier)}')"
            return row_problem_text(f"key '{_shown(name.strip())}' appears twice{also}", field=_shown(name.strip()))
    return None


def _shown(name: str) -> str:
    """A name as a message can hold it: a lone surrogate written as its escape."""
    return name.encode("utf-8", "backslashreplace").decode("utf-8")


def _lone_surrogate(values: dict[str, object]) -> str | None:
    """The problem of the first name or text holding a lone surrogate: half of a UTF-16 pair, which UTF-8,
    and so no stored text, can hold."""
    for key, item in values.items():
        for text, subject in ((key, f"the name '{_shown(key)}'"), (item, f"'{_shown(key)}'")):
            if isinstance(text, str) and (found := _SURROGATE.search(text)):
                message = f"{subject} holds a lone surrogate \\u{ord(found.group()):04x}, which no text can store"
                return row_problem_text(message, field=_shown(key))
    return None


def _text(stream: BinaryIO) -> Iterator[str]:
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    try:
        for block in iter(lambda: stream.read(READ_BYTES), b""):
            yield decoder.decode(block)
        yield decoder.decode(b"", final=True)
    except UnicodeDecodeError as error:
        raise UnreadableFile(f"the JSON is not UTF-8 text: {error.reason} at byte {error.start}") from None


def _too_long(where: str, limit: int) -> UnreadableFile:
    return UnreadableFile(f"the JSON {where} is longer than the limit of {limit} bytes (IMPORTER_MAX_LINE_BYTES)")


def read_json_lines(stream: BinaryIO, max_record_bytes: int = 16 * 1024**2) -> Iterator[KeyedRecord]:
    pending = ""
    line = 0
    for text in _text(stream):
        pending += text
        *complete, pending = pending.split("\n")
        if len(pending) > max_record_bytes:
            raise _too_long(f"record on line {line + len(complete) + 1}", max_record_bytes)
        for item in complete:
            line += 1
            if item.strip():
                yield _record(line, f"line {line}", item)
    if pending.strip():
        yield _record(line + 1, f"line {line + 1}", pending)


class _ArrayScanner:
    """Finds the top-level objects of a JSON array as text, tracking strings, escapes, lines and how many
    records came before."""

    def __init__(self, max_record_bytes: int) -> None:
        self.max_record_bytes = max_record_bytes
        self.line = 1
        self.started = False
        self.finished = False
        self.depth = 0
        self.in_string = False
        self.escaped = False
        self.current: list[str] = []
        self.start_line = 1
        self.records = 0
        self.expected = "{]"  # between records: what may come next

    def feed(self, text: str) -> Iterator[KeyedRecord]:
        for char in text:
            if char == "\n":
                self.line += 1
            if self.depth:
                yield from self._inside(char)
            elif not char.isspace():
                self._between(char)

    def _between(self, char: str) -> None:
        """A character outside every record: the array's brackets and the commas between its records."""
        if self.finished:
            raise UnreadableFile(
                f"the JSON array ends before line {self.line}, where more follows it: a JSON file holds one array"
            )
        if not self.started:
            if char != "[":
                raise UnreadableFile("a JSON file must hold an array of objects: it must start with '['")
            self.started = True
        elif char not in self.expected:
            if char == "{":
                problem = f"a comma is missing before the record that starts on line {self.line}"
            elif char == "]":
                problem = f"a comma stands before the array's end, on line {self.line}"
            else:
                problem = f"the JSON array holds something other than an object at line {self.line}"
            raise UnreadableFile(problem)
        elif char == "{":
            self.depth, self.current, self.start_line = 1, ["{"], self.line
            self.records += 1
        elif char == "]":
            self.finished = True
        else:
            self.expected = "{"

    def _inside(self, char: str) -> Iterator[KeyedRecord]:
        self.current.append(char)
        if len(self.current) > self.max_record_bytes:
            raise _too_long(self._where(), self.max_record_bytes)
        if self.in_string:
            if self.escaped:
                self.escaped = False
            elif char == "\\":
                self.escaped = True
            elif char == '"':
                self.in_string = False
        elif char == '"':
            self.in_string = True
        elif char in "{[":
            self.depth += 1
        elif char in "}]":
            self.depth -= 1
            if self.depth == 0:
                self.expected = ",]"
                yield _record(self.records, self._where(), "".join(self.current))

    def _where(self) -> str:
        return f"record {self.records}, starting on line {self.start_line},"


def read_json_array(stream: BinaryIO, max_record_bytes: int = 16 * 1024**2) -> Iterator[KeyedRecord]:
    """The array's records; what follows its end is read too, and must be nothing but white space."""
    scanner = _ArrayScanner(max_record_bytes)
    for text in _text(stream):
        yield from scanner.feed(text)
    if not scanner.started:
        raise UnreadableFile("the file is empty: a JSON file holds an array of objects")
    if not scanner.finished:
        raise UnreadableFile(f"the JSON array is not closed: the file ends inside it at line {scanner.line}")
