"""Generated product rows with every column of DefaultProductImportSpecification: seeded and deterministic."""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass
from enum import IntEnum, StrEnum

HEADER: tuple[str, ...] = (
    "SKU Number",
    "SKU Indicator",
    "Product Title",
    "Product Description",
    "Default Category Id",
    "Product URL",
    "Retail Price",
    "UPC",
    "Available Quantity",
    "Image Url(s)",
    "Fulfillment Type",
    "ProductAttribute[Color]",
    "ProductAttribute[Material]",
    "options[Size]",
    "Product Title(SPANISH)",
)


class Col(IntEnum):
    """Positions of the generated columns, in HEADER order."""

    SKU = 0
    INDICATOR = 1
    TITLE = 2
    DESCRIPTION = 3
    CATEGORY = 4
    URL = 5
    PRICE = 6
    UPC = 7
    QUANTITY = 8
    IMAGES = 9
    FULFILLMENT = 10
    COLOR = 11
    MATERIAL = 12
    SIZE = 13
    TITLE_ES = 14


class Variant(StrEnum):
    BASE = "base"
    REPRICED = "repriced"  # the base rows with every Retail Price changed
    INVALID = "invalid"  # the base rows with 1% of product rows carrying an unreadable price


FORMAT_VERSION = 2  # bump when the generated rows change, so that cached files are written again
SKU_EVERY = 10  # every 10th row is an additional SKU of the product row just above it
INVALID_PRICE = "12,5x"
IMAGE_COUNT = 64  # images of the catalog (bench/assets.py imports them), named by file name in Image Url(s)
_PERMUTE = 0x9E3779B1  # odd, so i -> i * _PERMUTE mod 2**32 is a bijection: unique, shuffled SKU numbers

_ADJECTIVES = ("Classic", "Urban", "Alpine", "Coastal", "Vintage", "Nordic", "Solar", "Café", "Señorial", "Zürich")
_NOUNS = ("Jacket", "Sneaker", "Backpack", "Mug", "Lamp", "Scarf", "Watch", "Chair", "Kettle", "Tent")
_PHRASES = (
    "hecho a mano, diseño único",
    "crème brûlée colour, naïve façade",
    "日本製の品質 — 丈夫で軽い",
    'the "original" cut; 100% coton biologique',
    "Größe passt, Qualität überzeugt",
    "élégant et pratique, fabriqué à Lyon",
)
_COLORS = ("Red", "Blue", "Black", "Crème", "Verde", "Ночь")
_MATERIALS = ("Cotton", "Leather", "Acier inoxydable", "Wool", "Bambú")
_SIZES = ("XS", "S", "M", "L", "XL")
_FULFILLMENT = ("PHYSICAL_SHIP", "PHYSICAL_PICKUP", "DIGITAL")


@dataclass(frozen=True)
class DataSpec:
    """Which rows: how many, from which seed, in which variant."""

    rows: int
    seed: int = 20261126
    variant: Variant = Variant.BASE

    @property
    def stem(self) -> str:
        return f"products-v{FORMAT_VERSION}-{self.rows}-s{self.seed}-{self.variant.value}"


def image_name(number: int) -> str:
    return f"img-{number:03d}.png"


def sku_number(index: int, seed: int) -> str:
    return f"P{(index * _PERMUTE + seed) & 0xFFFFFFFF:010d}"


def _price(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


def _row(index: int, rng: random.Random, seed: int, parent_title: str) -> list[str]:
    sku = sku_number(index, seed)
    is_sku = index % SKU_EVERY == SKU_EVERY - 1
    cents = rng.randrange(99, 99_999)
    upc = f"{rng.randrange(10**9):012d}"  # below 10**9: at least three leading zeros
    quantity = str(rng.randrange(0, 5000))
    color, material = rng.choice(_COLORS), rng.choice(_MATERIALS)
    fulfillment = rng.choice(_FULFILLMENT)
    images = f"{image_name(rng.randrange(IMAGE_COUNT))}|thumb:{image_name(rng.randrange(IMAGE_COUNT))}"
    if is_sku:
        size = rng.choice(_SIZES)
        title = f"{parent_title} / {size}"
        return [sku, "Y", title, "", "", f"/catalog/{sku.lower()}", _price(cents), upc, quantity, images,
                fulfillment, color, material, size, f"{title} — talla {size}"]  # fmt: skip
    title = f"{rng.choice(_ADJECTIVES)} {rng.choice(_NOUNS)} {index}"
    description = f"{title}: {rng.choice(_PHRASES)}. Nº {index}, ¡increíble!"
    category = f"C{rng.randrange(1, 500)}"
    return [sku, "", title, description, category, f"/catalog/{sku.lower()}", _price(cents), upc, quantity, images,
            fulfillment, color, material, "", f"Producto {index} — edición española"]  # fmt: skip


def generate_rows(spec: DataSpec) -> Iterator[list[str]]:
    """The data rows, one list of cells per row, in HEADER order; the same spec gives the same rows."""
    rng = random.Random(spec.seed)
    faults = random.Random(spec.seed + 1)
    parent_title = ""
    for index in range(spec.rows):
        row = _row(index, rng, spec.seed, parent_title)
        is_product = row[Col.INDICATOR] == ""
        if is_product:
            parent_title = row[Col.TITLE]
        if spec.variant is Variant.REPRICED:
            whole, cents = row[Col.PRICE].split(".")
            row[Col.PRICE] = _price(int(whole) * 100 + int(cents) + 100)
        elif spec.variant is Variant.INVALID and is_product and faults.random() < 0.01:
            row[Col.PRICE] = INVALID_PRICE
        yield row
