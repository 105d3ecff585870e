"""A sheet read in two halves at once gives exactly the rows and chunks' records of a reading from its start,
or the same refusal; a product's SKU rows are never cut from it."""

from __future__ import annotations

import io
import uuid
from dataclasses import replace
from pathlib import Path
from unittest import mock

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app.errors import UnreadableFile
from app.importing.chunking import ChunkLayout
from app.importing.limits import ReadLimits
from app.importing.normalized import read_normalized
from app.importing.normalized_planning import plan_xlsx
from app.importing.planning import Layout, PieceRows, Plan
from app.importing.readers import sheet_rows, sheet_xml
from app.importing.sheet_split import PieceRead, read_piece
from app.storage import LocalUploadStorage
from specifications import ImportType, find_specification
from tests.unit.test_sheet_row_scan import BETWEEN_ROWS, BROKEN_CELL, MAIN, OTHER_CELL, ROW_START, TEXT, workbook

FOUND = find_specification(ImportType.PRODUCT, "DefaultProductImportSpecification")
assert FOUND is not None
SPEC = FOUND
HEADER = (
    '<row r="1"><c r="A1" t="inlineStr"><is><t>SKU Number</t></is></c><c r="B1" t="inlineStr"><is><t>SKU Indicator'
    '</t></is></c><c r="C1" t="inlineStr"><is><t>Product Title</t></is></c><c r="D1" t="inlineStr"><is><t>Product '
    'Description</t></is></c><c r="E1" t="inlineStr"><is><t>Retail Price</t></is></c></row>'
)


class EagerPiece:
    """The piece read to its end as soon as the plan starts it, as an idle worker would."""

    def __init__(self, plan: Plan, target: int | None) -> None:
        self.plan, self.target = plan, target
        self.read: PieceRead | None = None
        self.asked: tuple[int, int] | None = None
        self.released = False

    def begin(self, sheet_bytes: int) -> int | None:
        target = self.target if self.target is not None else sheet_bytes // 2
        self.read = read_piece(self.plan, target)
        return target

    def piece_at(self, start: int, first_row: int) -> PieceRows | None:
        assert self.read is not None
        self.asked = (start, first_row)
        if (self.read.start, self.read.first_row) != (start, first_row):
            return None
        return PieceRows(self.read.chunks, self.read.records, self.read.error)

    def release(self) -> None:
        self.released = True


def plan_of(tmp_path: Path, data: bytes, chunk_rows: int = 2) -> Plan:
    storage = LocalUploadStorage(tmp_path / uuid.uuid4().hex)
    writer = storage.create("upload")
    writer.write(data)
    writer.close()
    return Plan(storage, "upload", SPEC, chunk_rows, ReadLimits())


def rows_of(plan: Plan, layout: Layout) -> list[tuple[int, list[str]]]:
    rows = []
    for chunk in layout.chunks:
        data = plan.storage.read_range(chunk.rows_key or layout.rows_key or "", chunk.start_offset, chunk.end_offset)
        rows += [(row.number, row.cells) for row in read_normalized(io.BytesIO(data))]
    return rows


def planned(plan: Plan) -> tuple[list[tuple[int, list[str]]], list[int]] | str:
    """The rows every chunk reads and each chunk's first row, or the refusal."""
    try:
        layout = plan_xlsx(plan)
    except UnreadableFile as error:
        return str(error)
    return rows_of(plan, layout), [chunk.first_row for chunk in layout.chunks]


def read_in_two(plan: Plan, target: int | None = None) -> tuple[object, EagerPiece]:
    piece = EagerPiece(plan, target)
    return planned(replace(plan, split=piece)), piece


# Product rows (column B empty) and SKU rows (B is "Y"), plain or not, with what may stand between rows.
SKU_CELL = st.sampled_from(['<c r="B{row}" t="inlineStr"><is><t>Y</t></is></c>', ""])
CELL = st.one_of(TEXT.map(lambda text: f'<c r="C{{row}}" t="inlineStr"><is><t>{text}</t></is></c>'), OTHER_CELL)


