"""The chunk step's fast path: the certain rows of a CSV chunk staged column by column (see columnar.py).

Taken for product imports of a UTF-8 CSV and for the normalized rows of any other upload. The rows it
cannot vouch for, with their whole product group, come back as source rows for the row-by-row path,
which validates them and names every problem; a chunk it cannot read at all (quoting that is not
plain, a blank line, a column kind it does not know) goes row by row whole.
"""

from __future__ import annotations

from dataclasses import dataclass

from app.importing.columnar import CleanChunk, certain_rows, read_cells, read_normalized_cells
from app.importing.header import HeaderMap
from app.importing.images import left_out, no_asset
from app.importing.planning import chunk_rows
from app.importing.polars_runtime import pl
from app.importing.problems import ValidationProblem
from app.importing.readers.delimited import SourceRow
from app.importing.writers.product_frames import AssetLookup, product_rows, product_staging_frame, unknown_images
from app.jobs import ImportChunk, ImportStatus
from specifications import ImportType

_ROW = "__row"  # the rows' numbers, beside the cells while they are split


@dataclass(frozen=True)
class ColumnStaging:
    """The staging rows of a chunk's certain rows, and its other rows for the row-by-row path, in order;
    and the warnings of the certain rows (an image that names no asset, left out)."""

    staged: pl.DataFrame
    doubtful: list[SourceRow]
    warnings: list[ValidationProblem]


def takes(job: ImportStatus) -> bool:
    """Whether the job's chunks may go the fast way: products from a UTF-8 CSV read where it lies, or
    from the normalized rows of any other file (UTF-8 CSV too, see normalized.py)."""
    if ImportType(job.import_type) is not ImportType.PRODUCT:
        return False
    return job.rows_key is not None or ((job.encoding or "utf-8") == "utf-8" and job.delimiter is not None)


def _cells(job: ImportStatus, chunk: ImportChunk, width: int, data: bytes) -> pl.DataFrame | None:
    """The chunk's cells with their row numbers, or None when it cannot be read by columns."""
    if job.rows_key is not None:
        found = read_normalized_cells(data, width, chunk.record_count)
        return None if found is None else found[0].with_columns(found[1].alias(_ROW))
    assert job.delimiter is not None
    cells = read_cells(data, job.delimiter, width, chunk.record_count)
    if cells is None:
        return None
    return cells.with_columns((pl.int_range(pl.len(), dtype=pl.Int64) + chunk.first_row).alias(_ROW))


def _source_rows(job: ImportStatus, data: bytes, indexes: list[int], numbers: list[int]) -> list[SourceRow]:
    """The rows at these record indexes as the row-by-row reader gives them (cells untrimmed), with their
    numbers. A chunk read by columns has one record a line."""
    lines = data.split(b"\n")
    picked = b"\n".join(lines[index] for index in indexes)
    rows = chunk_rows(picked, job.rows_key is not None, "utf-8", job.delimiter or ",", 0)
    return [row._replace(number=number) for row, number in zip(rows, numbers, strict=True)]


def stage_columns(
    job: ImportStatus, chunk: ImportChunk, header: HeaderMap, data: bytes, lookup: AssetLookup
) -> ColumnStaging | None:
    """The chunk's certain rows staged, and the rest as source rows; None to read it all row by row."""
    assert job.id is not None
    if not header.spec.key_columns:
        return None
    cells = _cells(job, chunk, len(header.cells), data)
    if cells is None:
        return None
    whole = CleanChunk(cells, header)
    row_certain = certain_rows(whole)
    if row_certain is None:
        return None
    rows = product_rows(whole, row_certain, lookup)
    if rows.certain is None:
        staged = product_staging_frame(whole, job.id, chunk.chunk_no, pl.col(_ROW), rows.assets, rows.unknown)
        return ColumnStaging(staged, [], _left_out(job, whole, rows.unknown))
    marked = cells.with_columns(rows.certain.alias("__certain"))
    certain = CleanChunk(marked.filter(pl.col("__certain")), header)
    staged = product_staging_frame(certain, job.id, chunk.chunk_no, pl.col(_ROW), rows.assets, rows.unknown)
    doubtful = marked.with_row_index("__index").filter(~pl.col("__certain"))
    indexes, numbers = doubtful.get_column("__index").to_list(), doubtful.get_column(_ROW).to_list()
    return ColumnStaging(staged, _source_rows(job, data, indexes, numbers), _left_out(job, certain, rows.unknown))


def _left_out(job: ImportStatus, chunk: CleanChunk, unknown: frozenset[str]) -> list[ValidationProblem]:
    """A warning for each image of the staged rows that names no asset of the catalog."""
    return [
        left_out(row, name, no_asset(name, job.catalog_id))
        for row, name in unknown_images(chunk, pl.col(_ROW), unknown)
    ]
