"""A chunk staged column by column gives exactly the staging rows the row-by-row path gives, or is left
to that path: the fast way never accepts a row the row-by-row validator would report, nor changes a value."""

from __future__ import annotations

import csv
import io
from types import SimpleNamespace
from typing import Any

import orjson
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.importing import clean_chunks
from app.importing.columnar import WHITESPACE, copy_text
from app.importing.header import resolve_header
from app.importing.planning import chunk_rows
from app.importing.polars_runtime import pl
from app.importing.validation import RowValidator
from app.importing.writers.base import RowOutcome
from app.importing.writers.products import ProductWriter
from app.importing.writers.staging import StagingRow
from specifications.product import DEFAULT_PRODUCT

HEADER = [
    "SKU Number", "SKU Indicator", "Product Title", "Product Description", "Default Category Id", "Product URL",
    "Retail Price", "UPC", "Available Quantity", "Image Url(s)", "Fulfillment Type", "ProductAttribute[Color]",
    "ProductAttribute[Material]", "options[Size]", "Product Title(SPANISH)",
]  # fmt: skip
ASSETS = {"a.png": 11, "b.png": 12, "Ünï.png": 13}

SPACE = st.sampled_from(["", " ", "\t", "\u00a0", "\u3000", "\x1f"])
WORD = st.sampled_from(["abc", "Crème", "Ночь", "x y", 'say "hi"', "back\\slash", "'=1+2", "=SUM(A1)", "tab\there"])
NUMBER = st.sampled_from(["0", "7", "12.50", "-3", "007", "1.5e3", "+4", "1,5", "2007.0", "-0", "٣", "9" * 25, "NaN"])
FULL_WIDTH_Y = "\uff39"
FLAG = st.sampled_from(["", "Y", "y", "yes", "TRUE", "1", "N", "no", "0", "maybe", FULL_WIDTH_Y])
IMAGES = st.sampled_from(
    ["", "a.png", "a.png|thumb:b.png", "Ünï.png", "missing.png", "http://x/a.png", "a.png||b.png", "thumb: a.png",
     "HTTP:a.png", "k:v:a.png", "//a.png", "a.png|", "x:/a.png", 'q"a.png', "a b.png"]
)  # fmt: skip


def padded(values: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    return st.tuples(SPACE, values, SPACE).map("".join)


CELL_OF_COLUMN = [
    padded(st.one_of(st.sampled_from(["P1", "P2", "2011", "2011.0", ""]), WORD)),  # SKU Number
    padded(FLAG),
    padded(st.one_of(WORD, st.just(""))),
    padded(st.one_of(WORD, st.just(""))),
    padded(st.one_of(st.sampled_from(["C1", "7.00", ""]), NUMBER)),
    padded(st.one_of(WORD, st.just(""))),
    padded(st.one_of(NUMBER, st.just(""))),  # Retail Price
    padded(st.sampled_from(["000123", "", "12"])),
    padded(st.one_of(NUMBER, st.just(""))),  # Available Quantity
    padded(IMAGES),
    padded(st.sampled_from(["PHYSICAL_SHIP", "", "dig\x01ital"])),
    padded(st.one_of(WORD, st.just(""), st.just("ctl\x02"))),
    padded(st.one_of(WORD, st.just(""))),
    padded(st.sampled_from(["M", "", "XL"])),
    padded(st.one_of(WORD, st.just(""))),
]
CLEAN_ROW = [
    ["P1", "", "Shirt", "A shirt", "C1", "/p1", "12.50", "000123", "7", "a.png|thumb:b.png", "PHYSICAL_SHIP",
     "Blue", "Cotton", "", "Camisa"],
    ["P1-M", "Y", "Shirt M", "", "", "", "12.50", "", "", "", "", "", "", "M", ""],
]  # fmt: skip


@st.composite
def near_clean_row(draw: st.DrawFn) -> list[str]:
    """A clean product or SKU row with a few cells drawn from the column's own strategy: most chunks
    of these are still accepted, so both outcomes are tried."""
    row = list(draw(st.sampled_from(CLEAN_ROW)))
    for index in draw(st.lists(st.integers(0, len(HEADER) - 1), max_size=2)):
        row[index] = draw(CELL_OF_COLUMN[index])
    return row


ROW = st.one_of(st.tuples(*CELL_OF_COLUMN).map(list), near_clean_row())


def csv_of(rows: list[list[str]], line_end: str) -> bytes:
    text = io.StringIO()
    csv.writer(text, lineterminator=line_end).writerows(rows)
    return text.getvalue().encode("utf-8")


def row_by_row(
    data: bytes, first_row: int, names: list[str] = HEADER, normalized: bool = False
) -> tuple[list[StagingRow], list[Any]]:
    """What the row-by-row path stages, with every image an asset (the column path accepts no other)."""
    header = resolve_header(DEFAULT_PRODUCT, names)
    validator = RowValidator(header)
    outcomes, problems = [], []
    for row in chunk_rows(data, normalized, "utf-8", ",", first_row):
        if row.is_blank:
            continue
        record, found = validator.validate(row.number, row.cells)
        problems += found
        if record is not None:
            for image in record.values.get("image_urls") or []:  # type: ignore[union-attr]
                image["assetId"] = ASSETS[str(image["url"])]  # type: ignore[index, assignment]
        key = record.values.get("sku_number") if record else None
        is_child = record.is_child if record else False
        outcomes.append(RowOutcome(row.number, record, is_child, key if isinstance(key, str) else None))
    staged, between = ProductWriter().stage(5, 3, outcomes)
    return staged, problems + between


def by_columns(
    data: bytes, records: int, first_row: int, names: list[str] = HEADER, normalized: bool = False
) -> list[StagingRow] | None:
    rows_key = "upload.rows.csv" if normalized else None
    job = SimpleNamespace(id=5, delimiter=",", import_type="PRODUCT", rows_key=rows_key, encoding="utf-8")
    chunk = SimpleNamespace(record_count=records, chunk_no=3, first_row=first_row)
    header = resolve_header(DEFAULT_PRODUCT, names)
    lookup = lambda names: {name: ASSETS[name] for name in names if name in ASSETS}  # noqa: E731
    frame = clean_chunks.stage_clean(job, chunk, header, data, lookup)  # type: ignore[arg-type]
    return None if frame is None else frame.rows()


@settings(max_examples=500, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=6), st.sampled_from(["\n", "\r\n"]), st.integers(2, 9000))
@example(CLEAN_ROW, "\n", 2)
def test_a_chunk_staged_by_columns_is_what_the_rows_give(rows: list[list[str]], line_end: str, first_row: int) -> None:
    data = csv_of(rows, line_end)
    fast = by_columns(data, len(rows), first_row)
    if fast is None:
        return
    staged, problems = row_by_row(data, first_row)
    assert problems == []
    assert fast == staged