@st.composite
def product_sheet(draw: st.DrawFn) -> str:
    rows = [HEADER]
    odd, broken = draw(st.booleans()), draw(st.integers(0, 3)) == 0  # a quarter of odd sheets may be refused
    for row in range(2, draw(st.integers(2, 40)) + 2):
        here = odd and draw(st.integers(0, 4)) == 0  # odd rows here and there: the middle may still be plain
        between = draw(BETWEEN_ROWS) if here else ""
        start = draw(ROW_START) if here else '<row r="{row}">'
        cells = f'<c r="A{{row}}" t="inlineStr"><is><t>P{row}</t></is></c>{draw(SKU_CELL)}'
        if here:
            cells += draw(st.one_of(CELL, BROKEN_CELL) if broken else CELL)
        rows.append((between + start + cells + "</row>").replace("{row}", str(row)).replace("{col}", "C"))
    return "<sheetData>" + "".join(rows) + "</sheetData>"


@settings(
    max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture]
)
@given(sheet=product_sheet(), share=st.floats(0.0, 1.0), block=st.sampled_from([65536, 97, 7]))
def test_a_sheet_read_in_two_gives_what_a_reading_from_its_start_gives(
    tmp_path: Path, sheet: str, share: float, block: int
) -> None:
    plan = plan_of(tmp_path, workbook(sheet))
    target = max(1, int(share * len(sheet)))

    # Small blocks: expat catches up within a row or two of what it must read, so that rows just after
    # a comment or a formula are scanned again and have places, and the piece may be joined there.
    with mock.patch.object(sheet_xml, "_BLOCK", block):
        whole = planned(plan)
        in_two, _ = read_in_two(plan, target)
        with mock.patch.object(sheet_rows, "COMPILED", False):  # no run of records: each row read as a row
            row_by_row = planned(plan)

    assert whole == row_by_row  # the same rows and chunks

    if isinstance(whole, str):
        assert in_two == whole
    else:
        assert isinstance(in_two, tuple)
        assert whole[0]  # every sheet has rows
        assert in_two[0] == whole[0]  # the same rows, numbered the same, in the same order


def products_and_skus(count: int) -> str:
    """Products P2, P5, ... each followed by two of its SKU rows."""
    rows = [HEADER]
    for row in range(2, count + 2):
        sku = '<c r="B{row}" t="inlineStr"><is><t>Y</t></is></c>' if (row - 2) % 3 else ""
        rows.append(f'<row r="{row}"><c r="A{row}" t="inlineStr"><is><t>P{row}</t></is></c>{sku.format(row=row)}</row>')
    return "<sheetData>" + "".join(rows) + "</sheetData>"


def test_the_second_half_starts_at_a_product_and_is_read_by_the_piece(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, workbook(products_and_skus(60)))
    whole = planned(plan)

    in_two, piece = read_in_two(plan)

    assert piece.read is not None and piece.read.first_row is not None
    assert (piece.read.first_row - 2) % 3 == 0  # a product's row, never one of its SKUs
    assert isinstance(in_two, tuple) and isinstance(whole, tuple)
    assert in_two[0] == whole[0]
    assert piece.read.first_row in in_two[1]  # a chunk of the piece's own starts there
    assert piece.asked == (piece.read.start, piece.read.first_row)


