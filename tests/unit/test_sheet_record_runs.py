"""A sheet's plain rows written as records in runs, in compiled code (scan_records, _rowscan.c), give what the
same rows read one by one give: the same records byte for byte, the same chunks and records counted, or the
same refusal, whatever the rows hold and wherever a chunk or the column limit falls."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.errors import UnreadableFile
from app.importing.chunking import ChunkLayout
from app.importing.limits import ReadLimits
from app.importing.normalized import NormalizedWriter
from app.importing.normalizer import HeaderFailed, Normalizer
from app.importing.readers import sheet_rows, sheet_xml
from app.importing.sources import xlsx_rows
from app.storage import LocalUploadStorage
from specifications import find_specification
from specifications.model import ImportType, Specification
from tests.depth import examples
from tests.unit.test_sheet_row_scan import (
    BETWEEN_ROWS,
    BROKEN_CELL,
    OTHER_CELL,
    PLAIN_CELL,
    ROW_START,
    SHARED,
    workbook,
)


def _specification(import_type: ImportType, name: str) -> Specification:
    found = find_specification(import_type, name)
    assert found is not None
    return found


PRODUCT = _specification(ImportType.PRODUCT, "DefaultProductImportSpecification")
CATEGORY = _specification(ImportType.CATEGORY, "DefaultCategoryImportSpecification")
# Every kind the records tell apart: identifier, flag, decimal, code, integer, date, text.
NAMES = {
    "product": ["SKU Number", "SKU Indicator", "Retail Price", "UPC", "Available Quantity", "Product Title",
                "ProductAttribute[Colour]"],
    "category": ["Category Id", "Active Start Date", "Category Name", "Display Order", "Description",
                 "Category URL", "Active End Date"],
}  # fmt: skip
SPECIFICATIONS = {"product": PRODUCT, "category": CATEGORY}
# What decides a row's blankness and its record's length, and the flag that keeps a product's SKU rows with it.
EDGE_CELL = st.sampled_from(
    [
        '<c r="{col}{row}" t="inlineStr"><is><t> \u00a0\u3000</t></is></c>',  # white space Python's strip() knows
        '<c r="{col}{row}" t="inlineStr"><is><t>\t&#13;</t></is></c>',
        '<c r="{col}{row}" t="inlineStr"><is><t>Y</t></is></c>',
        '<c r="{col}{row}" t="inlineStr"><is><t>a, "b"</t></is></c>',
        '<c r="{col}{row}" t="inlineStr"><is><t>' + "x" * 30 + "</t></is></c>",  # four make a row over the limit
        '<c r="{col}{row}" t="inlineStr"><is><t>é' * 3 + "</t></is></c>",
        '<c r="{col}{row}"><v>1.0</v></c>',
        '<c r="{col}{row}"><v>3.3000000000000003</v></c>',
        '<c r="{col}{row}"><v>1e-7</v></c>',
        '<c r="{col}{row}"><v>123456789012345678</v></c>',
        '<c r="{col}{row}" t="b"><v>1</v></c>',
    ]
)
# Text XML holds as it stands, with the escapes and white space a record must keep or quote.
RUN_TEXT = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_categories=("Cc", "Cs"), exclude_characters="<&\ufffe\uffff")),
        st.sampled_from(["&amp;", "&quot;", "&#233;", "\r\n", "\t", ",", '"', " ", "\u00a0", "\u2003"]),
    ),
    max_size=4,
).map("".join)
# Cells a run always holds (in a row of no more than the limit's characters): text, numbers as programs
# write them, shared strings, booleans.
RUN_CELL = st.one_of(
    RUN_TEXT.map(lambda text: f'<c r="{{col}}{{row}}" t="inlineStr"><is><t>{text}</t></is></c>'),
    st.integers(-(10**12), 10**12).map(lambda n: f'<c r="{{col}}{{row}}"><v>{n}</v></c>'),
    st.floats(-1e9, 1e9).map(lambda x: f'<c r="{{col}}{{row}}" t="n"><v>{x!r}</v></c>'),
    st.integers(0, len(SHARED) - 1).map(lambda i: f'<c r="{{col}}{{row}}" s="0" t="s"><v>{i}</v></c>'),
    st.sampled_from(["0", "1"]).map(lambda b: f'<c r="{{col}}{{row}}" t="b"><v>{b}</v></c>'),
)
COLUMNS = st.sampled_from("ABCDEFGHIJ")


def header_row(names: list[str]) -> str:
    cells = (
        f'<c r="{letter}1" t="inlineStr"><is><t>{name}</t></is></c>'
        for letter, name in zip("ABCDEFG", names, strict=False)
    )
    return f'<row r="1">{"".join(cells)}</row>'


@st.composite
def sheet(draw: st.DrawFn, names: list[str]) -> str:
    """A header row of `names`, then rows of cells of every sort, in columns in turn or drawn (out of order,
    past the header, past the column limit), some rows blank. A third of the sheets hold what the scan
    leaves to expat too (formulas, comments, odd row tags), or what no reader takes."""
    odd = draw(st.integers(0, 2)) == 0
    cell = st.one_of(RUN_CELL, RUN_CELL, EDGE_CELL)
    if odd:  # dates, formulas, numbers written oddly (a date cell of no date refuses the sheet), and worse
        cell = st.one_of(cell, PLAIN_CELL, OTHER_CELL, BROKEN_CELL if draw(st.integers(0, 4)) == 0 else OTHER_CELL)
    rows = [header_row(names)]
    drawn = draw(st.integers(0, 2))  # columns in turn, with gaps, or anywhere
    for row in range(2, draw(st.integers(0, 30)) + 2):
        count = draw(st.integers(0, 7))
        letters = [draw(COLUMNS) for _ in range(count)] if drawn else list("ABCDEFG"[:count])
        letters = sorted(set(letters)) if drawn == 1 else letters
        cells = "".join(draw(cell).replace("{col}", letter).replace("{row}", str(row)) for letter in letters)
        start = draw(ROW_START) if odd and draw(st.integers(0, 5)) == 0 else '<row r="{row}">'
        between = draw(BETWEEN_ROWS) if odd and draw(st.integers(0, 5)) == 0 else ""
        rows.append(between + start.replace("{row}", str(row)) + cells + "</row>")
    return "<sheetData>" + "".join(rows) + "</sheetData>"


Normalized = tuple[bytes, list[ChunkLayout], int, int] | str


def normalize(data: bytes, spec: Specification, runs: bool, chunk_rows: int, max_columns: int) -> Normalized:
    """The records, chunks, records counted and last row number of the sheet's rows, or the refusal."""
    limits = ReadLimits(max_columns=max_columns, max_field_bytes=100)
    with tempfile.TemporaryDirectory() as folder:
        storage = LocalUploadStorage(Path(folder))
        writer = NormalizedWriter(storage, "rows")
        normalizer = Normalizer(spec, writer, limits, chunk_rows, lambda: None)
        try:
            rows = xlsx_rows(io.BytesIO(data), None, limits, runs=normalizer.record_runs() if runs else None)
            last = normalizer.add(rows)
        except (UnreadableFile, HeaderFailed) as error:
            writer.discard()
            return f"{type(error).__name__}: {error}"
        chunks = normalizer.finish()
        writer.close()
        with storage.open("rows") as stored:
            return stored.read(), chunks, normalizer.records, last


