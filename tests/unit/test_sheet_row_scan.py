"""Plain sheet rows are scanned instead of parsed: whatever the sheet holds, the rows (or the refusal) are
exactly what expat alone reads from it, whether the scan is the compiled one or the regular expressions."""

from __future__ import annotations

import contextlib
import io
import random
import string
import sys
import time
import tracemalloc
from datetime import datetime
from unittest import mock

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.errors import UnreadableFile
from app.importing.readers import shared_strings, sheet_rows, sheet_xml
from app.importing.readers.sheet_rows import UNSAVED_FORMULA, SheetValue
from app.importing.readers.sheet_xml import read_sheet
from tests.depth import examples
from tests.factories import make_zip

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
SHARED = ["shared zero", "Café & crème", "  spaced  "]
STYLES = (  # cell style 1 shows a date (numFmt 14), style 2 a plain number
    f'<styleSheet xmlns="{MAIN}"><cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14"/><xf numFmtId="2"/>'
    "</cellXfs></styleSheet>"
)


def workbook(sheet: str, stored: bytes | None = None, items: str | None = None) -> bytes:
    """A workbook with shared strings (SHARED, or these `items`) and date styles whose one sheet holds
    `sheet` (its sheetData), or is `stored` as it is."""
    part = stored or f'<worksheet xmlns="{MAIN}"><dimension ref="A1"/>{sheet}</worksheet>'.encode()
    shared = items or "".join(f"<si><t>{text.replace('&', '&amp;')}</t></si>" for text in SHARED)
    return make_zip(
        {
            "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
            '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            'relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>',
            "xl/sharedStrings.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<sst xmlns="{MAIN}" count="9" uniqueCount="9">{shared}</sst>',
            "xl/styles.xml": STYLES,
            "xl/worksheets/sheet1.xml": part,
        }
    )


Rows = list[tuple[int, list[SheetValue]]]


def read(data: bytes, scan: bool, width: int = sys.maxsize) -> tuple[Rows | str, list[int]]:
    """The rows or the refusal, and where each row given ends in the sheet's part (RowPlace)."""
    place, rows, ends = sheet_xml.RowPlace(), [], []
    try:
        for row in read_sheet(io.BytesIO(data), scan=scan, place=place, width=width):
            rows.append(row)
            ends.append(place.end)
    except UnreadableFile as error:
        return f"UnreadableFile: {error}", ends
    return rows, ends


def read_every_way(data: bytes, width: int = sys.maxsize) -> Rows | str:
    """Scanned in compiled code, scanned with the regular expressions alone, and parsed by expat alone."""
    assert sheet_rows.COMPILED, "the compiled row scan is not built: pip install -e . builds it"
    compiled, compiled_ends = read(data, True, width)
    with mock.patch.object(sheet_rows, "_rowscan", None):
        scanned, scanned_ends = read(data, True, width)
    parsed, _ = read(data, False, width)
    assert typed(compiled) == typed(scanned) == typed(parsed)  # 1, 1.0 and True are equal, but not the same
    assert compiled_ends == scanned_ends
    return compiled


def typed(rows: Rows | str) -> object:
    return rows if isinstance(rows, str) else [(n, [(type(c), c) for c in cells]) for n, cells in rows]


# Text as spreadsheet programs write it, and the escapes and line ends expat turns into characters.
TEXT = st.lists(
    st.one_of(
        st.text(st.characters(codec="utf-8", exclude_characters="<&\r"), max_size=8),
        st.sampled_from(["&amp;", "&lt;", "&gt;", "&quot;", "&apos;", "&#233;", "&#x1F600;", "\r\n", "\r", "\t"]),
    ),
    max_size=4,
).map("".join)

