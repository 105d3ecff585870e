"""The bench's rows as a workbook with a shared-strings table, the form Excel, LibreOffice and xlsxwriter
write: every text cell points into xl/sharedStrings.xml. openpyxl's write-only mode, which scenario e's
XLSX uses, writes text inline in the sheet instead; scenario j and --readers use this one.

Written part by part: the sheet streams, and the table of distinct texts is held until it is written
after the sheet: this process, not the service, holds every distinct text of the rows.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

from bench.checksum import Content, ExpectedContent
from bench.data import HEADER, DataSpec, generate_rows

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_PARTS = {
    "[Content_Types].xml": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        '<Override PartName="/xl/sharedStrings.xml" '
        'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>'
        "</Types>"
    ),
    "_rels/.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'officeDocument" Target="xl/workbook.xml"/></Relationships>'
    ),
    "xl/workbook.xml": (
        f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook xmlns="{MAIN}" '
        'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships">'
        '<sheets><sheet name="Products" sheetId="1" r:id="rId1"/></sheets></workbook>'
    ),
    "xl/_rels/workbook.xml.rels": (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'worksheet" Target="worksheets/sheet1.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
        'sharedStrings" Target="sharedStrings.xml"/></Relationships>'
    ),
}
_NUMERIC = {HEADER.index("Retail Price"), HEADER.index("Available Quantity")}


def _column(index: int) -> str:
    return chr(65 + index) if index < 26 else chr(64 + index // 26) + chr(65 + index % 26)


def write_shared_xlsx(spec: DataSpec, target: Path) -> Content:
    expected = ExpectedContent()
    table: dict[str, int] = {}
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in _PARTS.items():
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as sheet:
            sheet.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{MAIN}">'
                        "<sheetData>".encode())  # fmt: skip
            for number, row in enumerate([list(HEADER), *generate_rows(spec)], start=1):
                if number > 1:
                    expected.add_row(row)
                cells = []
                for index, value in enumerate(row):
                    if value == "":
                        continue
                    reference = f"{_column(index)}{number}"
                    if number > 1 and index in _NUMERIC:
                        cells.append(f'<c r="{reference}"><v>{value}</v></c>')
                    else:
                        shared = table.setdefault(value, len(table))
                        cells.append(f'<c r="{reference}" t="s"><v>{shared}</v></c>')
                sheet.write(f'<row r="{number}">{"".join(cells)}</row>'.encode())
            sheet.write(b"</sheetData></worksheet>")
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as strings:
            strings.write(f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<sst xmlns="{MAIN}" '
                          f'uniqueCount="{len(table)}">'.encode())  # fmt: skip
            for text in table:
                strings.write(f"<si><t>{escape(text)}</t></si>".encode())
            strings.write(b"</sst>")
    return expected.result()
