"""Cutting a CSV into chunks from its bytes: a record is parsed only where a chunk may end.

Planning needs each chunk's byte range and record count, not the records' cells. A block of the file
whose quoting is plain (every quoted field opens after a delimiter or a line end, closes before one,
and holds no line end; no NUL, no lone carriage return) has one record per line, so its records are
counted with C string calls: no CSV parser runs over it. Only three kinds of line are parsed: the
ones where a chunk is full and the next record may close it (a SKU row stays with its product), the
ones that may be blank, and the last one of a run when chunks follow a group column.

The first block that is not plain hands the rest of the file to the CSV parser (`read_records`),
record by record, exactly as before: multi-line quoted fields and quotes inside unquoted fields are
read as Python's csv module reads them, and the chunk boundaries are the same either way.

Where the package was built with a C compiler, one pass of compiled code (`_csvscan.survey`) tells a
block plain, checks its UTF-8, counts its lines and finds those that may be blank, and `skip_lines` finds
where a run of lines ends: what the regular expressions, the decode and a call a line did in Python.
"""

from __future__ import annotations

import bisect
import codecs
import csv
import io
import re
from functools import partial
from typing import BinaryIO

from app.importing.chunking import Cutter
from app.importing.readers.delimited import cells_blank, read_records

try:
    from app.importing import _csvscan
except ImportError:  # built without a C compiler: the regular expressions below survey each block
    _csvscan = None  # type: ignore[assignment]
COMPILED = _csvscan is not None

# Bytes a blank line may hold: white space (ASCII, and the lead and continuation bytes of UTF-8's
# other spaces), quotes and the delimiter. A line made only of them is parsed to tell.
_BLANKISH = rb"\t\x0b\x0c\r\x1c-\x20\x22\x80-\xbf\xc2\xe1-\xe3"
_MIN_READ = 4096
_MAX_READ = 4 * 1024**2


def plain_quoting(delimiter: str) -> re.Pattern[bytes] | None:
    """The pattern a block of lines with plain quoting matches whole (see the module's text), or None
    for a delimiter it cannot be told with."""
    if len(delimiter) != 1 or not delimiter.isascii() or delimiter in '"\r\n':
        return None
    d = re.escape(delimiter.encode("ascii"))
    quoted = rb"(?<![^" + d + rb'\n])"[^"\n]*+(?:""[^"\n]*+)*+"(?![^' + d + rb"\r\n])"
    return re.compile(rb'[^"]*+(?:' + quoted + rb'[^"]*+)*+')


def is_plain(pattern: re.Pattern[bytes], data: bytes) -> bool:
    """Whether `data` has plain quoting: one record per line, no NUL, no lone carriage return."""
    if b"\x00" in data or (b"\r" in data and data.count(b"\r") != data.count(b"\r\n")):
        return False
    return pattern.fullmatch(data) is not None


class _Resumed(io.RawIOBase):
    """The bytes already read from a stream, then the rest of it."""

    def __init__(self, head: bytes, rest: BinaryIO) -> None:
        self._head = memoryview(head)
        self._rest = rest

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._head:
            data = self._rest.read(len(buffer))
            buffer[: len(data)] = data
            return len(data)
        count = min(len(buffer), len(self._head))
        buffer[:count] = self._head[:count]
        self._head = self._head[count:]
        return count


