"""Chunks read column by column in compiled code (polars): the chunk step's fast path.

Read row by row (validation.py), a product row costs about 15 us of Python: parsing, a reader call per
cell, a Record, the staging tuple, its JSON. Most chunks of a large import have nothing to report, and
for them the same outcome can be had with a handful of column operations. This module reads a chunk
and says, row by row but computed column by column, whether every cell is one whose value the
row-by-row reader would return verbatim (a decimal already written canonically, a flag word, no
apostrophe, no NUL). A row with one cell that is not is left to the row-by-row path, which reads it
and names every problem with its row, column, value and rule (clean_chunks.py). So the fast path never
decides what is valid; it only recognises what is certainly valid, and gives the values the
row-by-row path would give (property tests hold the two to the same staging rows and problems).

It reads a chunk only when its bytes are UTF-8 with plain quoting (csv_cutting.is_plain: one record a
line), where polars' CSV reader and Python's csv module read the same cells.
"""

from __future__ import annotations

import io
from dataclasses import dataclass

from app.importing.cells import FALSE_WORDS, TRUE_WORDS
from app.importing.csv_cutting import is_plain, plain_quoting
from app.importing.header import HeaderMap, Slot
from app.importing.polars_runtime import pl
from specifications.model import ColumnKind, Requirement

# Every character str.strip() removes (str.isspace); none lies above U+3000.
WHITESPACE = "".join(char for char in map(chr, range(0x3001)) if char.isspace())

# Cells whose value the reader of their kind returns unchanged: any other leaves its row to the row path.
_VERBATIM: dict[ColumnKind, str | None] = {
    ColumnKind.TEXT: None,
    ColumnKind.CODE: None,
    ColumnKind.URL: None,
    ColumnKind.IDENTIFIER: None,  # checked below: a spreadsheet's 2007.0 reads 2007
    # See cells.MAX_DECIMAL_DIGITS; a negative number under 1 (-0 among them) is left to the row path.
    ColumnKind.DECIMAL: r"^((0|-?[1-9][0-9]{0,29})(\.[0-9]{1,30})?)?$",
    ColumnKind.INTEGER: r"^(-?(0|[1-9][0-9]{0,17}))?$",
    ColumnKind.FLAG: r"^[A-Za-z0-9]*$",
    ColumnKind.URL_LIST: None,  # checked with the images' assets (writers/product_frames.py)
}
_WHOLE_FLOAT = r"^-?\d+\.0+$"
_FLAG_WORDS = sorted(TRUE_WORDS | FALSE_WORDS)
_CONTROL = r"[\x00-\x1f]"


def column_name(index: int) -> str:
    return f"c{index}"


def read_cells(data: bytes, delimiter: str, width: int, records: int) -> pl.DataFrame | None:
    """The chunk's cells, trimmed, one String column per header cell (null for an empty or missing cell),
    or None when the bytes are not plain UTF-8 CSV with exactly `records` records, none blank."""
    pattern = plain_quoting(delimiter)
    if pattern is None or not data or data.startswith((b"\n", b"\r\n")) or b"\n\n" in data or b"\n\r\n" in data:
        return None
    if not is_plain(pattern, data):
        return None
    schema = {column_name(index): pl.String for index in range(width)}
    try:
        frame = pl.read_csv(data, has_header=False, separator=delimiter, quote_char='"', schema=schema)
    except (pl.exceptions.PolarsError, UnicodeDecodeError):
        return None  # a longer row, or bytes that are not UTF-8: the row-by-row path tells
    if frame.height != records:
        return None
    return frame.select(pl.all().str.strip_chars(WHITESPACE).replace("", None))


def read_normalized_cells(data: bytes, width: int, records: int) -> tuple[pl.DataFrame, pl.Series] | None:
    """A chunk of normalized rows (normalized.py: row number, problem, then the cells) as read_cells reads
    a CSV's, with the rows' numbers; None when one row has a problem or the bytes are not plain."""
    frame = read_cells(data, ",", width + 2, records)
    if frame is None:
        return None
    numbers = frame.get_column(column_name(0)).cast(pl.Int64, strict=False)
    if numbers.null_count() or frame.get_column(column_name(1)).null_count() != frame.height:
        return None
    cells = frame.select(pl.col(column_name(index + 2)).alias(column_name(index)) for index in range(width))
    return cells, numbers