def test_a_sheet_whose_middle_lies_in_a_comment_is_read_by_the_plan_alone(tmp_path: Path) -> None:
    rows = products_and_skus(30)
    middle = rows.index('<row r="17">')
    fake = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>P{n}</t></is></c></row>' for n in (90, 91, 92))
    sheet = rows[:middle] + f"<!-- {fake} -->" + rows[middle:]
    plan = plan_of(tmp_path, workbook(sheet))
    inside = len(f'<worksheet xmlns="{MAIN}"><dimension ref="A1"/>{rows[:middle]}<!-- ') + 40  # in row 90

    with mock.patch.object(sheet_xml, "_BLOCK", 97):  # expat catches up within a row or two
        whole = planned(plan)
        in_two, piece = read_in_two(plan, target=inside)

    assert piece.read is not None and piece.read.first_row == 92  # the piece began in the comment
    assert piece.asked is None  # the plan, which read the comment as one, never cut near it
    assert isinstance(in_two, tuple) and isinstance(whole, tuple) and in_two[0] == whole[0]
    assert all(number < 90 for number, _ in in_two[0])


def test_a_sheet_damaged_after_the_piece_began_is_refused_as_a_reading_from_its_start_refuses_it(
    tmp_path: Path,
) -> None:
    sheet = products_and_skus(60).replace('<row r="55">', '<row r="55"><c r="A55"><v>1</c>')
    plan = plan_of(tmp_path, workbook(sheet))
    whole = planned(plan)

    in_two, piece = read_in_two(plan)

    assert isinstance(whole, str) and "mismatched tag at byte" in whole
    assert piece.read is not None and piece.read.error is not None  # the piece found it, and the plan took it
    assert in_two == whole


def test_chunk_layouts_of_the_piece_name_its_own_rows_file(tmp_path: Path) -> None:
    plan = plan_of(tmp_path, workbook(products_and_skus(60)))

    layout = plan_xlsx(replace(plan, split=EagerPiece(plan, None)))

    keys = [chunk.rows_key for chunk in layout.chunks]
    assert keys[0] is None and keys[-1] is not None and keys[-1] != layout.rows_key
    assert all(isinstance(chunk, ChunkLayout) for chunk in layout.chunks)