@st.composite
def case(draw: st.DrawFn) -> tuple[str, int, str]:
    """A specification's name, a column limit and a sheet under its header."""
    kind, max_columns = draw(st.sampled_from(["product", "category"])), draw(st.sampled_from([1000, 8, 5]))
    return kind, max_columns, draw(sheet(NAMES[kind][: max_columns - 1]))


@settings(max_examples=examples(800), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(
    case=(
        "product",
        1000,
        f'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>{NAMES["product"][0]}</t></is></c></row>'
        '<row r="2"><c r="A2"><v>007</v></c><c r="C2"><v>-0</v></c></row></sheetData>',
    ),
    chunk_rows=1,
    block=65536,
    between=1,
)
@given(
    case=case(),
    chunk_rows=st.sampled_from([1, 2, 3, 10_000]),
    block=st.sampled_from([65536, 97]),
    between=st.sampled_from([1, 16]),
)
def test_rows_written_in_runs_are_the_rows_written_one_by_one(
    case: tuple[str, int, str], chunk_rows: int, block: int, between: int
) -> None:
    assert sheet_rows.COMPILED, "the compiled row scan is not built: pip install -e . builds it"
    kind, max_columns, drawn = case
    made, spec = workbook(drawn), SPECIFICATIONS[kind]

    # `between`: rows read as rows after a run stops, before the next is tried (1: runs as long as can be)
    with mock.patch.object(sheet_xml, "_BLOCK", block), mock.patch.object(sheet_xml, "_ROWS_BETWEEN_RUNS", between):
        in_runs = normalize(made, spec, True, chunk_rows, max_columns)
        one_by_one = normalize(made, spec, False, chunk_rows, max_columns)

    assert in_runs == one_by_one


def test_plain_rows_are_written_in_runs_without_a_row_made_in_python() -> None:
    rows = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>P{n}</t></is></c><c r="C{n}"><v>{n}.5</v></c>'
        f'<c r="F{n}" t="inlineStr"><is><t>Mug "{n}", blue</t></is></c></row>'
        for n in range(2, 502)
    )
    made = workbook(f"<sheetData>{header_row(NAMES['product'][:6])}{rows}</sheetData>")

    with mock.patch("app.importing.normalizer.sheet_record", side_effect=AssertionError("a row made in Python")):
        result = normalize(made, PRODUCT, True, 10_000, 1000)

    assert not isinstance(result, str)
    records, chunks, count, last = result
    assert (count, last, [chunk.record_count for chunk in chunks]) == (500, 501, [500])
    assert records.splitlines()[0] == b'2,,P2,,2.5,,,"Mug ""2"", blue"'
