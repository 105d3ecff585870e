"""Cutting records into chunks of about the same size, never separating a record's rows."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from app.errors import UnreadableFile
from app.importing.cells import TRUE_WORDS
from app.importing.header import HeaderMap

HEARTBEAT_SECONDS = 5.0
Heartbeat = Callable[[], None]


def no_heartbeat() -> None:
    return None


@dataclass(frozen=True)
class ChunkLayout:
    first_row: int
    record_count: int
    start_offset: int
    end_offset: int
    rows_key: str | None = None  # where its rows are, when not where the job's are (a sheet read in pieces)


def too_many_rows(limit: int) -> UnreadableFile:
    return UnreadableFile(f"the file has more than {limit} rows, the limit (IMPORTER_MAX_ROWS)")


class RecordRule:
    """Whether a row continues the record of the rows before it: a product's SKU rows (its child flag) and
    an order's lines (the same group value) belong to the record they follow."""

    def __init__(self, header: HeaderMap) -> None:
        self.last_group: str | None = None
        self.follow(header)

    def follow(self, header: HeaderMap) -> None:
        """Use a header that grew (JSON records may bring new keys); earlier columns keep their places."""
        spec = header.spec
        flag = header.slot_for(spec.child_flag) if spec.child_flag else None
        group = header.slot_for(spec.group_by) if spec.group_by else None
        self._flag_index = flag.index if flag else None
        self._group_index = group.index if group else None

    def _cell(self, cells: list[str], index: int | None) -> str | None:
        return cells[index].strip() if index is not None and index < len(cells) else None

    def continues(self, cells: list[str]) -> bool:
        flag = self._cell(cells, self._flag_index)
        if flag is not None and flag.lower() in TRUE_WORDS:
            return True
        group = self._cell(cells, self._group_index)
        return bool(group) and group == self.last_group

    def seen(self, cells: list[str]) -> None:
        """A record's row (not blank) went by."""
        self.last_group = self._cell(cells, self._group_index)

    @property
    def groups(self) -> bool:
        return self._group_index is not None


class RecordStarts:
    """Tells, row after row, whether a row starts a record after the record of a row already seen: the
    places where a sheet may be cut in two (see sheet_pieces.py), by the rule that keeps chunks whole."""

    def __init__(self, header: HeaderMap) -> None:
        self._rule = RecordRule(header)
        self._seen = False

    def starts(self, cells: list[str], blank: bool) -> bool:
        if blank:
            return False
        starts = self._seen and not self._rule.continues(cells)
        self._seen = True
        self._rule.seen(cells)
        return starts


class Cutter:
    """Closes a chunk once it holds `size` records, but only before a row that starts a new record
    (see RecordRule).
    """

    def __init__(
        self,
        header: HeaderMap,
        size: int,
        start: int,
        first_row: int,
        heartbeat: Heartbeat = no_heartbeat,
        max_records: int = 20_000_000,
        on_close: Callable[[ChunkLayout], None] | None = None,
    ) -> None:
        self._heartbeat = heartbeat
        self._on_close = on_close
        self._max_records = max_records
        self.total = 0
        self._beat_at = time.monotonic()
        self._size = size
        self._start = start
        self._end = start
        self._first_row = first_row
        self._count = 0
        self._added = 0
        self._rule = RecordRule(header)
        self.chunks: list[ChunkLayout] = []

    def follow(self, header: HeaderMap) -> None:
        self._rule.follow(header)

    @property
    def groups(self) -> bool:
        """Whether a record's rows are told by a group's value (see RecordRule)."""
        return self._rule.groups

    def _beat_when_due(self) -> None:
        if time.monotonic() - self._beat_at > HEARTBEAT_SECONDS:
            self._heartbeat()
            self._beat_at = time.monotonic()

    def add(self, number: int, cells: list[str], blank: bool, end_offset: int) -> None:
        self._added += 1
        if not self._added & 4095:  # every 4096 rows, whatever their numbers
            self._beat_when_due()
        if not blank:
            if self._count >= self._size and not self._rule.continues(cells):
                self._close()
                self._first_row = number
            self._count_records(1)
            self._rule.seen(cells)
        self._end = end_offset

    def _count_records(self, records: int) -> None:
        self._count += records
        self.total += records
        if self.total > self._max_records:
            raise too_many_rows(self._max_records)

    def restart_at(self, first_row: int) -> None:
        """Number the open chunk from this row (a piece of a sheet, whose rows start mid-file)."""
        self._first_row = first_row

    def room(self) -> int:
        """How many more records the open chunk takes before a record may close it."""
        return max(self._size - self._count, 0)

    def add_run(self, records: int, end_offset: int, last_cells: Callable[[], list[str]]) -> None:
        """Add `records` non-blank records at most `room()` (none of them can close the chunk), ending at
        `end_offset`; `last_cells` gives the last one's cells, read only when the chunks follow a group."""
        self._count_records(records)
        if self._rule.groups:
            self._rule.seen(last_cells())
        self._end = end_offset
        self._beat_when_due()

    def _close(self) -> None:
        if self._count:
            chunk = ChunkLayout(self._first_row, self._count, self._start, self._end)
            self.chunks.append(chunk)
            if self._on_close is not None:
                self._on_close(chunk)
        self._start = self._end
        self._count = 0

    def finish(self) -> list[ChunkLayout]:
        """Close the last chunk. It is not handed to `on_close`: the plan stores it with the layout, whole."""
        self._on_close = None
        self._close()
        return self.chunks
