"""The chunk step's fast path: a clean chunk of a CSV staged column by column (see columnar.py).

Taken for product imports of a UTF-8 CSV; every other chunk, and any chunk it declines, is read row
by row as before. Declining costs one pass of column checks over the chunk's cells.
"""

from __future__ import annotations

from app.importing.columnar import clean_chunk, read_cells, read_normalized_cells
from app.importing.header import HeaderMap
from app.importing.polars_runtime import pl
from app.importing.writers.product_frames import AssetLookup, product_staging_frame
from app.jobs import ImportChunk, ImportStatus
from specifications import ImportType


def takes(job: ImportStatus) -> bool:
    """Whether the job's chunks may go the fast way: products from a UTF-8 CSV read where it lies, or
    from the normalized rows of any other file (UTF-8 CSV too, see normalized.py)."""
    if ImportType(job.import_type) is not ImportType.PRODUCT:
        return False
    return job.rows_key is not None or ((job.encoding or "utf-8") == "utf-8" and job.delimiter is not None)


def stage_clean(
    job: ImportStatus, chunk: ImportChunk, header: HeaderMap, data: bytes, lookup: AssetLookup
) -> pl.DataFrame | None:
    """The chunk's staging rows when every row is certainly valid; None to read it row by row."""
    assert job.id is not None
    width = len(header.cells)
    if job.rows_key is None:
        assert job.delimiter is not None
        cells = read_cells(data, job.delimiter, width, chunk.record_count)
        numbers = None
    else:
        found = read_normalized_cells(data, width, chunk.record_count)
        cells, numbers = found if found is not None else (None, None)
    if cells is None:
        return None
    clean = clean_chunk(cells, header)
    if clean is None:
        return None
    rows = numbers if numbers is not None else pl.int_range(pl.len(), dtype=pl.Int64) + chunk.first_row
    return product_staging_frame(clean, job.id, chunk.chunk_no, rows, lookup)
