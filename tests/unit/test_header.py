"""Header validation against DefaultProductImportSpecification."""

from __future__ import annotations

from app.importing.header import resolve_header
from specifications import find_specification
from specifications.model import ImportType
from tests.factories import CONTRACT_HEADER

SPEC = find_specification(ImportType.PRODUCT, "DefaultProductImportSpecification")
assert SPEC is not None


def messages(cells: list[str]) -> list[str]:
    assert SPEC is not None
    return [problem.message for problem in resolve_header(SPEC, cells).problems]


def test_the_contract_header_is_accepted_whole() -> None:
    assert SPEC is not None
    header = resolve_header(SPEC, CONTRACT_HEADER)

    assert header.problems == ()
    assert {slot.header for slot in header.slots} == set(CONTRACT_HEADER)


def test_headers_match_whatever_their_case_and_surrounding_spaces() -> None:
    assert messages(["  sku number ", "PRODUCT TITLE", "product description", "retail price"]) == []


def test_an_unknown_header_is_named_with_the_closest_known_one() -> None:
    found = messages(["SKU Number", "Prodct Title", "Product Title", "Product Description", "Retail Price"])

    assert found == ["unknown header 'Prodct Title'; did you mean 'Product Title'?"]


def test_a_missing_required_header_is_named() -> None:
    found = messages(["SKU Number", "Product Title", "Product Description"])

    assert found == ["Missing required header 'Retail Price'"]


def test_attribute_and_option_columns_take_any_name() -> None:
    assert SPEC is not None
    header = resolve_header(
        SPEC,
        [
            "SKU Number",
            "Product Title",
            "Product Description",
            "Retail Price",
            "productattribute[Fabric]",
            "options[Size]",
        ],
    )

    assert header.problems == ()
    assert [(slot.family.field, slot.member) for slot in header.slots if slot.family] == [
        ("attributes", "Fabric"),
        ("options", "Size"),
    ]


def test_translation_columns_take_a_language_name_or_a_code() -> None:
    assert SPEC is not None
    cells = ["SKU Number", "Product Title", "Product Description", "Retail Price"]
    cells += ["Product Title(SPANISH)", "Product Title(fr)", "Product Description(es_ES)"]

    header = resolve_header(SPEC, cells)

    assert header.problems == ()
    assert sorted(slot.locale for slot in header.slots if slot.locale) == ["es", "es_ES", "fr"]


def test_an_unknown_locale_or_an_untranslatable_field_is_a_header_problem() -> None:
    found = messages(
        [
            "SKU Number",
            "Product Title",
            "Product Description",
            "Retail Price",
            "Product Title(KLINGON)",
            "Retail Price(es)",
        ]
    )

    assert found == [
        "unknown locale 'KLINGON' in header 'Product Title(KLINGON)'",
        "'Retail Price' cannot be translated",
    ]


def test_a_header_given_twice_is_a_problem_naming_both_columns() -> None:
    found = messages(["SKU Number", "Product Title", "Product Description", "Retail Price", "sku number"])

    assert found == ["header 'sku number' appears twice (also in column A)"]
