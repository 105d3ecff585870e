"""A clean chunk of product rows staged column by column: the staging rows ProductWriter.stage gives.

Images, families and translations are written as the JSON text json_text gives them (keys sorted,
compact, non-ASCII kept). A chunk is declined (None) where this would need a case the row-by-row path
handles: a SKU row with no product row above it in the chunk, an image that is a URL, names no asset
of the catalog or is written loosely, or a JSON value with a control character.
"""

from __future__ import annotations

from collections.abc import Callable

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
    slots = [slot for slot in chunk.header.slots if slot.locale is not None and slot.column is not None]
    fields = sorted({slot.column.field for slot in slots if slot.column is not None})
    return _object(
        [
            (field, _object([(slot.locale or "", _text(chunk, slot)) for slot in slots if slot.column.field == field]))  # type: ignore[union-attr]
            for field in fields
        ]
    )


def _images(chunk: CleanChunk, slot: Slot, assets: dict[str, int]) -> pl.Expr:
    """The image list as resolve_images leaves it: each image's asset id, key and file name."""
    item = pl.element()
    key = pl.when(item.str.contains(":", literal=True))
    image = pl.concat_str(
        [
            pl.lit('{"assetId":'),
            item.str.extract(_URL, 1).replace_strict(assets, return_dtype=pl.String),
            pl.lit(',"key":'),
            key.then(pl.concat_str([pl.lit('"'), item.str.extract(_KEY, 1), pl.lit('"')])).otherwise(pl.lit("null")),
            pl.lit(',"url":"'),
            item.str.extract(_URL, 1),
            pl.lit('"}'),
        ]
    )
    listed = chunk.cell(slot).str.split("|").list.eval(image).list.join(",")
    return pl.concat_str([pl.lit("["), listed, pl.lit("]")])  # null for an empty cell


def _image_assets(chunk: CleanChunk, slot: Slot, lookup: AssetLookup) -> dict[str, int] | None:
    """Every image's asset, or None when an image is written loosely, is a URL or names no asset."""
    cell = chunk.cell(slot)
    frame = chunk.frame
    plain = frame.select((cell.str.contains(_IMAGES) & ~cell.str.contains(_SCHEME_KEY)).all()).item()
    if not plain:
        return None
    listed = frame.select(cell.drop_nulls().str.split("|").explode().str.extract(_URL, 1).unique())
    names = set(listed.to_series().to_list())
    assets = lookup(names) if names else {}
    return assets if names <= assets.keys() else None


def _json_values_clean(chunk: CleanChunk) -> bool:
    slots = [slot for slot in chunk.header.slots if slot.family is not None or slot.locale is not None]
    if not slots:
        return True
    return not chunk.frame.select(pl.any_horizontal([has_control(chunk.cell(slot)) for slot in slots]).any()).item()


def product_staging_frame(
    chunk: CleanChunk, job_id: int, chunk_no: int, rows: pl.Expr | pl.Series, lookup: AssetLookup
) -> pl.DataFrame | None:
    """The chunk's staging rows in ProductWriter.staging_columns order, or None to stage it row by row;
    `rows` are the rows' numbers."""
    header = chunk.header
    if not header.spec.key_columns:
        return None
    key_field = header.spec.key_columns[0].field
    is_child = chunk.is_child()
    frame = chunk.frame
    if frame.select(is_child.first()).item() or not _json_values_clean(chunk):
        return None  # a SKU row with no product row above it in the chunk
    image_slot = next((s for s in header.slots if s.column and s.column.kind is ColumnKind.URL_LIST), None)
    assets: dict[str, int] = {}
    if image_slot is not None:
        found = _image_assets(chunk, image_slot, lookup)
        if found is None:
            return None
        assets = found
    key = chunk.value(key_field)
    special = {"translations": _translations(chunk), **_families(chunk)}
    if image_slot is not None and image_slot.column is not None:
        special[image_slot.column.field] = _images(chunk, image_slot, assets)
    values = [special[name] if name in special else chunk.value(name) for name in PRODUCT_VALUE_COLUMNS]
    return frame.select(
        pl.lit(job_id, pl.Int64).alias("job_id"),
        pl.lit(rows).alias("row_no") if isinstance(rows, pl.Series) else rows.alias("row_no"),
        pl.lit(chunk_no, pl.Int64).alias("chunk_no"),
        is_child.alias("is_sku"),
        key.alias("sku_number"),
        pl.when(is_child).then(pl.when(~is_child).then(key).forward_fill()).alias("parent_sku_number"),
        *(value.alias(name) for value, name in zip(values, PRODUCT_VALUE_COLUMNS, strict=True)),
    )
