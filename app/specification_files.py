"""Specifications a deployment adds without code: JSON files in IMPORTER_SPECIFICATIONS_DIR.

A file names its import type and maps its own headers to fields of that type's default
specification, whose kinds and rules the new columns keep:

    {"name": "AcmeProductFeed", "importType": "PRODUCT", "description": "Acme's nightly feed",
     "columns": [{"header": "Item Code", "field": "sku_number"},
                 {"header": "Name", "field": "product_title"},
                 {"header": "Price", "field": "retail_price"},
                 {"header": "Blurb", "field": "product_description", "required": false}],
     "columnFamilies": [{"prefix": "Attr", "field": "attributes"}]}

Every file is checked at start-up; a mistake stops the start with the file and the reason.
"""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path
from typing import Any

from app.errors import SettingsError
from specifications import Specification, register, specifications_for
from specifications.model import Column, ColumnFamily, ImportType, Requirement


def _fail(path: Path, reason: str) -> SettingsError:
    return SettingsError(f"specification file {path.name}: {reason}")


def _column(path: Path, base: Specification, item: Any) -> Column:
    if not isinstance(item, dict) or not isinstance(item.get("header"), str) or not isinstance(item.get("field"), str):
        raise _fail(path, 'each column is {"header": ..., "field": ...}')
    fields = {column.field: column for column in base.columns}
    if item["field"] not in fields:
        raise _fail(path, f"unknown field '{item['field']}'; {base.import_type.value} fields are {sorted(fields)}")
    column = dataclasses.replace(fields[item["field"]], header=item["header"].strip())
    if "required" in item and not column.key:
        column = dataclasses.replace(
            column, requirement=Requirement.REQUIRED if item["required"] else Requirement.OPTIONAL
        )
    return column


def _family(path: Path, base: Specification, item: Any) -> ColumnFamily:
    families = {family.field: family for family in base.families}
    if not isinstance(item, dict) or item.get("field") not in families or not isinstance(item.get("prefix"), str):
        raise _fail(path, f'each column family is {{"prefix": ..., "field": one of {sorted(families)}}}')
    return dataclasses.replace(families[item["field"]], prefix=item["prefix"].strip())


def read_specification(path: Path) -> Specification:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(path, f"not readable JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"].strip():
        raise _fail(path, 'it must be an object with a "name"')
    try:
        import_type = ImportType(str(data.get("importType", "")).upper())
    except ValueError:
        raise _fail(path, f"importType must be one of {[kind.value for kind in ImportType]}") from None
    if import_type is ImportType.ASSET:
        raise _fail(path, "ASSET imports take any specification; there is nothing to map")
    base = specifications_for(import_type)[0]
    columns = tuple(_column(path, base, item) for item in data.get("columns") or [])
    headers = [column.header.lower() for column in columns]
    if len(set(headers)) != len(headers):
        raise _fail(path, "a header is given twice")
    missing = [column.header for column in base.key_columns if column.field not in {c.field for c in columns}]
    if missing:
        raise _fail(path, f"the key must be mapped: {missing}")
    families = tuple(_family(path, base, item) for item in data.get("columnFamilies") or [])
    description = str(data.get("description") or f"A {import_type.value} specification of this deployment.")
    return dataclasses.replace(
        base, name=data["name"].strip(), description=description, columns=columns, families=families, example={}
    )


def install_specifications(folder: Path | None) -> list[Specification]:
    """Read and register every *.json file of the folder; any mistake stops with a SettingsError."""
    if folder is None:
        return []
    if not folder.is_dir():
        raise SettingsError(f"IMPORTER_SPECIFICATIONS_DIR {folder} is not a folder")
    added = []
    for path in sorted(folder.glob("*.json")):
        spec = read_specification(path)
        try:
            register(spec)
        except ValueError as error:
            raise _fail(path, str(error)) from None
        added.append(spec)
    return added