@dataclass(frozen=True)
class CleanChunk:
    """A chunk's trimmed cells (or some of its rows) with the values the row-by-row reader gives them."""

    frame: pl.DataFrame
    header: HeaderMap

    def value(self, field: str) -> pl.Expr:
        """The field's values as the row-by-row reader gives them (None for an empty cell; a flag's False)."""
        slot = self.header.slot_for(field)
        if slot is None or slot.column is None:
            return pl.lit(None, pl.String)
        cell = pl.col(column_name(slot.index))
        kind = slot.column.kind
        if kind is ColumnKind.FLAG:
            flag = cell.str.to_lowercase().is_in(sorted(TRUE_WORDS))
            # An empty cell is N, or nothing where the column has a default (validation._empty_value).
            return (
                flag.fill_null(False)
                if slot.column.default is None
                else pl.when(cell.is_null()).then(None).otherwise(flag)
            )
        if kind is ColumnKind.INTEGER:
            return cell.cast(pl.Int64)
        return cell

    def is_child(self) -> pl.Expr:
        flag = self.header.spec.child_flag
        return self.value(flag) if flag and self.header.slot_for(flag) else pl.lit(False)

    def cell(self, slot: Slot) -> pl.Expr:
        return pl.col(column_name(slot.index))


def _cell_checks(header: HeaderMap) -> list[pl.Expr] | None:
    """One expression per condition a certain row meets (null, for an empty cell, passes); None when a
    column has a kind this module does not read."""
    checks: list[pl.Expr] = []
    used = header.read
    for index in range(len(header.cells)):
        cell = pl.col(column_name(index))
        if index not in used:
            checks.append(cell.is_null())  # a stray value is reported row by row
            continue
        checks.append(~cell.str.starts_with("'"))  # a NUL is not plain: read_cells declined it
    for slot in header.slots:
        if slot.column is None or slot.locale is not None:
            continue
        kind = slot.column.kind
        if kind not in _VERBATIM:
            return None
        cell = pl.col(column_name(slot.index))
        if (verbatim := _VERBATIM[kind]) is not None:
            checks.append(cell.str.contains(verbatim))
        if kind is ColumnKind.IDENTIFIER:
            checks.append(~cell.str.contains(_WHOLE_FLOAT))
        if kind is ColumnKind.FLAG:
            checks.append(cell.str.to_lowercase().is_in(_FLAG_WORDS))
        if (limit := slot.column.length_limit) is not None:
            checks.append(cell.str.len_chars() <= limit)
    return checks


def _requirement_checks(chunk: CleanChunk) -> list[pl.Expr]:
    header, checks = chunk.header, []
    is_child = chunk.is_child()
    for slot in header.slots:
        column = slot.column
        if column is None or slot.locale is not None:
            continue
        filled = chunk.cell(slot).is_not_null()
        if column.requirement is Requirement.REQUIRED:
            checks.append(filled)
        elif column.requirement is Requirement.REQUIRED_ON_PARENT_ROWS:
            checks.append(filled | is_child)
    for family in header.spec.families:
        if family.requirement is Requirement.REQUIRED_ON_CHILD_ROWS:
            members = [chunk.cell(slot).is_not_null() for slot in header.slots if slot.family == family]
            checks.append(~is_child | pl.any_horizontal(members) if members else ~is_child)
    return checks


def certain_rows(chunk: CleanChunk) -> pl.Expr | None:
    """True for each row that is valid with every cell verbatim, as far as its own cells tell; None when
    the header has a column this module does not read (the whole chunk then goes row by row)."""
    checks = _cell_checks(chunk.header)
    if checks is None:
        return None
    checks += _requirement_checks(chunk)
    return pl.all_horizontal([check.fill_null(True) for check in checks])


def json_ready(value: pl.Expr) -> pl.Expr:
    """A text as the inside of a JSON string, escaped as orjson does (control characters aside: a
    caller leaves such rows to the row-by-row path, see `has_control`)."""
    return value.str.replace_all("\\", "\\\\", literal=True).str.replace_all('"', '\\"', literal=True)


def has_control(value: pl.Expr) -> pl.Expr:
    return value.str.contains(_CONTROL)


# What COPY's text format escapes in a value: the backslash first.
_COPY_ESCAPES = (("\\", "\\\\"), ("\t", "\\t"), ("\n", "\\n"), ("\r", "\\r"))


def copy_text(frame: pl.DataFrame) -> bytes:
    """The frame as COPY's text format in UTF-8: tab-separated, \\N for null, special characters escaped.
    Bytes as polars writes them: asked for text, it decodes them and the driver encodes them again, which
    was most of the COPY text's cost (0.15 s against 0.055 s for 60,000 product rows)."""
    texts = [name for name, dtype in frame.schema.items() if dtype == pl.String]
    special = frame.select(pl.col(texts).str.contains(r"[\\\t\n\r]").any()).row(0)
    escaped = []
    for name, needed in zip(texts, special, strict=True):
        column = pl.col(name)
        for char, escape in _COPY_ESCAPES if needed else ():
            column = column.str.replace_all(char, escape, literal=True)
        escaped.append(column)
    written = io.BytesIO()
    frame.with_columns(escaped).write_csv(
        written, include_header=False, separator="\t", quote_style="never", null_value="\\N"
    )
    return written.getvalue()
