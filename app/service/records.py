"""Reading back what imports wrote."""

from __future__ import annotations

from app.commerce import product_reads
from app.errors import NotFound
from app.runtime import Runtime
from specifications import ImportType


def read_record(
    runtime: Runtime, import_type: ImportType, key: list[str], catalog_id: int, site_id: int
) -> dict[str, object]:
    if import_type is not ImportType.PRODUCT or len(key) != 1:
        raise NotFound(f"no {import_type.value} record '{'/'.join(key)}'")
    with runtime.db.read() as session:
        record = product_reads.find_product(session, catalog_id, 0, key[0])
    if record is None:
        raise NotFound(f"no PRODUCT '{key[0]}' in catalog {catalog_id}")
    return record


def list_records(
    runtime: Runtime, import_type: ImportType, catalog_id: int, site_id: int, page: int, page_size: int
) -> tuple[list[dict[str, object]], int]:
    if import_type is not ImportType.PRODUCT:
        return [], 0
    with runtime.db.read() as session:
        return product_reads.list_products(session, catalog_id, 0, page, page_size)