PLAIN_CELL = st.one_of(
    TEXT.map(lambda text: f'<c r="{{col}}{{row}}" t="inlineStr"><is><t>{text}</t></is></c>'),
    st.integers(-(10**12), 10**12).map(lambda n: f'<c r="{{col}}{{row}}"><v>{n}</v></c>'),
    st.floats(allow_nan=False, allow_infinity=False).map(lambda x: f'<c r="{{col}}{{row}}" t="n"><v>{x!r}</v></c>'),
    st.integers(0, len(SHARED) - 1).map(lambda i: f'<c r="{{col}}{{row}}" s="0" t="s"><v>{i}</v></c>'),
    st.integers(1, 60000).map(lambda n: f'<c r="{{col}}{{row}}" s="1"><v>{n}</v></c>'),
    st.sampled_from(["0", "1"]).map(lambda b: f'<c r="{{col}}{{row}}" t="b"><v>{b}</v></c>'),
    TEXT.map(lambda text: f'<c r="{{col}}{{row}}" t="str"><v>{text}</v></c>'),
    st.just('<c r="{col}{row}" s="2"/>'),
    st.just('<c r="{col}{row}" t="inlineStr" />'),
    st.just("<c><v>7</v></c>"),  # no reference: the next column
    st.just('<c r="{col}{row}" t="inlineStr"><is><t></t></is></c>'),
    # Numbers, booleans and kinds as a program may write them, each read as take reads it (or refused alike)
    st.sampled_from(
        [
            "-0",
            "007",
            "+5",
            "1e5",
            "1E+05",
            ".5",
            "5.",
            "-1.5e-3",
            "1e999",
            "123456789012345678",
            "1&#48;",
            "1_000",
            " 5",
            "\u0663",
            "12345678901234567890123",
        ]
    ).map(lambda n: f'<c r="{{col}}{{row}}"><v>{n}</v></c>'),
    st.sampled_from([" 1 ", "1\r\n", "0", "&#49;", "\u00a01", "true"]).map(
        lambda b: f'<c r="{{col}}{{row}}" t="b"><v>{b}</v></c>'
    ),
    st.sampled_from(["e", "str", "X", "n"]).map(lambda t: f'<c r="{{col}}{{row}}" t="{t}"><v>42</v></c>'),
    st.sampled_from(["1", "01", "2", "7", "1234567890"]).map(
        lambda s: f'<c r="{{col}}{{row}}" s="{s}"><v>45352.5</v></c>'
    ),
    st.just('<c r="{col}{row}" s="0" t="s"><v>&#50;</v></c>'),  # a shared string's index as a reference
    st.sampled_from(["2024-03-01T10:00:00", "-5", "0.5"]).map(lambda v: f'<c r="{{col}}{{row}}" t="d"><v>{v}</v></c>'),
    st.sampled_from(["-5", "0.5", "60"]).map(lambda v: f'<c r="{{col}}{{row}}" s="1"><v>{v}</v></c>'),
)
# What the scan leaves to expat: each must still read the same.
OTHER_CELL = st.sampled_from(
    [
        '<c r="{col}{row}"><f>SUM(A1:A2)</f><v>3</v></c>',
        '<c r="{col}{row}" t="inlineStr"><is><r><t>rich</t></r><r><t> text</t></r></is></c>',
        '<c r="{col}{row}" t="inlineStr"><is><t xml:space="preserve"> padded </t></is></c>',
        '<c t="s" r="{col}{row}"><v>1</v></c>',
        '<c r="{col}{row}" t="inlineStr"><is><t><![CDATA[<not a tag>]]></t></is></c>',
        '<c r="{col}{row}" t="inlineStr"><is><t>x<!-- a comment --></t></is></c>',
        '<c r="{col}{row}" cm="1"><v>2</v></c>',
        '<c r="{col}{row}"><f>A1*2</f></c>',  # no saved value
        '<c r="{col}{row}"><f>A1*2</f><v /></c>',  # none either, as openpyxl writes it
        '<c r="{col}{row}"><f t="shared" si="0"/></c>',
        '<c r="{col}{row}" t="str"><f>""</f><v></v></c>',  # its saved value is empty
        '<c r="{col}{row}" t="inlineStr"><is><t>漢字</t><rPh sb="0" eb="2"><t>かんじ</t></rPh></is></c>',
        "\n  ",
    ]
)
# What no reader may take: a refusal, the same either way.
BROKEN_CELL = st.sampled_from(
    [
        '<c r="{col}{row}" t="inlineStr"><is><t>&nbsp;</t></is></c>',
        '<c r="{col}{row}" t="inlineStr"><is><t>&#0;</t></is></c>',
        '<c r="{col}{row}" t="inlineStr"><is><t>\x01</t></is></c>',
        '<c r="{col}{row}" t="inlineStr"><is><t>a ]]> b</t></is></c>',
        '<c r="{col}{row}"><v>not a number</v></c>',
        '<c r="{col}{row}" t="s"><v>99</v></c>',
        '<c r="{col}{row}"><v>1</c>',
        '<c r="{col}{row}"><v>--5</v></c>',
        '<c r="{col}{row}"><v>1e5x</v></c>',
        '<c r="{col}{row}" t="d"><v>yesterday</v></c>',
        '<c r="{col}{row}" t="s"><v>-1</v></c>',
        '<c r="{col}{row}" t="s"><v>99999999999999999999</v></c>',
        '<c r="{col}{row}" s="1"><v>1e20</v></c>',  # a date style, and no date that far
    ]
)
ROW_START = st.sampled_from(
    [
        '<row r="{row}">',
        '<row r="{row}" spans="1:4" x14ac:dyDescent="0.25">',
        "<row>",
        '<row r="10000000000000000000{row}">',
        '<row ht="15" r="{row}">',
        '<row r="{row}" r="{row}">',
    ]
)
BETWEEN_ROWS = st.sampled_from(
    [
        "",
        "",
        "",
        "\n",
        "<!-- a comment -->",
        '<!-- <row r="90"><c><v>1</v></c></row> -->',
        "<?pi data?>",
        '<!-- </row><row r="91"><c><v>1</v></c></row> -->',
    ]
)


