"""A chunk staged column by column gives exactly the staging rows the row-by-row path gives, or is left
to that path: the fast way never accepts a row the row-by-row validator would report, nor changes a value."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from types import SimpleNamespace

import orjson
from hypothesis import given, settings
from hypothesis import strategies as st

from app.importing import clean_chunks
from app.importing.columnar import WHITESPACE, copy_text
from app.importing.header import resolve_header
from app.importing.images import left_out, no_asset
from app.importing.pipeline import validate_rows
from app.importing.planning import chunk_rows
from app.importing.polars_runtime import pl
from app.importing.problems import ValidationProblem
from app.importing.readers.delimited import SourceRow
from app.importing.writers.base import RowOutcome
from app.importing.writers.products import ProductWriter
from app.importing.writers.staging import StagingRow
from app.jobs import Severity
from specifications.product import DEFAULT_PRODUCT

HEADER = [
    "SKU Number", "SKU Indicator", "Product Title", "Product Description", "Default Category Id", "Product URL",
    "Retail Price", "UPC", "Available Quantity", "Image Url(s)", "Fulfillment Type", "ProductAttribute[Color]",
    "ProductAttribute[Material]", "options[Size]", "Product Title(SPANISH)",
]  # fmt: skip
ASSETS = {"a.png": 11, "b.png": 12, "Ünï.png": 13}
CATALOG = 4

SPACE = st.sampled_from(["", " ", "\t", "\u00a0", "\u3000", "\x1f"])
WORD = st.sampled_from(["abc", "Crème", "Ночь", "x y", 'say "hi"', "back\\slash", "'=1+2", "=SUM(A1)", "tab\there"])
NUMBER = st.sampled_from(
    ["0", "7", "12.50", "-3", "007", "1.5e3", "+4", "1,5", "2007.0", "-0", "-0.00", "-0.5", "3.990", "٣", "9" * 25,
     "NaN", "1e31", "-" + "9" * 18, "9" * 30, "9" * 31, "0." + "5" * 30, "0." + "5" * 31, "9223372036854775807",
     "-9223372036854775809"]
)  # fmt: skip
FULL_WIDTH_Y = "\uff39"
FLAG = st.sampled_from(["", "Y", "y", "yes", "TRUE", "1", "N", "no", "0", "maybe", FULL_WIDTH_Y])
IMAGES = st.sampled_from(
    ["", "a.png", "a.png|thumb:b.png", "Ünï.png", "missing.png", "http://x/a.png", "a.png||b.png", "thumb: a.png",
     "HTTP:a.png", "k:v:a.png", "//a.png", "a.png|", "x:/a.png", 'q"a.png', "a b.png", "k:missing.png",
     "missing.png|a.png", "missing.png|thumb:missing.png", "missing.png|gone.png", "gone.png|k:missing.png"]
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


Outcome = tuple[list[StagingRow], list[ValidationProblem]]


def by_row(problems: list[ValidationProblem]) -> list[ValidationProblem]:
    """Problems as a user reads them: by row, a row's own in the order they were found (the two ways
    each name a row's problems whole, but may name different rows first)."""
    return sorted(problems, key=lambda problem: problem.row or 0)


def resolve_assets(outcomes: list[RowOutcome]) -> list[ValidationProblem]:
    """resolve_images with ASSETS for the catalog and no fetching: an image that names no asset is left
    out with a warning. Both ways below use it, so they must agree whatever it does."""
    problems = []
    for outcome in outcomes:
        images = outcome.record.values.get("image_urls") if outcome.record else None
        if not isinstance(images, list) or outcome.record is None:
            continue
        kept = []
        for image in images:
            url = str(image["url"])
            if url in ASSETS:
                image["assetId"] = ASSETS[url]  # type: ignore[assignment]
                kept.append(image)
            else:
                problems.append(left_out(outcome.row, url, no_asset(url, CATALOG)))
        outcome.record.values["image_urls"] = kept or None
    return problems


def row_path(rows: Iterable[SourceRow], names: list[str]) -> Outcome:
    """What the row-by-row path stages for these rows, and the problems it names."""
    outcomes, problems = validate_rows(resolve_header(DEFAULT_PRODUCT, names), rows)
    problems += resolve_assets(outcomes)
    staged, between = ProductWriter().stage(5, 3, outcomes)
    return staged, problems + between


