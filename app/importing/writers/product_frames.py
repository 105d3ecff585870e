"""A clean chunk of product rows staged column by column: the staging rows ProductWriter.stage gives.

Images, families and translations are written as the JSON text json_text gives them (keys sorted,
compact, non-ASCII kept); an image that names no asset of the catalog is left out, with the warning the
row-by-row path gives (unknown_images). Rows whose outcome needs the row-by-row path (a SKU row with no
product row above it in the chunk, an image that is a URL to fetch or is written loosely, a JSON value
with a control character) are left to it with their whole product group (see product_rows).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import orjson

from app.commerce.products import PRODUCT_VALUE_COLUMNS
from app.importing.columnar import CleanChunk, has_control, json_ready
from app.importing.header import Slot
from app.importing.polars_runtime import pl
from specifications.model import ColumnKind

AssetLookup = Callable[[set[str]], dict[str, int]]

_NAME = r'[^:|/\s"\\\x00-\x1f][^:|\s"\\\x00-\x1f]*'
_IMAGE = rf"(?:[^:|/\s\"\\\x00-\x1f]+:)?{_NAME}"
_IMAGES = rf"^(?:{_IMAGE}(?:\|{_IMAGE})*)?$"
_SCHEME_KEY = r"(?i)(?:^|\|)(?:http|https|ftp|file|data):"
_URL = r"([^:]*)$"
_KEY = r"^([^:]*):"


def _quoted(text: str) -> str:
    return orjson.dumps(text).decode()


def _object(members: list[tuple[str, pl.Expr]]) -> pl.Expr:
    """`{"name":value,...}` of the members whose value is not null, sorted by name; null when none is."""
    if not members:
        return pl.lit(None, pl.String)
    ordered = sorted(members, key=lambda member: member[0])
    pieces = [pl.concat_str([pl.lit(_quoted(name) + ":"), value]) for name, value in ordered]
    inner = pl.concat_str(pieces, separator=",", ignore_nulls=True)
    filled = pl.any_horizontal([value.is_not_null() for _, value in ordered])
    return pl.when(filled).then(pl.concat_str([pl.lit("{"), inner, pl.lit("}")]))


def _text(chunk: CleanChunk, slot: Slot) -> pl.Expr:
    """A family or translation cell as a JSON string, null when empty."""
    return pl.concat_str([pl.lit('"'), json_ready(chunk.cell(slot)), pl.lit('"')])


def _families(chunk: CleanChunk) -> dict[str, pl.Expr]:
    slots = [slot for slot in chunk.header.slots if slot.family is not None]
    return {
        family.field: _object([(slot.member or "", _text(chunk, slot)) for slot in slots if slot.family == family])
        for family in chunk.header.spec.families
    }


def _translations(chunk: CleanChunk) -> pl.Expr:
    by_field: dict[str, list[tuple[str, pl.Expr]]] = {}
    for slot in chunk.header.slots:
        if slot.locale is not None and slot.column is not None:
            by_field.setdefault(slot.column.field, []).append((slot.locale, _text(chunk, slot)))
    return _object([(field, _object(members)) for field, members in by_field.items()])


def _images(chunk: CleanChunk, slot: Slot, assets: dict[str, int], unknown: frozenset[str]) -> pl.Expr:
    """The image list as resolve_images leaves it: each image's asset id, key and file name."""
    item = pl.element()
    named = _named(item)
    key = pl.when(item.str.contains(":", literal=True))
    image = pl.concat_str(
        [
            pl.lit('{"assetId":'),
            named.replace_strict(assets, return_dtype=pl.String),
            pl.lit(',"key":'),
            key.then(pl.concat_str([pl.lit('"'), item.str.extract(_KEY, 1), pl.lit('"')])).otherwise(pl.lit("null")),
            pl.lit(',"url":"'),
            named,
            pl.lit('"}'),
        ]
    )
    kept = chunk.cell(slot).str.split("|")
    if unknown:  # left out, each with a warning (see unknown_images)
        kept = kept.list.eval(item.filter(~named.is_in(sorted(unknown))))
    listed = pl.concat_str([pl.lit("["), kept.list.eval(image).list.join(","), pl.lit("]")])  # null for an empty cell
    # and null for a cell whose every image was left out, as resolve_images leaves it (`kept or None`)
    return pl.when(kept.list.len() > 0).then(listed) if unknown else listed


def _named(image: pl.Expr) -> pl.Expr:
    """The file name an image of a plain list names (after its key, if it has one)."""
    return image.str.extract(_URL, 1)


