"""The chunk step's fast path: a clean chunk of a CSV staged column by column (see columnar.py).

Taken for product imports of a UTF-8 CSV; every other chunk, and any chunk it declines, is read row
by row as before. Declining costs one pass of column checks over the chunk's cells.
"""

from __future__ import annotations

from app.importing.columnar import clean_chunk, read_cells
from app.importing.header import HeaderMap
from app.importing.polars_runtime import pl
from app.importing.writers.product_frames import AssetLookup, product_staging_frame
from app.jobs import ImportChunk, ImportStatus
from specifications import ImportType


def takes(job: ImportStatus) -> bool:
    """Whether the job's chunks may go the fast way: products from a UTF-8 CSV read where it lies."""
    return (
        ImportType(job.import_type) is ImportType.PRODUCT
        and job.rows_key is None
        and (job.encoding or "utf-8") == "utf-8"
        and job.delimiter is not None
    )


def stage_clean(
    job: ImportStatus, chunk: ImportChunk, header: HeaderMap, data: bytes, lookup: AssetLookup
) -> pl.DataFrame | None:
    """The chunk's staging rows when every row is certainly valid; None to read it row by row."""
    assert job.delimiter is not None
    cells = read_cells(data, job.delimiter, len(header.cells), chunk.record_count)
    if cells is None:
        return None
    clean = clean_chunk(cells, header)
    if clean is None:
        return None
    assert job.id is not None
    return product_staging_frame(clean, job.id, chunk.chunk_no, chunk.first_row, lookup)
