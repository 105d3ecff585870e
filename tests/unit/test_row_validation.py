"""Row validation: typed values, required data and the messages a user reads."""

from __future__ import annotations

import pytest

from app.importing.header import resolve_header
from app.importing.validation import RowValidator
from specifications import find_specification
from specifications.model import ImportType
from tests.factories import CONTRACT_HEADER, CONTRACT_ROWS, product_row

SPEC = find_specification(ImportType.PRODUCT, "DefaultProductImportSpecification")
assert SPEC is not None
VALIDATOR = RowValidator(resolve_header(SPEC, CONTRACT_HEADER))
WHOLE = "a whole number from -9223372036854775808 to 9223372036854775807"
HEADER_WITH_SKUS = [*CONTRACT_HEADER, "options[Size]", "Image Url(s)"]
SKU_VALIDATOR = RowValidator(resolve_header(SPEC, HEADER_WITH_SKUS))


def test_the_contract_row_becomes_typed_values() -> None:
    record, problems = VALIDATOR.validate(2, CONTRACT_ROWS[0])

    assert problems == []
    assert record is not None
    assert record.values["sku_number"] == "2011"
    assert record.values["retail_price"] == "3.99"
    assert record.values["available_quantity"] == 300
    assert record.values["upc"] == "2822011"
    assert record.families["attributes"] == {"Color": "Red"}
    assert record.translations == {"product_description": {"es": "¡ ProductB2011 es increíble!"}}
    assert record.is_child is False


def test_a_missing_required_value_says_missing_required_data_with_row_and_column() -> None:
    row = product_row("1", title=" ")

    record, problems = VALIDATOR.validate(7, row)

    assert record is None
    assert [(p.row, p.column, p.field_name, p.value, p.message) for p in problems] == [
        (7, "C", "Product Title", "", "Missing Required Data: Product Title is required")
    ]


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Retail Price", "12,5x", "Retail Price must be a decimal number, got '12,5x'"),
        ("Retail Price", "NaN", "Retail Price must be a decimal number, got 'NaN'"),
        ("Available Quantity", "3.5", "Available Quantity must be a whole number, got '3.5'"),
        (
            "Retail Price",
            "1e31",
            "Retail Price must have at most 30 digits before its decimal point and 30 after, got '1e31'",
        ),
        (
            "Retail Price",
            "0." + "5" * 31,
            f"Retail Price must have at most 30 digits before its decimal point and 30 after, got '0.{'5' * 31}'",
        ),
        (
            "Available Quantity",
            "9223372036854775808",
            f"Available Quantity must be {WHOLE}, got '9223372036854775808'",
        ),
        (
            "Available Quantity",
            "1" * 5000 + ".0",
            f"Available Quantity must be {WHOLE}, got '{'1' * 5000}.0'",
        ),
        ("SKU Indicator", "maybe", "SKU Indicator must be Y or N (or Yes/No, True/False, 1/0), got 'maybe'"),
    ],
)
def test_a_malformed_value_names_the_rule_and_the_value(column: str, value: str, message: str) -> None:
    row = product_row("1", **{column: value})

    _, problems = VALIDATOR.validate(2, row)

    assert [problem.message for problem in problems] == [message]


def test_identifiers_keep_their_text_but_a_spreadsheet_decimal_tail_is_dropped() -> None:
    record, _ = VALIDATOR.validate(2, product_row("2007.0", **{"Default Category Id": "0042"}))

    assert record is not None
    assert record.values["sku_number"] == "2007"
    assert record.values["default_category_id"] == "0042"


@pytest.mark.parametrize("flag", ["Y", "yes", "TRUE", "1"])
def test_a_sku_row_needs_options_but_not_a_description(flag: str) -> None:
    row = [*product_row("1-S", **{"SKU Indicator": flag, "Product Description": ""}), "", ""]

    record, problems = SKU_VALIDATOR.validate(3, row)

    assert record is None
    assert [p.message for p in problems] == ["Missing Required Data: a SKU row needs at least one options[Name] value"]

    row[-2] = "XL"
    record, problems = SKU_VALIDATOR.validate(3, row)
    assert problems == []
    assert record is not None and record.is_child and record.families["options"] == {"Size": "XL"}


def test_a_description_is_required_on_product_rows() -> None:
    _, problems = VALIDATOR.validate(2, product_row("1", **{"Product Description": ""}))

    assert [p.message for p in problems] == ["Missing Required Data: Product Description is required on product rows"]


def test_image_urls_split_keys_only_where_no_url_scheme_stands_before_the_colon() -> None:
    row = [
        *product_row("1"),
        "",
        "primary:https://img.example/a.jpg| https://img.example/b.jpg |/local/c.png",
    ]

    record, problems = SKU_VALIDATOR.validate(2, row)

    assert problems == []
    assert record is not None
    assert record.values["image_urls"] == [
        {"key": "primary", "url": "https://img.example/a.jpg"},
        {"key": None, "url": "https://img.example/b.jpg"},
        {"key": None, "url": "/local/c.png"},
    ]


def test_a_nul_byte_is_a_problem_naming_the_field() -> None:
    _, problems = VALIDATOR.validate(2, product_row("1", title="bad\x00title"))

    assert [(p.field_name, p.message) for p in problems] == [("Product Title", "Product Title contains a NUL byte")]


def test_a_value_beyond_the_last_header_is_never_dropped_silently() -> None:
    _, problems = VALIDATOR.validate(2, [*product_row("1"), "stray"])

    assert [(p.column, p.message) for p in problems] == [("L", "a value stands in column L, beyond the last header")]
