"""A large sheet read in two parts at once: the plan from its start, a piece from a target byte past its
middle (sheet_pieces.PLAN_SHARE).

Where the piece begins must be where a reading from the start would cut: before the first row that
starts a record (see chunking.RecordStarts) among the rows after the one that crosses the target
byte. Both readings find that row by the same rule over the same rows. The piece leaves out every row
before the target unread and reads on as if expat stood between two rows there, which it cannot know;
the plan, reading from the start, does know, so it takes the piece's rows only if it stands between
rows at the very byte the piece began, with the same row next. Otherwise it reads on by itself.

The places known are those of the rows the scan reads (sheet_rows.py); the rows around the cut must be
among them, or the sheet is read whole by the plan.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from app.errors import UnreadableFile
from app.importing.chunking import ChunkLayout, RecordStarts
from app.importing.normalized import NormalizedWriter
from app.importing.normalizer import NO_LIMIT, HeaderFailed, Normalizer, RowWatch, Seen
from app.importing.planning import PieceRows, Plan, Split, rows_key_for, seekable_copy
from app.importing.readers.sheet_xml import NoPieceStart, RowPlace
from app.importing.sources import xlsx_rows


class PlanCut(RowWatch):
    """Watches the plan's rows for the place where the piece would begin, and asks for the piece there."""

    def __init__(self, split: Split, target: int, normalizer: Normalizer, place: RowPlace) -> None:
        self.split, self._target, self._normalizer, self._place = split, target, normalizer, place
        self._starts: RecordStarts | None = None  # once the row that crosses the target went by
        self._last_end = -1  # where the last row ends, if the scan read it
        self._unsure = False  # a row of unknown place since the last known one before the target
        self.done = False
        self.piece: PieceRows | None = None

    def __call__(self, number: int, cells: list[str], blank: bool) -> Seen:
        if self.done:
            return "write"
        end = self._place.end
        if self._starts is None:
            if end < 0:
                self._unsure = True
            elif end < self._target:
                self._unsure = False
            elif self._unsure:  # the row that crossed the target may have been the one of unknown place
                self.done = True
            else:
                self._starts = RecordStarts(self._normalizer.header)
            return "write"
        if self._starts.starts(cells, blank):
            self.done = True
            self.piece = self.split.piece_at(self._last_end, number)
            return "write" if self.piece is None else "stop"
        if end < 0:
            self.done = True
        self._last_end = end
        return "write"

    def run_limit(self) -> int:
        """Rows before the target, each of a known place (as a run's are), need not be seen one by one; nor
        any once the cut is decided."""
        if self.done:
            return NO_LIMIT
        return self._target if self._starts is None else 0

    def ran(self) -> None:
        if not self.done and self._starts is None:
            self._unsure = False  # the run's rows ended before the target, each at a known place


class _PieceStart(RowWatch):
    """Drops the piece's rows up to the one that starts a record (by the same rule as PlanCut)."""

    def __init__(self, normalizer: Normalizer, place: RowPlace, plan: Plan, found: Found | None) -> None:
        self._normalizer, self._place, self._plan, self._found = normalizer, place, plan, found
        self._starts: RecordStarts | None = None
        self._last_end = -1
        self.start: int | None = None
        self.first_row: int | None = None

    def __call__(self, number: int, cells: list[str], blank: bool) -> Seen:
        if self.start is not None:
            return "write"
        if number < 1:
            raise NoPieceStart  # a row after those left out that does not say its number: its number is not known
        if self._starts is None:
            self._starts = RecordStarts(self._normalizer.header)
        if self._starts.starts(cells, blank):
            self.start, self.first_row = self._last_end, number
            self._normalizer.restart_at(number)
            if self._found is not None:
                self._found(self._last_end, number)
            return "write"
        if self._place.end < 0:
            raise NoPieceStart  # the rows before the start must have known places
        self._last_end = self._place.end
        self._plan.heartbeat()
        return "drop"

    def run_limit(self) -> int:
        return 0 if self.start is None else NO_LIMIT


# Told where the piece begins as soon as it knows: (byte, row number).
Found = Callable[[int, int], None]


@dataclass
class PieceRead:
    """What reading a piece found: where it began (None: it could not), its rows and how many records they
    hold, or what stopped it after it began (and how many records it had read by then)."""

    start: int | None = None
    first_row: int | None = None
    rows_key: str | None = None
    chunks: list[ChunkLayout] = field(default_factory=list)
    records: int = 0
    error: str | None = None


def read_piece(plan: Plan, target: int, found: Found | None = None) -> PieceRead:
    """Read the sheet from the first row that starts a record after the row crossing byte `target`,
    writing its normalized rows to a file of its own and cutting them into chunks."""
    rows_key = rows_key_for(plan.key)
    writer = NormalizedWriter(plan.storage, rows_key)
    normalizer = Normalizer(plan.spec, writer, plan.limits, plan.chunk_rows, plan.heartbeat)
    place = RowPlace()
    start = _PieceStart(normalizer, place, plan, found)
    try:
        with seekable_copy(plan.storage, plan.key) as source:
            rows = xlsx_rows(source, plan.options.sheet_name, plan.limits, target, place, normalizer.record_runs())
            normalizer.add(rows, watch=start)
        writer.close()
    except (NoPieceStart, HeaderFailed):
        writer.discard()
        return PieceRead()
    except UnreadableFile as error:
        writer.discard()
        if start.start is None:  # what it read before its start is not known to be the sheet's rows
            return PieceRead()
        return PieceRead(start.start, start.first_row, records=normalizer.records, error=str(error))
    except BaseException:
        writer.discard()
        raise
    if start.start is None:
        writer.discard()
        return PieceRead()
    chunks = [
        ChunkLayout(chunk.first_row, chunk.record_count, chunk.start_offset, chunk.end_offset, rows_key)
        for chunk in normalizer.finish()
    ]
    return PieceRead(start.start, start.first_row, rows_key, chunks, normalizer.records)
