"""XLSX cells become the text their column's kind expects, repairing spreadsheet damage."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from app.importing.readers.workbook import SheetCell, cell_text
from specifications.model import ColumnKind


@pytest.mark.parametrize(
    ("value", "kind", "text"),
    [
        (2007.0, ColumnKind.IDENTIFIER, "2007"),
        (2007, ColumnKind.IDENTIFIER, "2007"),
        (12.0, ColumnKind.CODE, "12"),
        (3.99, ColumnKind.DECIMAL, "3.99"),
        (1e-7, ColumnKind.DECIMAL, "0.0000001"),
        (300.0, ColumnKind.INTEGER, "300"),
        (True, ColumnKind.FLAG, "Y"),
        (False, ColumnKind.FLAG, "N"),
        (True, ColumnKind.TEXT, "TRUE"),
        (None, ColumnKind.TEXT, ""),
        (datetime(2024, 3, 1, 12, 30), None, "2024-03-01T12:30:00"),
        (date(2024, 3, 1), None, "2024-03-01"),
        ("0042", ColumnKind.CODE, "0042"),
    ],
)
def test_cells_read_as_their_column_expects(value: SheetCell, kind: ColumnKind | None, text: str) -> None:
    assert cell_text(value, kind) == text
