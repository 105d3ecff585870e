"""Specifications as a user reads them: every column with its kind and rule, and a template file to fill."""

from __future__ import annotations

import csv
import io

from openpyxl import Workbook

from app.errors import BadRequest, NotFound
from app.importing.formats import FileType
from specifications import Specification, all_specifications


def describe(spec: Specification) -> dict[str, object]:
    return {
        "name": spec.name,
        "importType": spec.import_type.value,
        "description": spec.description,
        "columns": [
            {
                "header": column.header,
                "field": column.field,
                "kind": column.kind.value,
                "required": column.requirement.value,
                "key": column.key,
                "translatable": column.translatable,
                "maxLength": column.length_limit,
                "description": column.description,
            }
            for column in spec.columns
        ],
        "columnFamilies": [
            {
                "header": f"{family.prefix}[Name]",
                "field": family.field,
                "required": family.requirement.value,
                "description": family.description,
            }
            for family in spec.families
        ],
        "translations": "Field(LOCALE) for a translatable column, LOCALE a language name (SPANISH) or code (es, es_ES)",
        "refusedHeaders": sorted(spec.refused_headers),
    }


def list_specifications() -> list[dict[str, object]]:
    return [describe(spec) for spec in all_specifications()]


def _find(name: str) -> Specification:
    for spec in all_specifications():
        if spec.name.lower() == name.strip().lower():
            return spec
    raise NotFound(f"no specification named '{name}'; GET /api/importer/specifications lists them")


def template(name: str, file_type: str | None) -> tuple[str, str, bytes]:
    """(media type, file name, body): the header row and one example row."""
    spec = _find(name)
    kind = (file_type or "CSV").strip().upper()
    headers = [column.header for column in spec.columns]
    headers += [header for header in spec.example if header not in headers]
    example = [spec.example.get(header, "") for header in headers]
    if kind == FileType.CSV.value:
        out = io.StringIO()
        csv.writer(out, lineterminator="\r\n").writerows([headers, example])
        return "text/csv; charset=utf-8", f"{spec.name}.csv", out.getvalue().encode("utf-8")
    if kind == FileType.XLSX.value:
        workbook = Workbook()
        sheet = workbook.active
        assert sheet is not None
        sheet.append(headers)
        sheet.append(example)
        data = io.BytesIO()
        workbook.save(data)
        media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
        return media, f"{spec.name}.xlsx", data.getvalue()
    raise BadRequest(f"a template is CSV or XLSX, not '{file_type}'")
