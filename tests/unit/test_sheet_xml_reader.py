"""The sheet XML reader: what a spreadsheet program writes in ways openpyxl does not, read the same."""

from __future__ import annotations

import io
import random
import string

from app.importing.readers.sheet_rows import SheetValue
from app.importing.readers.workbook import iter_sheet
from tests.factories import make_zip

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"


def workbook(sheet_xml: str, prefix: str = "") -> bytes:
    """A minimal workbook with one sheet; with `prefix`, every element of the sheet carries it (x:row, x:c)."""
    declared = f"xmlns:{prefix}" if prefix else "xmlns"
    p = f"{prefix}:" if prefix else ""
    body = sheet_xml.replace("<", f"<{p}").replace(f"<{p}/", f"</{p}")
    return make_zip(
        {
            "xl/workbook.xml": f'<workbook xmlns="{MAIN}" xmlns:r="{RELS}"><sheets>'
            '<sheet name="S" sheetId="1" r:id="rId1"/></sheets></workbook>',
            "xl/_rels/workbook.xml.rels": '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/'
            'relationships"><Relationship Id="rId1" Target="worksheets/sheet1.xml"/></Relationships>',
            "xl/worksheets/sheet1.xml": f'<{p}worksheet {declared}="{MAIN}">{body}</{p}worksheet>',
        }
    )


SHEET = (
    '<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>SKU</t></is></c><c r="C1"><v>2.5</v></c></row>'
    '<row r="3"><c r="B3" t="inlineStr"><is><t>Café &amp; crème</t></is></c><c r="C3"><v>7</v></c></row></sheetData>'
)


def rows_of(data: bytes) -> list[tuple[int, list[SheetValue]]]:
    return list(iter_sheet(io.BytesIO(data)))


def test_cells_land_in_their_columns_and_rows_keep_their_numbers() -> None:
    assert rows_of(workbook(SHEET)) == [(1, ["SKU", None, 2.5]), (3, [None, "Café & crème", 7])]


def test_a_sheet_whose_elements_carry_a_namespace_prefix_reads_the_same() -> None:
    assert rows_of(workbook(SHEET, prefix="x")) == rows_of(workbook(SHEET))


def test_a_text_far_longer_than_the_parser_buffer_comes_back_whole() -> None:
    # 300,000 characters (random, so that the archive is no bomb), delivered by the parser in many pieces
    text = "".join(random.Random(8).choices(string.ascii_letters + "&", k=300_000))
    escaped = text.replace("&", "&amp;")
    sheet = f'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>{escaped}</t></is></c><c r="B1"><v>1</v></c></row>'
    sheet += '<row r="2"><c r="A2" t="inlineStr"><is><t>next</t></is></c></row></sheetData>'

    [(_, first), (_, second)] = rows_of(workbook(sheet))

    assert first == [text, 1]
    assert second == ["next"]