def numbered_rows(first: int, last: int) -> str:
    return "".join(f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>P{r}</t></is></c></row>' for r in range(first, last))


@pytest.mark.parametrize(
    "sheet",
    [
        # rows after sheetData has ended, in another element: well-formed, and so must be the reading in two
        f"<sheetData>{HEADER}{numbered_rows(2, 100)}</sheetData><foo>{numbered_rows(100, 3000)}</foo>",
        # the same closed by </sheetData>: not well-formed, refused however read
        f"<sheetData>{HEADER}{numbered_rows(2, 100)}</sheetData><foo>{numbered_rows(100, 3000)}</sheetData>",
    ],
)
def test_rows_after_sheet_data_ended_are_never_where_a_piece_begins(tmp_path: Path, sheet: str) -> None:
    plan = plan_of(tmp_path, workbook(sheet), chunk_rows=500)

    in_two, piece = read_in_two(plan)

    assert in_two == planned(plan)
    assert piece.asked is None  # the plan could not tell what was open where the piece began


def test_the_row_limit_passed_before_a_damage_in_the_second_half_is_what_is_said(tmp_path: Path) -> None:
    sheet = products_and_skus(60).replace('<row r="55">', '<row r="55"><c r="A55"><v>1</c>')
    plan = replace(plan_of(tmp_path, workbook(sheet)), limits=ReadLimits(max_rows=40))

    in_two, piece = read_in_two(plan)

    assert in_two == planned(plan) == "the file has more than 40 rows, the limit (IMPORTER_MAX_ROWS)"
    assert piece.read is not None and piece.read.error is not None  # the damage comes after, in row order


def test_text_outside_any_cell_counts_for_nothing_however_the_sheet_is_read(tmp_path: Path) -> None:
    rows = [HEADER, f'<row r="2"><c r="A2" t="str"><f>x</f><v>{"a" * 700}</v></c></row>']
    title = '<c r="C{0}" t="inlineStr"><is><t>' + "t" * 300 + "</t></is></c>"  # rows past expat's first block
    rows += [
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>P{r}</t></is></c>{title.format(r)}</row>' for r in range(3, 600)
    ]
    rows.append(f'<row r="600"><v>{"b" * 400}</v><c r="A600" t="inlineStr"><is><t>P600</t></is></c></row>')
    plan = plan_of(tmp_path, workbook("<sheetData>" + "".join(rows) + "</sheetData>"), chunk_rows=50)

    with mock.patch.object(sheet_rows, "MAX_TEXT", 1000):  # an earlier cell's 700 and these 400 are not one text
        whole = planned(plan)
        in_two, piece = read_in_two(plan)

    assert isinstance(whole, tuple) and whole[0][-1] == (600, ["P600", "", "", "", ""])
    assert isinstance(in_two, tuple) and in_two[0] == whole[0]
    assert piece.asked is not None and piece.read is not None and piece.asked[0] == piece.read.start  # joined


def test_rows_that_do_not_say_their_number_are_read_by_the_plan_and_the_piece_gives_up_at_once(
    tmp_path: Path,
) -> None:
    rows = "".join(f'<row><c r="A{r}" t="inlineStr"><is><t>P{r}</t></is></c></row>' for r in range(2, 400))
    plan = plan_of(tmp_path, workbook(f"<sheetData>{HEADER}{rows}</sheetData>"), chunk_rows=50)

    in_two, piece = read_in_two(plan)

    assert in_two == planned(plan)
    assert piece.read is not None and (piece.read.start, piece.read.chunks) == (None, [])


def nested_sheet_data(closed: bool) -> str:
    inner = "".join(
        f'<row r="{r}"><c r="A{r}" t="inlineStr"><is><t>P{r}</t></is></c><c r="C{r}" t="inlineStr"><is><t>'
        f"{'t' * 40}</t></is></c></row>"
        for r in range(3, 3000)
    )
    end = "</row>" + numbered_rows(3000, 3002) + "</sheetData>" if closed else ""
    return f'<sheetData>{HEADER}<row r="2"><sheetData>{inner}</sheetData>{end}'


@pytest.mark.parametrize("closed", [True, False])  # well-formed, and not: read the same either way
def test_rows_of_a_sheet_data_inside_a_row_are_never_where_a_piece_begins(tmp_path: Path, closed: bool) -> None:
    plan = plan_of(tmp_path, workbook(nested_sheet_data(closed)), chunk_rows=500)

    in_two, piece = read_in_two(plan)

    assert in_two == planned(plan)
    assert piece.asked is None


def test_a_piece_beats_while_it_drops_rows_and_while_it_writes_them_whatever_their_numbers(tmp_path: Path) -> None:
    # After the middle, one product's SKU rows go on for long: the piece drops them all before its start.
    rows = [HEADER] + [
        f'<row r="{2 * n + 1}"><c r="A{2 * n + 1}" t="inlineStr"><is><t>P{n}</t></is></c>'
        + (f'<c r="B{2 * n + 1}" t="inlineStr"><is><t>Y</t></is></c>' if 2000 < n < 6000 else "")
        + "</row>"
        for n in range(1, 12000)
    ]  # odd row numbers only: none is a multiple of 4096
    plan = plan_of(tmp_path, workbook("<sheetData>" + "".join(rows) + "</sheetData>"), chunk_rows=500)
    in_the_skus = len(f'<worksheet xmlns="{MAIN}"><dimension ref="A1"/><sheetData>' + "".join(rows[:2500]))
    beats: list[int] = []

    with mock.patch("app.importing.chunking.HEARTBEAT_SECONDS", 0.0):
        read = read_piece(replace(plan, heartbeat=lambda: beats.append(1)), target=in_the_skus)

    assert read.first_row == 2 * 6000 + 1  # the first product after the SKU rows
    # One for each of the 3,500 SKU rows dropped (n = 2500 to 5999), and more while its 6,000 rows were
    # written: row by row at the 4,096th (though no row number is a multiple of 4,096), or after a run of
    # records once a beat is due.
    assert len(beats) > 3500