def row_by_row(data: bytes, first_row: int, names: list[str] = HEADER, normalized: bool = False) -> Outcome:
    return row_path(chunk_rows(data, normalized, "utf-8", ",", first_row), names)


def by_columns(
    data: bytes, records: int, first_row: int, names: list[str] = HEADER, normalized: bool = False
) -> tuple[list[StagingRow], list[ValidationProblem], int] | None:
    """What the column path stages, its doubtful rows taken row by row; and how many rows went by
    columns. None when it reads the chunk not at all."""
    rows_key = "upload.rows.csv" if normalized else None
    job = SimpleNamespace(
        id=5, catalog_id=CATALOG, delimiter=",", import_type="PRODUCT", rows_key=rows_key, encoding="utf-8"
    )
    chunk = SimpleNamespace(record_count=records, chunk_no=3, first_row=first_row)
    header = resolve_header(DEFAULT_PRODUCT, names)
    lookup = lambda names: {name: ASSETS[name] for name in names if name in ASSETS}  # noqa: E731
    found = clean_chunks.stage_columns(job, chunk, header, data, lookup)  # type: ignore[arg-type]
    if found is None:
        return None
    staged, problems = row_path(found.doubtful, names) if found.doubtful else ([], [])
    return found.staged.rows() + staged, problems + found.warnings, found.staged.height


def same_outcome(data: bytes, records: int, first_row: int, normalized: bool = False) -> int | None:
    """Check that both ways give the same staging rows and problems; how many rows went by columns."""
    fast = by_columns(data, records, first_row, normalized=normalized)
    if fast is None:
        return None
    staged, problems = row_by_row(data, first_row, normalized=normalized)
    assert sorted(fast[0]) == sorted(staged)
    assert by_row(fast[1]) == by_row(problems)
    return fast[2]


def normalized_rows(rows: list[list[str]], numbers: list[int], problems: list[str]) -> bytes:
    """Rows as planning writes them for a spreadsheet or JSON upload: number, problem, cells."""
    return csv_of(
        [[str(number), problem, *row] for number, problem, row in zip(numbers, problems, rows, strict=True)], "\n"
    )


@settings(max_examples=200, deadline=None)
@given(st.lists(ROW, min_size=1, max_size=5), st.lists(st.integers(2, 10**6), min_size=5, max_size=5, unique=True))
def test_normalized_rows_staged_by_columns_are_what_the_rows_give(rows: list[list[str]], numbers: list[int]) -> None:
    data = normalized_rows(rows, sorted(numbers)[: len(rows)], [""] * len(rows))
    same_outcome(data, len(rows), 2, normalized=True)


def test_normalized_rows_keep_their_own_numbers_and_a_reader_problem_goes_row_by_row() -> None:
    data = normalized_rows(CLEAN_ROW, [7, 9], ["", ""])
    assert same_outcome(data, 2, 2, normalized=True) == 2
    found = by_columns(data, 2, 2, normalized=True)
    assert found is not None
    assert [row[1] for row in found[0]] == [7, 9]
    damaged = normalized_rows(CLEAN_ROW, [7, 9], ["", "a cell the reader could not read"])
    assert by_columns(damaged, 2, 2, normalized=True) is None


def test_a_clean_chunk_goes_by_columns_with_its_images_json_and_sku_parent() -> None:
    data = csv_of(CLEAN_ROW, "\n")
    assert same_outcome(data, 2, 40) == 2
    found = by_columns(data, 2, 40)
    assert found is not None
    product, sku = found[0]
    assert product[:6] == (5, 40, 3, False, "P1", None)
    assert sku[:6] == (5, 41, 3, True, "P1-M", "P1")
    images = orjson.loads(product[6 + 7])
    assert images == [{"assetId": 11, "key": None, "url": "a.png"}, {"assetId": 12, "key": "thumb", "url": "b.png"}]
    assert product[-3:] == ('{"Color":"Blue","Material":"Cotton"}', None, '{"product_title":{"es":"Camisa"}}')


def test_a_header_without_the_sku_indicator_or_families_stages_the_same_rows() -> None:
    names = ["SKU Number", "Product Title", "Product Description", "Retail Price", "Default Category Id"]
    rows = [["P1", "Shirt", "A shirt", "12.50", "C1"], ["P2", "Mug", "A mug", "3", ""]]
    data = csv_of(rows, "\n")
    found = by_columns(data, 2, 2, names)
    assert found is not None
    assert found[2] == 2
    assert sorted(found[0]) == sorted(row_by_row(data, 2, names)[0])
    assert [row[3] for row in found[0]] == [False, False]  # no SKU rows without the indicator column


