"""The normalizer: rows of any source written as normalized rows under one growing header, cut into chunks."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Literal

from app.errors import UnreadableFile
from app.importing.chunking import ChunkLayout, Cutter, Heartbeat
from app.importing.header import HeaderMap, resolve_header
from app.importing.limits import ReadLimits
from app.importing.normalized import NormalizedWriter, sheet_record
from app.importing.problems import column_letter, row_problem_text
from app.importing.readers.sheet_rows import UNSAVED_FORMULA, RecordRun, RecordRuns
from app.importing.readers.workbook import SheetCell, cell_text
from app.importing.sources import NamedRow
from specifications.model import ColumnKind, Specification

# What a watcher of the normalizer's rows wants done with a row: see Normalizer.add.
Seen = Literal["write", "drop", "stop"]
Watch = Callable[[int, list[str], bool], Seen]
# A limit on where runs of records may end that is no limit: past any sheet's last byte.
NO_LIMIT = 1 << 62


class RowWatch:
    """What a Watch that is also this class may say of the rows it would see: that those which end before
    `run_limit()`, a byte of the sheet's part (0: none), may pass unseen, as runs of records (see RecordRuns)."""

    def run_limit(self) -> int:
        return 0

    def ran(self) -> None:
        """Rows went by unseen, where run_limit allowed (the reader's place is at the end of the last)."""


# How cell_text tells column kinds apart, as sheet_record (_records.c) codes them; any other kind is 0.
_KIND_CODES = {ColumnKind.FLAG: 1, ColumnKind.DATE: 2, ColumnKind.IDENTIFIER: 3, ColumnKind.CODE: 3,
               ColumnKind.INTEGER: 3}  # fmt: skip


def _unsaved(position: int, names: list[str]) -> str:
    letter = column_letter(position)
    message = (
        f"the cell in column {letter} holds a formula with no saved value: open and save the "
        "file in a spreadsheet program, which computes it, or paste the values"
    )
    return row_problem_text(message, letter, names[position] if position < len(names) else None)


class HeaderFailed(Exception):
    """The header has a problem no later row can mend; the planner reports it."""