class CsvCutting:
    """Feeds a Cutter the records of a CSV stream positioned after its header."""

    def __init__(
        self,
        cutter: Cutter,
        *,
        encoding: str,
        delimiter: str,
        max_field_bytes: int,
        max_line_bytes: int,
        read_bytes: int | None = None,
    ) -> None:
        self._cutter = cutter
        self._encoding = encoding
        self._delimiter = delimiter
        self._max_line_bytes = max_line_bytes
        # A block no longer than every limit cannot hold a field or a line over its limit.
        self._fast_bytes = min(max_field_bytes, max_line_bytes)
        self._read_bytes = read_bytes or min(max(self._fast_bytes // 2, _MIN_READ), _MAX_READ)
        self._plain = plain_quoting(delimiter)
        self._compiled = COMPILED and self._plain is not None
        self._utf8 = codecs.lookup(encoding).name == "utf-8"
        if self._plain is not None:
            d = re.escape(delimiter.encode("ascii"))
            self._blank_first = re.compile(rb"[" + _BLANKISH + d + rb"]*\n")
            self._blank_next = re.compile(rb"\n(?=[" + _BLANKISH + d + rb"]*\n)")

    def cut(self, stream: BinaryIO, offset: int, number: int) -> None:
        """Add every record from `offset` (row `number`) to the end of the stream."""
        pending = b""  # read, not yet added: the start of a line, or what the parser takes over
        while self._plain is not None:
            block = stream.read(self._read_bytes)
            data = pending + block if pending else block
            end = data.rfind(b"\n") + 1
            if not block or len(data) > self._fast_bytes:
                pending = data
                break
            if end:
                surveyed = self._survey(data[:end], offset)
                if surveyed is None:
                    pending = data
                    break
                number += self._cut_plain(data[:end], offset, number, *surveyed)
                offset += end
            pending = data[end:]
        self._parse_rest(_Resumed(pending, stream), offset, number)

    def _survey(self, data: bytes, offset: int) -> tuple[int, list[int]] | None:
        """A block's count of lines and the numbers of its blank lines, or None when it is not plain; a
        plain block's text that is not in the encoding raises UnicodeDecodeError."""
        assert self._plain is not None
        found = _csvscan.survey(data, ord(self._delimiter), self._utf8) if self._compiled else None
        if found is None:
            if not is_plain(self._plain, data):
                return None
            self._decode(data, offset)  # raises where the compiled survey found no UTF-8
            found = data.count(b"\n"), self._blankish_lines(data)
        elif not self._utf8:
            self._decode(data, offset)
        lines, blankish = found
        return lines, [line for line, start in blankish if self._blank_at(data, start, offset)]

    def _decode(self, data: bytes, offset: int) -> str:
        try:
            return data.decode(self._encoding)
        except UnicodeDecodeError as error:  # the position in the file, not in the block
            raise UnicodeDecodeError(
                error.encoding, b"", offset + error.start, offset + error.end, error.reason
            ) from None

    def _cells(self, line: bytes, offset: int) -> list[str]:
        return next(csv.reader([self._decode(line, offset)], delimiter=self._delimiter, strict=False), [])

    def _blankish_lines(self, data: bytes) -> list[tuple[int, int]]:
        """(number in `data`, start) of each line that holds nothing but bytes a blank line may hold."""
        starts = [0] if self._blank_first.match(data) else []
        starts += [found.end() for found in self._blank_next.finditer(data)]
        found = []
        line = counted_to = 0  # the number of the line at `counted_to`, counted on from the last start
        for start in starts:
            line += data.count(b"\n", counted_to, start)
            counted_to = start
            found.append((line, start))
        return found

    def _blank_at(self, data: bytes, start: int, offset: int) -> bool:
        """Whether the line at `start` in `data` holds no cell but white space."""
        return cells_blank(self._cells(data[start : data.index(b"\n", start) + 1], offset + start))

    def _skip(self, data: bytes, position: int, lines: int) -> int:
        """The offset in `data` just after the `lines`-th line end from `position`."""
        if self._compiled:
            return int(_csvscan.skip_lines(data, position, lines))
        for _ in range(lines):
            position = data.index(b"\n", position) + 1
        return position

    def _cut_plain(self, data: bytes, offset: int, number: int, lines: int, blank: list[int]) -> int:
        """Add the records of a plain block (one per line, each line ending in a line feed, `blank` the
        numbers of those that are blank); return how many lines it has."""
        cutter = self._cutter
        line = position = 0  # the next line's number in the block, and where it starts
        while line < lines:
            next_blank = blank[bisect.bisect_left(blank, line)] if blank and blank[-1] >= line else lines
            room = min(cutter.room(), next_blank - line)
            if room:  # records that cannot close the chunk: counted, not parsed
                start = self._skip(data, position, room - 1)
                position = self._skip(data, start, 1)
                cutter.add_run(room, offset + position, partial(self._cells, data[start:position], offset + start))
                line += room
                continue
            start, position = position, data.index(b"\n", position) + 1
            cells = self._cells(data[start:position], offset + start)
            cutter.add(number + line, cells, line == next_blank, offset + position)
            line += 1
        return lines

    def _parse_rest(self, stream: _Resumed, offset: int, number: int) -> None:
        records = read_records(
            io.BufferedReader(stream, 1 << 20), encoding=self._encoding, delimiter=self._delimiter,
            first_row=number, start_offset=offset, max_line_bytes=self._max_line_bytes,
        )  # fmt: skip
        for row in records:
            self._cutter.add(row.number, row.cells, row.is_blank, row.end_offset)
