"""Content checksums: what an import should store, from the generated rows, and what it did, from the tables.

Each stored row becomes one canonical line; the checksum is the sum of the lines' MD5 digests modulo
2**128, so it does not depend on row order (or on the database's collation).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from bench.data import Col

SEPARATOR = "\x1f"
_MODULUS = 1 << 128

# The columns the checksum reads from each table, in the order of the canonical line.
PRODUCT_COLUMNS = (
    "sku_number, product_title, product_description, default_category_id, product_url, retail_price, upc, "
    "available_quantity, image_urls, fulfillment_type, attributes, translations"
)
SKU_COLUMNS = (
    "sku_number, product_sku_number, product_title, product_description, product_url, retail_price, upc, "
    "available_quantity, image_urls, fulfillment_type, attributes, options, translations"
)


@dataclass(frozen=True)
class Content:
    products: int
    skus: int
    digest: str

    def to_json(self) -> dict[str, object]:
        return {"products": self.products, "skus": self.skus, "digest": self.digest}

    @classmethod
    def from_json(cls, data: dict[str, object]) -> Content:
        return cls(int(str(data["products"])), int(str(data["skus"])), str(data["digest"]))


def _text(value: object) -> str:
    return "" if value is None else str(value).strip()


def _money(value: object) -> str:
    return "" if value is None or value == "" else f"{Decimal(str(value)):.2f}"


def _fold(fields: Sequence[str]) -> int:
    line = SEPARATOR.join(fields).encode("utf-8")
    return int.from_bytes(hashlib.md5(line, usedforsecurity=False).digest(), "big")


class ContentDigest:
    """Accumulates canonical product and SKU lines into counts and an order-free checksum."""

    def __init__(self) -> None:
        self.products = 0
        self.skus = 0
        self._sum = 0

    def add(self, table: str, fields: Sequence[str]) -> None:
        if table == "product":
            self.products += 1
        else:
            self.skus += 1
        self._sum = (self._sum + _fold((table, *fields))) % _MODULUS

    def result(self) -> Content:
        return Content(self.products, self.skus, f"{self._sum:032x}")


def _is_decimal(text: str) -> bool:
    try:
        return Decimal(text).is_finite()
    except InvalidOperation:
        return False


class ExpectedContent:
    """What the tables must hold after importing the rows fed in, in file order.

    An invalid row (an unreadable price) is not stored, and neither are the SKU rows under it.
    """

    def __init__(self) -> None:
        self.digest = ContentDigest()
        self._parent = ""
        self._parent_valid = False

    def add_row(self, cells: Sequence[str]) -> None:
        valid = _is_decimal(cells[Col.PRICE])
        shared = (
            _money(cells[Col.PRICE]) if valid else "",
            cells[Col.UPC],
            cells[Col.QUANTITY],
            cells[Col.IMAGES],
            cells[Col.FULFILLMENT],
            cells[Col.COLOR],
            cells[Col.MATERIAL],
        )
        if cells[Col.INDICATOR] != "Y":
            self._parent, self._parent_valid = cells[Col.SKU], valid
            if valid:
                head = (cells[Col.SKU], cells[Col.TITLE], cells[Col.DESCRIPTION], cells[Col.CATEGORY], cells[Col.URL])
                self.digest.add("product", (*head, *shared, cells[Col.TITLE_ES]))
        elif valid and self._parent_valid:
            head = (cells[Col.SKU], self._parent, cells[Col.TITLE], cells[Col.DESCRIPTION], cells[Col.URL])
            self.digest.add("sku", (*head, *shared, cells[Col.SIZE], cells[Col.TITLE_ES]))

    def result(self) -> Content:
        return self.digest.result()


def _json(value: object) -> object:
    return json.loads(str(value)) if value else None


def _images(value: object) -> str:
    images = _json(value) or []
    assert isinstance(images, list)
    return "|".join(f"{image['key']}:{image['url']}" if image.get("key") else str(image["url"]) for image in images)


def _member(value: object, *path: str) -> str:
    found = _json(value)
    for name in path:
        found = found.get(name) if isinstance(found, dict) else None
    return _text(found)


def _shared(price: object, upc: object, quantity: object, images: object, fulfillment: object) -> tuple[str, ...]:
    return _money(price), _text(upc), _text(quantity), _images(images), _text(fulfillment)


def product_fields(row: Sequence[object]) -> tuple[str, ...]:
    """A `product` row (PRODUCT_COLUMNS) as its canonical fields."""
    sku, title, description, category, url, price, upc, quantity, images, fulfillment, attributes, translations = row
    return (
        *(_text(value) for value in (sku, title, description, category, url)),
        *_shared(price, upc, quantity, images, fulfillment),
        _member(attributes, "Color"),
        _member(attributes, "Material"),
        _member(translations, "product_title", "es"),
    )


def sku_fields(row: Sequence[object]) -> tuple[str, ...]:
    """A `sku` row (SKU_COLUMNS) as its canonical fields."""
    sku, parent, title, description, url, price, upc, quantity, images, fulfillment, attributes, options, tr = row
    return (
        *(_text(value) for value in (sku, parent, title, description, url)),
        *_shared(price, upc, quantity, images, fulfillment),
        _member(attributes, "Color"),
        _member(attributes, "Material"),
        _member(options, "Size"),
        _member(tr, "product_title", "es"),
    )
