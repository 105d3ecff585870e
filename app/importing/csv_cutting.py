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
"""

from __future__ import annotations

import bisect
import csv
import io
import re
from functools import partial
from typing import BinaryIO

from app.importing.chunking import Cutter
from app.importing.readers.delimited import cells_blank, read_records

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
            if not block or (end and not self._is_plain(data[:end])) or len(data) > self._fast_bytes:
                pending = data
                break
            if end:
                number += self._cut_plain(data[:end], offset, number)
                offset += end
            pending = data[end:]
        self._parse_rest(_Resumed(pending, stream), offset, number)

    def _is_plain(self, data: bytes) -> bool:
        assert self._plain is not None
        return is_plain(self._plain, data)

    def _decode(self, data: bytes, offset: int) -> str:
        try:
            return data.decode(self._encoding)
        except UnicodeDecodeError as error:  # the position in the file, not in the block
            raise UnicodeDecodeError(
                error.encoding, b"", offset + error.start, offset + error.end, error.reason
            ) from None

    def _cells(self, line: bytes, offset: int) -> list[str]:
        return next(csv.reader([self._decode(line, offset)], delimiter=self._delimiter, strict=False), [])

    def _blank_lines(self, data: bytes, offset: int) -> list[int]:
        """The numbers (in `data`) of the lines that hold nothing but white space."""
        starts = [0] if self._blank_first.match(data) else []
        starts += [found.end() for found in self._blank_next.finditer(data)]
        blank = []
        line = counted_to = 0  # the number of the line at `counted_to`, counted on from the last start
        for start in starts:
            line += data.count(b"\n", counted_to, start)
            counted_to = start
            if cells_blank(self._cells(data[start : data.index(b"\n", start) + 1], offset + start)):
                blank.append(line)
        return blank

    def _cut_plain(self, data: bytes, offset: int, number: int) -> int:
        """Add the records of a plain block (one per line, each line ending in a line feed); return how many."""
        self._decode(data, offset)
        cutter = self._cutter
        blank = self._blank_lines(data, offset)
        lines = data.count(b"\n")
        line = position = 0  # the next line's number in the block, and where it starts
        while line < lines:
            next_blank = blank[bisect.bisect_left(blank, line)] if blank and blank[-1] >= line else lines
            room = min(cutter.room(), next_blank - line)
            if room:  # records that cannot close the chunk: counted, not parsed
                start = position
                for _ in range(room):
                    start, position = position, data.index(b"\n", position) + 1
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