def product_group(sku: str, price: str = "12.50", image: str = "a.png") -> list[list[str]]:
    product = [sku, *CLEAN_ROW[0][1:6], price, *CLEAN_ROW[0][7:9], image, *CLEAN_ROW[0][10:]]
    return [product, [f"{sku}-M", *CLEAN_ROW[1][1:]]]


def test_a_group_with_a_bad_price_goes_row_by_row_and_the_others_by_columns() -> None:
    rows = product_group("P1") + product_group("P2", price="12,50") + product_group("P3")
    data = csv_of(rows, "\n")
    assert same_outcome(data, 6, 2) == 4  # P1 and P3 with their SKU rows
    found = by_columns(data, 6, 2)
    assert found is not None
    price, sku = found[1]
    assert (price.row, price.column, price.value) == (4, "G", "12,50")
    assert price.message == "Retail Price must be a decimal number, got '12,50'"
    assert (sku.row, sku.message) == (5, "this SKU row belongs to the product in row 4, which is invalid")
    assert sorted(row[4] for row in found[0]) == ["P1", "P1-M", "P3", "P3-M"]


def test_a_negative_zero_price_is_zero_by_columns_and_row_by_row() -> None:
    prices = ["-0", "-0.00", "3.990", "-0.5"]
    rows = [row for n, price in enumerate(prices) for row in product_group(f"P{n}", price=price)]
    data = csv_of(rows, "\n")

    assert same_outcome(data, 8, 2) == 2  # 3.990 goes by columns as it is; a negative under 1 row by row

    found = by_columns(data, 8, 2)
    assert found is not None
    assert sorted((row[4], row[10]) for row in found[0] if not row[3]) == [
        ("P0", "0"), ("P1", "0.00"), ("P2", "3.990"), ("P3", "-0.5"),
    ]  # fmt: skip


def test_an_unknown_image_is_left_out_with_a_warning_by_columns_and_a_sku_row_first_goes_row_by_row() -> None:
    rows = product_group("P1", image="nowhere.png|k:y.png|x.png|x.png|thumb:a.png") + product_group(
        "P2", image="gone.png"
    )
    data = csv_of(rows, "\n")
    assert same_outcome(data, 4, 2) == 4
    found = by_columns(data, 4, 2)
    assert found is not None
    assert [(p.row, p.value, p.severity) for p in found[1]] == [
        (2, "nowhere.png", Severity.WARNING), (2, "y.png", Severity.WARNING), (2, "x.png", Severity.WARNING),
        (2, "x.png", Severity.WARNING), (4, "gone.png", Severity.WARNING),
    ]  # fmt: skip
    assert (
        found[1][-1].message == "'gone.png' names no asset of catalog 4 and is not an http(s) URL; imported without it"
    )
    images = {row[4]: row[6 + 7] for row in found[0]}
    assert orjson.loads(images["P1"]) == [{"assetId": 11, "key": "thumb", "url": "a.png"}]
    assert images["P2"] is None  # its only image left out
    sku_first = [CLEAN_ROW[1], *product_group("P2")]
    assert same_outcome(csv_of(sku_first, "\n"), 3, 2) == 2


def test_a_quoted_line_end_or_a_blank_line_is_left_to_the_rows() -> None:
    multi_line = [[*CLEAN_ROW[0][:3], "two\nlines", *CLEAN_ROW[0][4:]]]
    assert by_columns(csv_of(multi_line, "\n"), 1, 2) is None
    assert by_columns(csv_of(CLEAN_ROW, "\n").replace(b"\nP1-M", b"\n\nP1-M"), 2, 2) is None


def test_the_stripped_characters_are_those_of_str_strip() -> None:
    assert "".join(char for char in map(chr, range(0x110000)) if char.isspace()) == WHITESPACE


def test_copy_text_escapes_what_copy_reads_specially() -> None:
    frame = pl.DataFrame({"a": ["back\\slash", "tab\there", None, "café"], "b": [1, None, 3, 4]})
    assert copy_text(frame) == "back\\\\slash\t1\ntab\\there\t\\N\n\\N\t3\ncafé\t4\n".encode()
