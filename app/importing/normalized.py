"""Normalized rows: what planning writes beside an upload that is not CSV, for chunks to read by range.

Each record is one UTF-8 CSV row: its row number, the reader's problem with it (usually empty),
then its cells as text in header order.
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from typing import BinaryIO

from app.importing.readers.delimited import SourceRow, read_records
from app.storage import UploadStorage

try:
    from app.importing import _records
except ImportError:  # built without a C compiler: every record goes through the csv module
    _records = None  # type: ignore[assignment]
COMPILED = _records is not None
# A row's cells and record at once, where the row is plain (see _records.c); None where not compiled.
sheet_record = getattr(_records, "sheet_record", None)


class _Line:
    """Where the CSV writer puts a record: it writes each record whole, in one call."""

    text = ""

    def write(self, text: str) -> None:
        self.text = text


class NormalizedWriter:
    def __init__(self, storage: UploadStorage, key: str) -> None:
        self._writer = storage.create(key)
        self._line = _Line()
        # Records end in "\n", but the writer is told "\r\n": it then quotes a cell holding a lone "\r" too,
        # which it leaves bare for "\n" (a record the readers refuse: "new-line character seen in unquoted
        # field").
        self._csv = csv.writer(self._line, lineterminator="\r\n")
        self.offset = 0

    def write(self, number: int, problem: str | None, cells: list[str]) -> int:
        """Append one record; returns the offset where it ends."""
        if _records is None:
            data = self._csv_record(number, problem, cells)
        else:
            try:
                data = _records.record(number, problem or "", cells)
            except (TypeError, UnicodeEncodeError):  # the csv module says what is wrong, or writes it as it can
                data = self._csv_record(number, problem, cells)
        return self.write_record(data)

    def write_record(self, data: bytes) -> int:
        """Append a record's bytes (as `write` or sheet_record makes them); returns the offset where it ends."""
        self._writer.write(data)
        self.offset += len(data)
        return self.offset

    def _csv_record(self, number: int, problem: str | None, cells: list[str]) -> bytes:
        """The record as the csv module writes it (what `record`, compiled, writes faster)."""
        self._csv.writerow([str(number), problem or "", *cells])
        return (self._line.text[:-2] + "\n").encode("utf-8")

    def readable(self) -> int:
        """How far other processes can read the rows already (see UploadWriter.readable)."""
        return self._writer.readable()

    def close(self) -> None:
        self._writer.close()

    def discard(self) -> None:
        self._writer.discard()


def read_normalized(stream: BinaryIO) -> Iterator[SourceRow]:
    for row in read_records(stream, encoding="utf-8", delimiter=",", first_row=0):
        yield SourceRow(int(row.cells[0]), row.cells[2:], row.end_offset, row.cells[1] or None)
