"""XLSX cells become the text their column's kind expects, repairing spreadsheet damage."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

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
        (623.16, ColumnKind.DECIMAL, "623.16"),
        (-0.5, None, "-0.5"),
        (1.5e16, ColumnKind.DECIMAL, "15000000000000000"),
        (float("inf"), ColumnKind.DECIMAL, "Infinity"),
    ],
)
def test_cells_read_as_their_column_expects(value: SheetCell, kind: ColumnKind | None, text: str) -> None:
    assert cell_text(value, kind) == text


# Dates are read as serial dates, nan and inf as Decimal writes them (the table above).
_NOT_DATES = [None, *(kind for kind in ColumnKind if kind is not ColumnKind.DATE)]


@given(st.floats(allow_nan=False, allow_infinity=False), st.sampled_from(_NOT_DATES))
def test_a_float_is_written_out_as_a_spreadsheet_shows_it_whatever_its_size(
    value: float, kind: ColumnKind | None
) -> None:
    text = cell_text(value, kind)

    assert "e" not in text.lower()
    whole_kind = kind in (ColumnKind.IDENTIFIER, ColumnKind.CODE, ColumnKind.INTEGER)
    if value.is_integer() and (abs(value) < 1e15 or (whole_kind and abs(value) < 2**53)):
        assert text == str(int(value))  # every digit: the float holds this whole number exactly
    else:
        assert Decimal(text) == Decimal(f"{value:.15g}")  # the 15 significant digits a spreadsheet shows
        assert float(text) == float(f"{value:.15g}")


@pytest.mark.parametrize(
    ("stored", "kind", "shown"),
    [
        ("3.3000000000000003", ColumnKind.DECIMAL, "3.3"),  # =3*1.1
        ("3.9899999999999998", ColumnKind.DECIMAL, "3.99"),
        ("0.30000000000000004", None, "0.3"),  # =0.1+0.2 in an attribute column
        ("1.23456789012345E+17", ColumnKind.IDENTIFIER, "123456789012345000"),  # 123456789012345678 typed in
        ("1.23456789012345E+17", ColumnKind.TEXT, "123456789012345000"),
        ("9007199254740991", ColumnKind.CODE, "9007199254740991"),  # whole and exact: every digit
        ("12345678901234.56", ColumnKind.DECIMAL, "12345678901234.6"),
    ],
)
def test_a_number_excel_stores_reads_as_excel_shows_it(stored: str, kind: ColumnKind | None, shown: str) -> None:
    assert cell_text(float(stored), kind) == shown
