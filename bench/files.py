"""Upload files on disk: generated rows streamed to CSV or XLSX, with the content they must import to.

A file is written once per spec and kept in the data folder; its expected content sits beside it
in a small JSON file, which is written last, so a half-written file is never taken for a whole one.
"""

from __future__ import annotations

import contextlib
import csv
import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from enum import StrEnum
from pathlib import Path

from openpyxl import Workbook

from bench.checksum import Content, ExpectedContent
from bench.data import HEADER, Col, DataSpec, generate_rows
from bench.shared_xlsx import write_shared_xlsx

logger = logging.getLogger(__name__)


class FileType(StrEnum):
    CSV = "CSV"
    XLSX = "XLSX"
    XLSX_SHARED = "XLSX (shared strings)"  # an XLSX as Excel writes it (--readers and scenario j)

    @property
    def suffix(self) -> str:
        return ".shared.xlsx" if self is FileType.XLSX_SHARED else f".{self.value.lower()}"

    @property
    def upload_type(self) -> str:
        """The fileType the import is asked for."""
        return "XLSX" if self is FileType.XLSX_SHARED else self.value


@dataclass(frozen=True)
class DataFile:
    path: Path
    file_type: FileType
    rows: int
    expected: Content  # what catalog 1 must hold once the file is imported into an empty one

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size


def _write_csv(rows: Iterable[list[str]], target: Path) -> Content:
    expected = ExpectedContent()
    with target.open("w", encoding="utf-8", newline="") as file:
        writer = csv.writer(file, lineterminator="\n")
        writer.writerow(HEADER)
        for row in rows:
            expected.add_row(row)
            writer.writerow(row)
    return expected.result()


def write_csv(rows: list[list[str]], target: Path) -> DataFile:
    """A small CSV of given rows (HEADER order), written at once."""
    return DataFile(target, FileType.CSV, len(rows), _write_csv(rows, target))


def _typed(row: list[str]) -> list[object]:
    """Cells as a spreadsheet user types them: prices and quantities are numbers, codes stay text."""
    cells: list[object] = list(row)
    with contextlib.suppress(InvalidOperation):
        cells[Col.PRICE] = float(Decimal(row[Col.PRICE]))
    if row[Col.QUANTITY]:
        cells[Col.QUANTITY] = int(row[Col.QUANTITY])
    return [None if cell == "" else cell for cell in cells]


def _write_xlsx(spec: DataSpec, target: Path) -> Content:
    expected = ExpectedContent()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Products")
    sheet.append(list(HEADER))
    for row in generate_rows(spec):
        expected.add_row(row)
        sheet.append(_typed(row))
    workbook.save(target)
    return expected.result()


def prepare(spec: DataSpec, file_type: FileType, folder: Path) -> DataFile:
    """The file for `spec`, written now unless an earlier run left it complete."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{spec.stem}{file_type.suffix}"
    sidecar = path.with_name(path.name + ".expected.json")
    if path.exists() and sidecar.exists():
        return DataFile(path, file_type, spec.rows, Content.from_json(json.loads(sidecar.read_text())))
    sidecar.unlink(missing_ok=True)
    logger.info("bench.generating %s", path.name)
    partial = path.with_name(path.name + ".part")
    if file_type is FileType.CSV:
        content = _write_csv(generate_rows(spec), partial)
    elif file_type is FileType.XLSX:
        content = _write_xlsx(spec, partial)
    else:
        content = write_shared_xlsx(spec, partial)
    os.replace(partial, path)
    sidecar.write_text(json.dumps(content.to_json()))
    return DataFile(path, file_type, spec.rows, content)
