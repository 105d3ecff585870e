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

# The keys each part of a file may hold: a key mistyped or not supported ("requried", "default") would otherwise
# be left unread, and the specification would not be the one its file describes.
_FILE_KEYS = frozenset({"name", "importType", "description", "columns", "columnFamilies"})
_COLUMN_KEYS = frozenset({"header", "field", "required"})
_FAMILY_KEYS = frozenset({"prefix", "field"})


def _fail(path: Path, reason: str) -> SettingsError:
    return SettingsError(f"specification file {path.name}: {reason}")


def _shown(value: object) -> str:
    return (value if isinstance(value, str) else json.dumps(value))[:60]


def _check_keys(path: Path, item: dict[str, Any], allowed: frozenset[str], kind: str, which: str = "") -> None:
    unknown = sorted(set(item) - allowed)
    if unknown:
        names = ", ".join(f"'{name}'" for name in unknown)
        place = f"{kind} {which}: " if which else ""
        raise _fail(path, f"{place}unknown key {names}; a {kind} takes {', '.join(sorted(allowed))}")


def _list(path: Path, data: dict[str, Any], name: str) -> list[Any]:
    value = data.get(name)
    if value is None:
        return []
    if not isinstance(value, list):
        raise _fail(path, f'"{name}" must be a list, not {_shown(value)}')
    return value


def _requirement(path: Path, column: Column, item: dict[str, Any]) -> Column:
    required = item["required"]
    if not isinstance(required, bool):
        raise _fail(path, f"column '{column.header}': \"required\" is true or false, not '{_shown(required)}'")
    if column.key:
        if not required:
            raise _fail(path, f"column '{column.header}' holds the key, which is always required")
        return column
    return dataclasses.replace(column, requirement=Requirement.REQUIRED if required else Requirement.OPTIONAL)


def _column(path: Path, base: Specification, item: Any) -> Column:
    if not isinstance(item, dict) or not isinstance(item.get("header"), str) or not isinstance(item.get("field"), str):
        raise _fail(path, 'each column is {"header": ..., "field": ...}')
    if not item["header"].strip():
        raise _fail(path, f"a column's header is empty (the column of field '{item['field']}')")
    _check_keys(path, item, _COLUMN_KEYS, "column", f"'{item['header'].strip()}'")
    fields = {column.field: column for column in base.columns}
    if item["field"] not in fields:
        raise _fail(path, f"unknown field '{item['field']}'; {base.import_type.value} fields are {sorted(fields)}")
    column = dataclasses.replace(fields[item["field"]], header=item["header"].strip())
    return _requirement(path, column, item) if "required" in item else column


def _family(path: Path, base: Specification, item: Any) -> ColumnFamily:
    families = {family.field: family for family in base.families}
    if not isinstance(item, dict) or item.get("field") not in families or not isinstance(item.get("prefix"), str):
        raise _fail(path, f'each column family is {{"prefix": ..., "field": one of {sorted(families)}}}')
    if not item["prefix"].strip():
        raise _fail(path, f"a column family's prefix is empty (the family of field '{item['field']}')")
    _check_keys(path, item, _FAMILY_KEYS, "column family", f"'{item['prefix'].strip()}'")
    return dataclasses.replace(families[item["field"]], prefix=item["prefix"].strip())


def _given_twice(names: list[str]) -> str | None:
    seen: set[str] = set()
    for name in names:
        if name.lower() in seen:
            return name
        seen.add(name.lower())
    return None


def _check_one_column_a_field(path: Path, columns: tuple[Column, ...]) -> None:
    """Two columns of one field would both be in the template, whose upload then gives the field twice."""
    first: dict[str, str] = {}
    for column in columns:
        earlier = first.setdefault(column.field, column.header)
        if earlier != column.header:
            raise _fail(
                path,
                f"columns '{earlier}' and '{column.header}' both hold field '{column.field}'; a field takes one column",
            )


def _read_json(path: Path) -> dict[str, Any]:
    try:
        # utf-8-sig: Notepad and other Windows editors save UTF-8 with a byte order mark.
        data = json.loads(path.read_text(encoding="utf-8-sig"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as error:
        raise _fail(path, f"not readable JSON ({error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("name"), str) or not data["name"].strip():
        raise _fail(path, 'it must be an object with a "name"')
    _check_keys(path, data, _FILE_KEYS, "specification file")
    if not isinstance(data.get("description", ""), str):
        raise _fail(path, '"description" is text')
    return data


def _import_type(path: Path, data: dict[str, Any]) -> ImportType:
    try:
        import_type = ImportType(str(data.get("importType", "")).upper())
    except ValueError:
        raise _fail(path, f"importType must be one of {[kind.value for kind in ImportType]}") from None
    if import_type is ImportType.ASSET:
        raise _fail(path, "ASSET imports take any specification; there is nothing to map")
    return import_type


def read_specification(path: Path) -> Specification:
    data = _read_json(path)
    import_type = _import_type(path, data)
    base = specifications_for(import_type)[0]
    columns = tuple(_column(path, base, item) for item in _list(path, data, "columns"))
    if _given_twice([column.header for column in columns]) is not None:
        raise _fail(path, "a header is given twice")
    _check_one_column_a_field(path, columns)
    missing = [column.header for column in base.key_columns if column.field not in {c.field for c in columns}]
    if missing:
        raise _fail(path, f"the key must be mapped: {missing}")
    families = tuple(_family(path, base, item) for item in _list(path, data, "columnFamilies"))
    twice = _given_twice([family.prefix for family in families])
    if twice is not None:
        raise _fail(path, f"the prefix '{twice}' is given twice")
    description = data.get("description") or f"A {import_type.value} specification of this deployment."
    return dataclasses.replace(
        base, name=data["name"].strip(), description=description, columns=columns, families=families, example={}
    )


def _specification_files(folder: Path) -> list[Path]:
    """The folder's *.json files, in any case; a YAML file is a mistake (it would be left unread), any other file
    (a README) is no specification."""
    files = []
    for path in sorted(folder.iterdir()):
        suffix = path.suffix.lower()
        if suffix in (".yaml", ".yml"):
            raise _fail(path, "specification files are JSON (*.json), not YAML")
        if suffix == ".json" and path.is_file():
            files.append(path)
    return files


def install_specifications(folder: Path | None) -> list[Specification]:
    """Read and register every *.json file of the folder; any mistake stops with a SettingsError."""
    if folder is None:
        return []
    if not folder.is_dir():
        raise SettingsError(f"IMPORTER_SPECIFICATIONS_DIR {folder} is not a folder")
    added = []
    for path in _specification_files(folder):
        spec = read_specification(path)
        try:
            register(spec)
        except ValueError as error:
            raise _fail(path, str(error)) from None
        added.append(spec)
    return added