def _at(xml: str, column: str, row: int) -> str:
    return xml.replace("{col}", column).replace("{row}", str(row))


@st.composite
def sheet(draw: st.DrawFn, columns: st.SearchStrategy[str] | None = None) -> str:
    """Rows of cells in columns A, B, C... in turn, or each in a column drawn from `columns`."""
    cell = st.one_of(PLAIN_CELL, PLAIN_CELL, PLAIN_CELL, OTHER_CELL, BROKEN_CELL) if draw(st.booleans()) else PLAIN_CELL
    rows = []
    for row in range(1, draw(st.integers(0, 6)) + 1):
        count = draw(st.integers(0, 6))
        letters = [draw(columns) for _ in range(count)] if columns is not None else list("ABCDEFGH"[:count])
        cells = [_at(draw(cell), letter, row) for letter in letters]
        rows.append(draw(BETWEEN_ROWS) + _at(draw(ROW_START), "", row) + "".join(cells) + "</row>")
    return "<sheetData>" + "".join(rows) + "</sheetData>"


@settings(max_examples=examples(1500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(
    sheet='<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>a&amp;b&#x1F600;</t></is></c></row></sheetData>',
    block=65536,
    longest=1 << 20,
)
@given(sheet=sheet(), block=st.sampled_from([65536, 97, 7]), longest=st.sampled_from([1 << 20, 64]))
def test_a_sheet_reads_the_same_scanned_as_parsed(sheet: str, block: int, longest: int) -> None:
    # Read in blocks that cut the head, rows and references anywhere; rows longer than `longest` go to expat.
    with mock.patch.object(sheet_xml, "_BLOCK", block), mock.patch.object(sheet_rows, "MAX_SCANNED_ROW", longest):
        read_every_way(workbook(sheet))


@settings(max_examples=examples(500), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sheet=sheet(columns=st.sampled_from(["A", "B", "C", "E", "H", "Z", "AA", "XFD", "ZZZ"])),
    width=st.integers(0, 9),
    block=st.sampled_from([65536, 97]),
)
def test_a_row_read_to_a_width_is_the_whole_row_cut_there(sheet: str, width: int, block: int) -> None:
    # Cells in any order of columns, far ones among them: each reader fills a row with empty cells up to a
    # cell's column, but never past the width, and keeps no cell past it; what it refuses stays refused.
    with mock.patch.object(sheet_xml, "_BLOCK", block):
        whole = read_every_way(workbook(sheet))
        cut = read_every_way(workbook(sheet), width)

    assert typed(cut) == typed(whole if isinstance(whole, str) else [(n, cells[:width]) for n, cells in whole])


def test_a_row_is_not_filled_up_to_a_far_cell_past_the_width() -> None:
    row = '<row r="{n}"><c r="A{n}"><v>1</v></c><c r="XFD{n}"><v>2</v></c><c r="B{n}"><v>3</v></c></row>'
    sheet = "<sheetData>" + "".join(row.format(n=n) for n in range(1, 1001)) + "</sheetData>"

    tracemalloc.start()
    try:
        rows = read_every_way(workbook(sheet), width=5)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert rows == [(n, [1, None, None, None, None]) for n in range(1, 1001)]
    assert peak < 32 * 1024**2  # filled up to XFD, the rows would hold 16,384 cells each: 130 MB


def test_a_formula_without_its_value_and_a_phonetic_reading_are_told_apart() -> None:
    cells = (
        '<c r="A1"><f>B1*2</f></c><c r="B1" t="str"><f>""</f><v></v></c><c r="C1"><f>1+1</f><v>2</v></c>'
        '<c r="D1" t="inlineStr"><is><t>漢字</t><rPh sb="0" eb="2"><t>かんじ</t></rPh></is></c>'
        '<c r="E1"><f>1+1</f><v /></c>'
    )

    rows = read_every_way(workbook(f'<sheetData><row r="1">{cells}</row></sheetData>'))

    assert rows == [(1, [UNSAVED_FORMULA, None, 2, "漢字", UNSAVED_FORMULA])]


@pytest.mark.parametrize("reference", ["AAAAAAA1", "ab1", "\u00ff\u00ff1", "1"])
def test_a_cell_reference_past_any_column_is_refused_not_filled_up_to(reference: str) -> None:
    # r="AAAAAAA1" would stand eight billion columns to the right: read up to it, the row would fill memory.
    sheet = f'<sheetData><row r="1"><c r="A1"><v>1</v></c><c r="{reference}"><v>2</v></c></row></sheetData>'

    refusal = read_every_way(workbook(sheet))

    letters = reference.rstrip("0123456789")
    assert refusal == (
        f"UnreadableFile: the XLSX file is damaged: a cell's reference names the column '{letters}', which no sheet has"
    )


def test_a_cell_with_an_empty_reference_takes_the_next_column() -> None:
    sheet = '<sheetData><row r="1"><c r="B1"><v>1</v></c><c r=""><v>2</v></c></row></sheetData>'

    assert read_every_way(workbook(sheet)) == [(1, [None, 1, 2])]


# Bytes a damaged or unusual sheet may hold where a plain one holds others: markup, digits, a reference's
# parts, line ends, a control character, and pieces of UTF-8 (a lead byte alone, U+FFFE, a surrogate).
ODD_BYTES = [
    *(bytes([c]) for c in b'<>/" &;#x09-.eArst\r\n\x00\xc3'),
    *[b"\xef\xbf\xbe", b"\xed\xa0\x80", b"]]>", b"</row>", b""],
]


@settings(max_examples=examples(750), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    sheet=sheet(),
    changes=st.lists(st.tuples(st.floats(0, 1, exclude_max=True), st.sampled_from(ODD_BYTES), st.integers(0, 2))),
)
def test_a_sheet_changed_anywhere_reads_the_same_every_way(sheet: str, changes: list[tuple[float, bytes, int]]) -> None:
    # Each change puts odd bytes somewhere in the rows, in place of up to two bytes there: the compiled scan
    # must read a row only when it is sure of it, and read it as take and expat would.
    data = bytearray(sheet.encode())
    head = len(b"<sheetData>")
    for where, odd, replaced in changes:
        at = head + int(where * (len(data) - head))
        data[at : at + replaced] = odd
    read_every_way(workbook("", stored=f'<worksheet xmlns="{MAIN}">'.encode() + bytes(data) + b"</worksheet>"))


ITEM = st.one_of(
    TEXT.map(lambda text: f"<si><t>{text}</t></si>"),
    TEXT.map(lambda text: f'<si><t xml:space="preserve">{text}</t></si>'),
    st.sampled_from(
        [
            "<si><t/></si>",
            "<si><r><rPr><b/></rPr><t>bold</t></r><r><t> plain</t></r></si>",
            '<si><t>漢字</t><rPh sb="0" eb="1"><t>かんじ</t></rPh></si>',
            "\n  <si><t>indented</t></si>",
            "<!-- a comment </si> -->",
            "<!-- </si><si><t>no item</t></si> -->",
            "<si><t>&nbsp;</t></si>",
            "<si><t>\x02</t></si>",
        ]
    ),
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(items=st.lists(ITEM, min_size=1, max_size=12), block=st.sampled_from([65536, 61, 5]))
def test_a_shared_strings_table_reads_the_same_scanned_as_parsed(items: list[str], block: int) -> None:
    # One row per item, its cell the item's index: the rows show the table as read.
    cells = "".join(f'<row r="{i + 1}"><c r="A{i + 1}" t="s"><v>{i}</v></c></row>' for i in range(len(items)))

    with mock.patch.object(sheet_xml, "_BLOCK", block):
        read_every_way(workbook(f"<sheetData>{cells}</sheetData>", items="".join(items)))


def test_a_large_shared_strings_table_is_held_at_about_the_size_of_its_text() -> None:
    # A sheet as Excel writes it keeps nearly every text of its rows in the table, which is held whole
    # while the rows are read: a list of str would hold about 60 bytes beside each text's own.
    texts = [f"Product title number {i:06d}" for i in range(200_000)]
    items = "".join(f"<si><t>{text}</t></si>" for text in texts)
    sheet = '<sheetData><row r="1"><c r="A1" t="s"><v>0</v></c><c r="B1" t="s"><v>199999</v></c></row></sheetData>'
    data = workbook(sheet, items=items)

    tracemalloc.start()
    try:
        rows = list(read_sheet(io.BytesIO(data)))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()

    assert rows == [(1, [texts[0], texts[-1]])]
    assert peak < 2 * sum(map(len, texts))  # a list of str: 3.2 times


@pytest.mark.parametrize("index", ["-1", "3"])
def test_a_cell_pointing_outside_the_shared_strings_table_is_refused_naming_it(index: str) -> None:
    sheet = f'<sheetData><row r="1"><c r="A1" t="s"><v>{index}</v></c></row></sheetData>'

    refusal = read_every_way(workbook(sheet))

    assert refusal == (
        f"UnreadableFile: the XLSX file is damaged: a cell points at shared string {index}, "
        "and the workbook has 3 (0 to 2)"
    )


def test_plain_rows_read_as_their_cells() -> None:
    sheet = (
        '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>SKU</t></is></c><c r="C1" s="0" t="s"><v>1</v></c>'
        '</row><row r="4" spans="1:3"><c r="B4"><v>-12</v></c><c r="C4" s="1"><v>45352</v></c></row></sheetData>'
    )

    rows = read_every_way(workbook(sheet))

    assert rows == [(1, ["SKU", None, "Café & crème"]), (4, [None, -12, datetime(2024, 3, 1)])]


def test_plain_rows_are_read_by_the_compiled_scan_alone() -> None:
    rows = "".join(
        f'<row r="{n}" spans="1:2"><c r="A{n}" t="inlineStr"><is><t>Row {n} &amp; more</t></is></c>'
        f'<c r="C{n}" s="2"><v>{n}.5</v></c></row>'
        for n in range(1, 3001)
    )

    with mock.patch.object(sheet_rows.SheetRows, "take", side_effect=AssertionError("a plain row left to take")):
        read = list(read_sheet(io.BytesIO(workbook(f"<sheetData>{rows}</sheetData>"))))

    assert len(read) == 3000
    assert read[0] == (1, ["Row 1 & more", None, 1.5])
    assert read[-1] == (3000, ["Row 3000 & more", None, 3000.5])


def test_an_interrupt_while_a_date_is_read_is_not_lost() -> None:
    # A cell's reading that fails is left to take, which fails the same way; an interrupt (Ctrl-C, a worker's
    # shutdown) arriving meanwhile is no failure of the cell, and must not be dropped with it.
    sheet = '<sheetData><row r="1"><c r="A1" s="1"><v>45352</v></c></row></sheetData>'
    once = mock.Mock(side_effect=[KeyboardInterrupt, datetime(2024, 3, 1)])

    with mock.patch.object(sheet_rows, "dated_value", once), pytest.raises(KeyboardInterrupt):
        list(read_sheet(io.BytesIO(workbook(sheet))))


def test_a_row_inside_a_comment_is_no_row_even_when_the_comment_holds_a_row_end() -> None:
    sheet = (
        '<sheetData><row r="1"><c><v>1</v></c></row><!-- </row><row r="2"><c><v>2</v></c></row> -->'
        '<row r="3"><c><v>3</v></c></row></sheetData>'
    )

    assert read_every_way(workbook(sheet)) == [(1, [1]), (3, [3])]


def test_a_sheet_with_a_comment_before_its_rows_reads_the_same() -> None:
    sheet = '<sheetData><row r="1"><c><v>1</v></c></row></sheetData>'

    rows = read_every_way(workbook(sheet.replace("<sheetData>", "<!-- <sheetData> --><sheetData>")))

    assert rows == [(1, [1])]


def test_a_sheet_declared_in_another_encoding_reads_the_same() -> None:
    sheet = '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>Ünïcode</t></is></c></row></sheetData>'
    xml = f'<?xml version="1.0" encoding="UTF-16"?><worksheet xmlns="{MAIN}">{sheet}</worksheet>'

    rows = read_every_way(workbook(sheet, stored=xml.encode("utf-16")))

    assert rows == [(1, ["Ünïcode"])]


def test_a_damaged_row_is_refused_naming_its_byte_in_the_sheet_as_stored() -> None:
    good = '<row r="1"><c r="A1" t="inlineStr"><is><t>fine</t></is></c></row>'
    sheet = f'<sheetData>{good * 3}<row r="4"><c r="A4"><v>1</c></row></sheetData>'
    stored = f'<worksheet xmlns="{MAIN}"><dimension ref="A1"/>{sheet}</worksheet>'

    refusal = read_every_way(workbook(sheet))

    assert refusal == (
        "UnreadableFile: the XLSX file is damaged: mismatched tag at byte "
        f"{stored.index('c></row></sheetData>')} of xl/worksheets/sheet1.xml"  # the name in the end tag
    )


R1 = '<row r="1"><c><v>1</v></c></row>'


def noise(length: int) -> str:
    """Letters at random: text that compresses too little for the archive's ratio limit to refuse it."""
    return "".join(random.Random(length).choices(string.ascii_letters, k=length))


@pytest.mark.parametrize(
    "sheet",
    [
        f'<sheetData>{R1}<row r="2" spans="\uffff"><c><v>2</v></c></row></sheetData>',  # a character XML refuses
        f'<sheetData>{R1}<row r="2" spans="1 2" spans="3"><c><v>2</v></c></row></sheetData>',  # repeated
        f'<sheetData>{R1}<row spans="1 2" r="5"><c><v>2</v></c></row></sheetData>',  # r after a spaced value
        f'<sheetData>{R1}<row r="2"><c><v>2</v></c></row><c><v>9</v></c></sheetData>',  # a cell out of any row
        '<sheetData><row r="1"><c><v>1</v></c><sheetData><row r="2"><c><v>5</v></c></row>'
        '<row r="3"><c><v>6</v></c></row></sheetData></row></sheetData>',  # sheetData in a row
    ],
)
def test_odd_rows_read_the_same_scanned_as_parsed(sheet: str) -> None:
    read_every_way(workbook(sheet))


def test_a_sheet_declared_utf8_without_the_hyphen_reads_the_same() -> None:
    # expat does not know the name "utf8": it reads such a part as single bytes, and refuses what is not ASCII
    sheet = f'<sheetData>{R1}<row r="2"><c t="inlineStr"><is><t>é</t></is></c></row></sheetData>'
    stored = f'<?xml version="1.0" encoding="utf8"?><worksheet xmlns="{MAIN}">{sheet}</worksheet>'.encode()

    assert isinstance(read_every_way(workbook(sheet, stored=stored)), str)


def test_a_comment_full_of_row_end_tags_is_given_to_expat_in_blocks() -> None:
    # Cut at each </row> and given to expat piece by piece, this 700 KB comment took minutes: expat reads an
    # unfinished token again from its start each time it gets more. In blocks, it takes a few milliseconds.
    comment = "".join(f"</row>{word}" for word in noise(100_000))
    sheet = f'<sheetData>{R1}<!--{comment}--><row r="2"><c><v>2</v></c></row></sheetData>'
    began = time.perf_counter()

    rows = read_every_way(workbook(sheet))

    assert rows == [(1, [1]), (2, [2])]
    assert time.perf_counter() - began < 10


LIMITS = (  # 1 MiB of markup and 16M characters of text in the service, where a row or block scanned is at most
    # 256 KiB (so a text it holds is never over the limit); scaled down together here, since an archive
    # holding that much text would be refused as a bomb first.
    mock.patch.object(sheet_xml, "MAX_TOKEN_BYTES", 100_000),
    mock.patch.object(sheet_rows, "MAX_TEXT", 100_000),
    mock.patch.object(shared_strings, "MAX_TEXT", 100_000),
    mock.patch.object(sheet_rows, "MAX_SCANNED_ROW", 30_000),
    mock.patch.object(shared_strings, "MAX_BLOCK_WITHOUT_ITEM_END", 30_000),
)


@pytest.mark.parametrize(
    ("sheet", "items", "refusal"),
    [
        (f"<sheetData>{R1}<!--{noise(300_000)}--></sheetData>", None, "xl/worksheets/sheet1.xml holds a comment"),
        (f'<sheetData><row r="1" a="{noise(300_000)}"/></sheetData>', None, "xl/worksheets/sheet1.xml holds a comment"),
        (f'<sheetData><row><c t="inlineStr"><is><t>{noise(300_000)}</t></is></c></row></sheetData>', None, "a cell's"),
        ('<sheetData><row><c t="s"><v>0</v></c></row></sheetData>', f"<si><t>{noise(300_000)}</t></si>", "a shared"),
        (
            f"<sheetData><row><c t='inlineStr'><is>{''.join(f'<t>{c}</t>' for c in noise(20_000))}</is></c></row>"
            "</sheetData>",
            None,
            "a cell's",
        ),  # 20,000 pieces of one character: each counts 64 more
    ],
)
def test_a_comment_tag_or_text_over_the_limit_is_refused(sheet: str, items: str | None, refusal: str) -> None:
    with LIMITS[0], LIMITS[1], LIMITS[2], LIMITS[3], LIMITS[4]:
        outcome = read_every_way(workbook(sheet, items=items))

    assert isinstance(outcome, str) and outcome.startswith(f"UnreadableFile: the XLSX file is refused: {refusal}")


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(length=st.integers(80_000, 120_000), rows=st.integers(0, 40), block=st.sampled_from([4096, 65536]))
def test_a_comment_near_the_limit_is_refused_or_read_the_same_either_way(length: int, rows: int, block: int) -> None:
    plain = "".join(
        f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>{noise(30)}</t></is></c></row>' for n in range(rows)
    )
    sheet = f'<sheetData>{plain}<!--{noise(length)}--><row r="{rows + 1}"><c><v>1</v></c></row></sheetData>'

    with LIMITS[0], LIMITS[1], LIMITS[2], LIMITS[3], LIMITS[4], mock.patch.object(sheet_xml, "_BLOCK", block):
        read_every_way(workbook(sheet))


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    rows=st.integers(3, 60),
    where=st.floats(0, 1),
    block=st.sampled_from([65536, 97, 7]),
    compiled=st.booleans(),
)
def test_a_reading_from_the_middle_reads_the_rows_after_the_one_that_crosses_its_byte(
    rows: int, where: float, block: int, compiled: bool
) -> None:
    # What the second worker of a large sheet reads (sheet_pieces.py): the first row, then the rows after
    # the first that ends at or after the byte, whole runs of rows left out at once.
    plain = "".join(f'<row r="{n}"><c r="A{n}" t="inlineStr"><is><t>row {n}</t></is></c></row>' for n in range(1, rows))
    data = workbook(f"<sheetData>{plain}</sheetData>")
    place, whole = sheet_xml.RowPlace(), []
    for row in read_sheet(io.BytesIO(data), place=place):
        whole.append((row, place.end))
    target = whole[1][1] + int(where * (whole[-1][1] - whole[1][1]))
    crossing = min(end for _, end in whole[1:] if end >= target)

    with (
        mock.patch.object(sheet_xml, "_BLOCK", block),
        contextlib.nullcontext() if compiled else mock.patch.object(sheet_rows, "_rowscan", None),
    ):
        read = list(read_sheet(io.BytesIO(data), skip_to=target))

    assert read == [whole[0][0]] + [row for row, end in whole[1:] if end > crossing]