def normalized_rows(rows: list[list[str]], numbers: list[int], problems: list[str]) -> bytes:
    """Rows as planning writes them for a spreadsheet or JSON upload: number, problem, cells."""
    return csv_of(
        [[str(number), problem, *row] for number, problem, row in zip(numbers, problems, rows, strict=True)], "\n"
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=5), st.lists(st.integers(2, 10**6), min_size=5, max_size=5, unique=True))
def test_normalized_rows_staged_by_columns_are_what_the_rows_give(rows: list[list[str]], numbers: list[int]) -> None:
    data = normalized_rows(rows, sorted(numbers)[: len(rows)], [""] * len(rows))
    fast = by_columns(data, len(rows), 2, normalized=True)
    if fast is None:
        return
    staged, problems = row_by_row(data, 2, normalized=True)
    assert problems == []
    assert fast == staged


def test_normalized_rows_keep_their_own_numbers_and_a_reader_problem_goes_row_by_row() -> None:
    data = normalized_rows(CLEAN_ROW, [7, 9], ["", ""])
    staged = by_columns(data, 2, 2, normalized=True)
    assert staged is not None
    assert [row[1] for row in staged] == [7, 9]
    assert staged == row_by_row(data, 2, normalized=True)[0]
    damaged = normalized_rows(CLEAN_ROW, [7, 9], ["", "a cell the reader could not read"])
    assert by_columns(damaged, 2, 2, normalized=True) is None


def test_a_clean_chunk_goes_by_columns_with_its_images_json_and_sku_parent() -> None:
    data = csv_of(CLEAN_ROW, "\n")
    staged = by_columns(data, 2, 40)
    assert staged == row_by_row(data, 40)[0]
    assert staged is not None
    product, sku = staged
    assert product[:6] == (5, 40, 3, False, "P1", None)
    assert sku[:6] == (5, 41, 3, True, "P1-M", "P1")
    images = orjson.loads(product[6 + 7])
    assert images == [{"assetId": 11, "key": None, "url": "a.png"}, {"assetId": 12, "key": "thumb", "url": "b.png"}]
    assert product[-3:] == ('{"Color":"Blue","Material":"Cotton"}', None, '{"product_title":{"es":"Camisa"}}')


def test_a_header_without_the_sku_indicator_or_families_stages_the_same_rows() -> None:
    names = ["SKU Number", "Product Title", "Product Description", "Retail Price", "Default Category Id"]
    rows = [["P1", "Shirt", "A shirt", "12.50", "C1"], ["P2", "Mug", "A mug", "3", ""]]
    data = csv_of(rows, "\n")
    staged = by_columns(data, 2, 2, names)
    assert staged is not None
    assert staged == row_by_row(data, 2, names)[0]
    assert [row[3] for row in staged] == [False, False]  # no SKU rows without the indicator column


def test_a_chunk_with_one_bad_price_or_unknown_image_is_left_to_the_rows() -> None:
    bad_price = [[*CLEAN_ROW[0][:6], "12,50", *CLEAN_ROW[0][7:]], CLEAN_ROW[1]]
    unknown_image = [[*CLEAN_ROW[0][:9], "nowhere.png", *CLEAN_ROW[0][10:]], CLEAN_ROW[1]]
    sku_first = [CLEAN_ROW[1], CLEAN_ROW[0]]
    for rows in (bad_price, unknown_image, sku_first):
        assert by_columns(csv_of(rows, "\n"), 2, 2) is None


def test_a_quoted_line_end_or_a_blank_line_is_left_to_the_rows() -> None:
    multi_line = [[*CLEAN_ROW[0][:3], "two\nlines", *CLEAN_ROW[0][4:]]]
    assert by_columns(csv_of(multi_line, "\n"), 1, 2) is None
    assert by_columns(csv_of(CLEAN_ROW, "\n").replace(b"\nP1-M", b"\n\nP1-M"), 2, 2) is None


def test_the_stripped_characters_are_those_of_str_strip() -> None:
    assert "".join(char for char in map(chr, range(0x110000)) if char.isspace()) == WHITESPACE


def test_copy_text_escapes_what_copy_reads_specially() -> None:
    frame = pl.DataFrame({"a": ["back\\slash", "tab\there", None], "b": [1, None, 3]})
    assert copy_text(frame) == "back\\\\slash\t1\ntab\\there\t\\N\n\\N\t3\n"