def _image_rows(chunk: CleanChunk, slot: Slot, lookup: AssetLookup) -> tuple[pl.Expr, dict[str, int], frozenset[str]]:
    """True for each row whose images are all written plainly, each a file name (that names an asset of
    the catalog, or is left out with a warning, see unknown_images); the assets named, and the names
    that name none. Any other image (a URL to fetch, a loose list) is for the row-by-row path."""
    cell = chunk.cell(slot)
    plain = (cell.str.contains(_IMAGES) & ~cell.str.contains(_SCHEME_KEY)).fill_null(True)
    listed = chunk.frame.select(_named(cell.filter(plain).drop_nulls().str.split("|").explode()).unique())
    names = {name for name in listed.to_series().to_list() if name}
    assets = lookup(names) if names else {}
    return plain, assets, frozenset(names - assets.keys())


def unknown_images(chunk: CleanChunk, rows: pl.Expr, unknown: frozenset[str]) -> list[tuple[int, str]]:
    """(row, file name) of each image that names no asset, in row order and the cell's order: the rows'
    products import without it, with a warning, as resolve_images does on the row-by-row path."""
    slot = _image_slot(chunk)
    if slot is None or not unknown:
        return []
    named = (
        chunk.frame.select(rows.alias("row"), chunk.cell(slot).str.split("|").alias("name"))
        .explode("name")
        .with_columns(_named(pl.col("name")).alias("name"))
        .filter(pl.col("name").is_in(sorted(unknown)))
    )
    return [(int(row), str(name)) for row, name in named.iter_rows()]


def _plain_json_values(chunk: CleanChunk) -> pl.Expr:
    """True for each row whose family and translation cells hold no control character."""
    slots = [slot for slot in chunk.header.slots if slot.family is not None or slot.locale is not None]
    if not slots:
        return pl.lit(True)
    return ~pl.any_horizontal([has_control(chunk.cell(slot)).fill_null(False) for slot in slots])


@dataclass(frozen=True)
class ProductRows:
    """Which rows of a chunk the column path stages: `certain` is true for each row it writes as the
    row-by-row path would, given the assets its images name."""

    certain: pl.Expr | None  # None: every row
    assets: dict[str, int]
    unknown: frozenset[str]  # image names of certain rows that name no asset: left out, with a warning


def product_rows(chunk: CleanChunk, row_certain: pl.Expr, lookup: AssetLookup) -> ProductRows:
    """`row_certain` (the cells' own checks) narrowed to rows whose images and JSON values are plain,
    then widened to whole product groups: a product row and its SKU rows go the same way (a SKU row's
    outcome depends on its product's), and SKU rows with no product row above them in the chunk are
    left to the row-by-row path, which reports them."""
    certain = row_certain & _plain_json_values(chunk)
    assets: dict[str, int] = {}
    unknown: frozenset[str] = frozenset()
    image_slot = _image_slot(chunk)
    if image_slot is not None:
        images_certain, assets, unknown = _image_rows(chunk, image_slot, lookup)
        certain = certain & images_certain
    if chunk.frame.select(certain.all() & ~chunk.is_child().first()).item():
        return ProductRows(None, assets, unknown)  # the usual case: nothing to split
    group = (~chunk.is_child()).cast(pl.Int64).cum_sum()
    return ProductRows(~((~certain).any().over(group) | (group == 0)), assets, unknown)


def _image_slot(chunk: CleanChunk) -> Slot | None:
    return next((s for s in chunk.header.slots if s.column and s.column.kind is ColumnKind.URL_LIST), None)


def product_staging_frame(
    chunk: CleanChunk, job_id: int, chunk_no: int, rows: pl.Expr, assets: dict[str, int], unknown: frozenset[str]
) -> pl.DataFrame:
    """The staging rows of a chunk whose every row is certain (see product_rows), in
    ProductWriter.staging_columns order; `rows` are the rows' numbers."""
    header = chunk.header
    key_field = header.spec.key_columns[0].field
    is_child = chunk.is_child()
    key = chunk.value(key_field)
    special = {"translations": _translations(chunk), **_families(chunk)}
    image_slot = _image_slot(chunk)
    if image_slot is not None and image_slot.column is not None:
        special[image_slot.column.field] = _images(chunk, image_slot, assets, unknown)
    values = [special[name] if name in special else chunk.value(name) for name in PRODUCT_VALUE_COLUMNS]
    return chunk.frame.select(
        pl.lit(job_id, pl.Int64).alias("job_id"),
        rows.cast(pl.Int64).alias("row_no"),
        pl.lit(chunk_no, pl.Int64).alias("chunk_no"),
        is_child.alias("is_sku"),
        key.alias("sku_number"),
        pl.when(is_child).then(pl.when(~is_child).then(key).forward_fill()).alias("parent_sku_number"),
        *(value.alias(name) for value, name in zip(values, PRODUCT_VALUE_COLUMNS, strict=True)),
    )
