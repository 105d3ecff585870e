"""Files and rows for tests: the contract's example, product rows, CSV, XLSX, JSON and ZIP bodies."""

from __future__ import annotations

import csv
import io
import json
import zipfile
from collections.abc import Callable, Mapping, Sequence

from openpyxl import Workbook

CONTRACT_HEADER = [
    "SKU Number", "SKU Indicator", "Product Title", "Product Description",
    "Product Description(SPANISH)", "Default Category Id", "Product URL", "Retail Price", "UPC",
    "Available Quantity", "ProductAttribute[Color]",
]  # fmt: skip

CONTRACT_ROWS = [
    ["2011", "", "ProductB2011", "ProductB2011 is awesome!!!", "¡ ProductB2011 es increíble!", "2007",
     "/mens/ProductB2011", "3.99", "2822011", "300", "Red"],
    ["2012", "", "ProductB2012", "ProductB2012 is awesome!!!", "¡ ProductB2012 es increíble!", "2007",
     "/mens/ProductB2012", "3.99", "2822012", "300", "Blue"],
    ["2013", "", "ProductB2013", "ProductB2013 is awesome!!!", "¡ ProductB2013 es increíble!", "2007",
     "/mens/ProductB2013", "3.99", "2822013", "300", "Black"],
]  # fmt: skip

CONTRACT_QUERY = "importSpecification=DefaultProductImportSpecification&catalogId=-2&siteId=-3&userId=-2&fileType=CSV"


def make_csv(rows: Sequence[Sequence[object]], header: Sequence[str] = CONTRACT_HEADER, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
    writer.writerow(header)
    for row in rows:
        writer.writerow(row)
    return out.getvalue().encode("utf-8")


def contract_csv() -> bytes:
    """The contract's example body as curl -d sends it: no trailing newline."""
    return make_csv(CONTRACT_ROWS).rstrip(b"\n")


def make_xlsx(rows: Sequence[Sequence[object]], header: Sequence[str] = CONTRACT_HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def rewrite_sheet(body: bytes, change: Callable[[bytes], bytes]) -> bytes:
    """The workbook with its first sheet's XML changed by `change`, every other part as it was."""
    source = zipfile.ZipFile(io.BytesIO(body))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as target:
        for info in source.infolist():
            data = source.read(info)
            target.writestr(info, change(data) if info.filename == "xl/worksheets/sheet1.xml" else data)
    return out.getvalue()


def product_row(sku: str, title: str | None = None, price: str = "9.99", **overrides: str) -> list[str]:
    """A valid product row in CONTRACT_HEADER order."""
    values = {
        "SKU Number": sku,
        "SKU Indicator": "",
        "Product Title": title or f"Product {sku}",
        "Product Description": f"Description of {sku}",
        "Product Description(SPANISH)": f"Descripción de {sku}",
        "Default Category Id": "2007",
        "Product URL": f"/products/{sku}",
        "Retail Price": price,
        "UPC": f"0{sku}",
        "Available Quantity": "10",
        "ProductAttribute[Color]": "Green",
    }
    values.update(overrides)
    return [values[name] for name in CONTRACT_HEADER]


def make_jsonl(rows: Sequence[Sequence[object]], header: Sequence[str] = CONTRACT_HEADER) -> bytes:
    lines = [json.dumps({name: value for name, value in zip(header, row, strict=True) if value != ""}) for row in rows]
    return ("\n".join(lines) + "\n").encode("utf-8")


def make_json(rows: Sequence[Sequence[object]], header: Sequence[str] = CONTRACT_HEADER) -> bytes:
    records = [{name: value for name, value in zip(header, row, strict=True) if value != ""} for row in rows]
    return json.dumps(records, indent=2, ensure_ascii=False).encode("utf-8")


def make_zip(entries: Mapping[str, bytes | str], compression: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ZIP archive of these entries, in this order."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return out.getvalue()