class Normalizer:
    """Keeps one header for every row it is given: each new name gets the next column.

    With `publish`, each chunk is handed on as soon as other processes can read its rows (see
    UploadWriter.readable), while the rows after it are still being written. Only a source whose header
    is whole from its first row may publish (a sheet); one whose header grows (JSON, a ZIP of files) may
    not, since a chunk read with the header as it was would miss the columns that came later.
    """

    def __init__(
        self,
        spec: Specification,
        writer: NormalizedWriter,
        limits: ReadLimits,
        chunk_rows: int,
        heartbeat: Heartbeat,
        publish: Callable[[ChunkLayout], None] | None = None,
    ) -> None:
        self.spec, self.writer, self.limits = spec, writer, limits
        self._publish = publish
        self._unpublished: list[ChunkLayout] = []  # cut, waiting for their rows to be readable
        self.published = 0  # chunks handed on
        self.names: list[str] = []
        self._index: dict[str, list[int]] = {}  # a name's columns, in order
        self._positions: dict[int, tuple[list[str], list[int], bool]] = {}
        self.header: HeaderMap = resolve_header(spec, [])
        self._kinds: dict[int, ColumnKind] = {}
        self._kind_codes = b""  # each column's kind, for sheet_record
        self._cutter = Cutter(self.header, chunk_rows, 0, 1, heartbeat, limits.max_rows, self._cut)
        self.records = 0
        self._runs: RecordRuns | None = None
        self._own = False  # the last names seen are the header's own columns, in order

    def record_runs(self) -> RecordRuns:
        """What to hand a sheet's reader (xlsx_rows) so that it gives runs of plain rows as the records this
        normalizer would write for them, wherever the rows need nothing more of it: no Python per row."""
        if self._runs is None:
            self._runs = RecordRuns()
        return self._runs

    def _ask_for_runs(self, base: int, watch: Watch | None) -> None:
        """Tell the reader what runs it may give before the next row is read."""
        runs = self._runs
        assert runs is not None
        limit = NO_LIMIT if watch is None else watch.run_limit() if isinstance(watch, RowWatch) else 0
        if not (limit and self._own and base == 0 and sheet_record is not None and not self._cutter.groups):
            runs.max_records = 0
            return
        runs.kinds, runs.count, runs.max_chars = self._kind_codes, len(self.names), self.limits.max_field_bytes
        runs.max_records, runs.limit = self._cutter.room(), limit

    def _cut(self, chunk: ChunkLayout) -> None:
        if self._publish is not None and not self.header.problems:
            self._unpublished.append(chunk)

    def _publish_readable(self) -> None:
        assert self._publish is not None
        readable = self.writer.readable()
        while self._unpublished and self._unpublished[0].end_offset <= readable:
            self._publish(self._unpublished.pop(0))
            self.published += 1

    def _grown(self) -> None:
        """Follow the header after new names were added."""
        if wide := self.limits.too_many_columns(len(self.names)):
            raise UnreadableFile(wide)
        self.header = resolve_header(self.spec, self.names)
        self._kinds = {slot.index: slot.column.kind for slot in self.header.slots if slot.column is not None}
        kinds = [self._kinds.get(index, ColumnKind.TEXT) for index in range(len(self.names))]
        self._kind_codes = bytes(_KIND_CODES.get(kind, 0) for kind in kinds)
        self._cutter.follow(self.header)
        final = [problem for problem in self.header.problems if not problem.message.startswith("Missing required")]
        if final:
            raise HeaderFailed

    def _positions_of(self, names: list[str]) -> tuple[list[int], bool]:
        """Each name's column, names compared without case or outer spaces: the n-th time a name stands in
        `names`, its n-th column, so that a sheet's header keeps its blank and repeated names in columns of
        their own (and its letters), as a CSV's does; a name not seen as often before gets the next column.
        And whether those are the header's columns, every one, in order (a sheet's own header)."""
        cached = self._positions.get(id(names))
        if cached is not None and cached[0] is names:
            return cached[1], cached[2]
        positions: list[int] = []
        counts: dict[str, int] = {}
        grown = False
        for name in names:
            key = name.strip().lower()
            count = counts[key] = counts.get(key, 0) + 1
            places = self._index.setdefault(key, [])
            if len(places) < count:
                places.append(len(self.names))
                self.names.append(name)
                grown = True
            positions.append(places[count - 1])
        if grown:
            self._grown()
        own = positions == list(range(len(self.names)))
        self._positions = {id(names): (names, positions, own)}
        return positions, own

    def add(self, rows: Iterable[NamedRow | RecordRun], base: int = 0, watch: Watch | None = None) -> int:
        """Write a source's rows numbered from `base`; returns the last row number it used. `watch` sees each
        row before it is written, and may have it left out ("drop") or end the adding before it ("stop").
        A run of records (see record_runs) is written as it is, unseen but by a RowWatch's `ran`."""
        last = base
        runs = self._runs
        if runs is not None:
            self._ask_for_runs(base, watch)
        for item in rows:
            if isinstance(item, RecordRun):
                last = base + item.last_row
                self._write_run(item)
                if isinstance(watch, RowWatch):
                    watch.ran()
            else:
                seen = self._add_row(item, base, watch)
                if seen == "stop":
                    return last
                if seen == "write":
                    last = base + item[0]
            if self._unpublished:
                self._publish_readable()
            if runs is not None:
                self._ask_for_runs(base, watch)
        return last

    def _write_run(self, run: RecordRun) -> None:
        end = self.writer.write_record(run.data)
        self._cutter.add_run(run.record_count, end, list)  # the chunks follow no group (see _ask_for_runs)
        self.records += run.record_count

    def _add_row(self, row: NamedRow, base: int, watch: Watch | None) -> Seen | None:
        """Write one row, unless `watch` says otherwise; None for a header row, which has nothing to write."""
        number, problem, names, values = row
        positions, self._own = self._positions_of(names)
        if values is None:  # a header row: its names are known now, whether any row follows
            return None
        # Most rows are made whole in compiled code, their record with them; the others here.
        made = None
        if self._own and problem is None and sheet_record is not None:
            made = sheet_record(base + number, values, len(self.names), self._kind_codes, self.limits.max_field_bytes)
        if made is not None:
            cells, record, blank = made
        else:
            record = None
            cells, problem = self._cells(positions, values, problem)
            blank = problem is None and not "".join(cells).strip()  # every cell empty or spaces
        if watch is not None and (seen := watch(base + number, cells, blank)) != "write":
            return seen
        if record is not None:
            end = self.writer.write_record(record)
        else:
            end = self.writer.write(base + number, problem, [] if problem else cells)
        self._cutter.add(base + number, cells, blank, end)
        self.records += 0 if blank else 1
        return "write"

    def _cells(
        self, positions: list[int], values: list[SheetCell], problem: str | None
    ) -> tuple[list[str], str | None]:
        """A row's cells in the header's columns, each as the text its column's kind expects, and its
        problem: the reader's, a formula with no saved value, or a value over the length limit."""
        kinds = self._kinds
        cells = [""] * len(self.names)
        for position, value in zip(positions, values, strict=False):
            # Most cells are text already, or empty: cell_text would give them as they are, or "".
            if type(value) is str:
                cells[position] = value
            elif value is UNSAVED_FORMULA:
                problem = problem or _unsaved(position, self.names)
            elif value is not None:
                cells[position] = cell_text(value, kinds.get(position))
        if len(values) > len(positions):  # a sheet's cells past its header: validation names any value
            cells += ["" if value is None else cell_text(value, None) for value in values[len(positions) :]]
        return cells, problem or self.limits.long_cell(cells, self.names)

    def restart_at(self, first_row: int) -> None:
        """Number the first chunk from this row: the rows written start mid-sheet."""
        self._cutter.restart_at(first_row)

    def finish(self) -> list[ChunkLayout]:
        """Every chunk; the unpublished ones (the last, and any whose rows were not readable yet) are
        stored with the finished plan."""
        return self._cutter.finish()
