"""A sheet's dates are read as spreadsheet readers read them: the same number formats show a date as openpyxl
says, and a serial number stands for the same moment (or fails the same way) as openpyxl's reading of it."""

from __future__ import annotations

import math

from hypothesis import example, given, settings
from hypothesis import strategies as st
from openpyxl.styles.numbers import BUILTIN_FORMATS, is_date_format
from openpyxl.utils.datetime import from_excel

from app.importing.readers.serial_dates import format_shows_date, serial_moment, shows_date

FORMAT_CODES = [
    "General", "0.00", "yyyy-mm-dd", "d/m/yy h:mm", "[h]:mm:ss", "[Red]0.00", '"day"0', "0_d", "0\\d", "mm:ss.0",
    "[$-409]mmmm d, yyyy", "#,##0;[Red]-#,##0;yy", "@", "0.00E+00", "[mm]", "[hhh]0", 'yyyy"\n"', '"a\nb"d',
]  # fmt: skip


def test_a_built_in_format_shows_a_date_where_openpyxl_says_it_does() -> None:
    for format_id in range(200):
        expected = is_date_format(BUILTIN_FORMATS.get(format_id, "General"))
        assert format_shows_date(format_id, {}) is expected, format_id


def test_a_styles_own_format_code_comes_before_the_built_in_one() -> None:
    assert format_shows_date(14, {14: "0.00"}) is False
    assert format_shows_date(164, {164: "dd/mm/yyyy"}) is True
    assert format_shows_date(164, {}) is False  # a custom id the styles do not list: General


@settings(max_examples=500, deadline=None)
@given(st.one_of(st.sampled_from(FORMAT_CODES), st.text(alphabet=st.sampled_from('0#.,;[]"_\\dmyhsDMHYS$-: \nE+@'))))
def test_a_format_code_shows_a_date_where_openpyxl_says_it_does(code: str) -> None:
    assert shows_date(code) is is_date_format(code)


def _moment_or_error(read: object, number: float) -> object:
    try:
        return read(number)  # type: ignore[operator]
    except Exception as error:
        return type(error)


@settings(max_examples=1000, deadline=None)
@given(st.one_of(st.floats(), st.integers(-(10**7), 10**7), st.floats(-1, 3_000_000)))
@example(0.0)
@example(0.5)
@example(0.99999999999)
@example(59.0)
@example(60.0)
@example(61.25)
@example(45352)
@example(2958465.9999999)
@example(1e10)
@example(math.nan)
@example(-0.5)
def test_a_serial_number_stands_for_the_moment_openpyxl_reads(number: float) -> None:
    assert _moment_or_error(serial_moment, number) == _moment_or_error(from_excel, number)
