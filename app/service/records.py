"""Reading back what imports wrote: one record by its key (a composite key in its order), or a page."""

from __future__ import annotations

from collections.abc import Iterator

from app.accounts import Principal
from app.commerce import product_reads, record_reads
from app.commerce.record_reads import RecordTable
from app.errors import BadRequest, NotFound
from app.runtime import Runtime
from app.service.sandboxes import sees_sandbox
from specifications import ImportType, specifications_for

RECORD_TABLES: dict[ImportType, RecordTable] = {
    ImportType.CATEGORY: record_reads.CATEGORIES,
    ImportType.CUSTOMER: record_reads.CUSTOMERS,
    ImportType.ADDRESS: record_reads.ADDRESSES,
    ImportType.ORDER: record_reads.ORDERS,
    ImportType.ASSET: record_reads.ASSETS,
}


def _table(import_type: ImportType) -> RecordTable | None:
    if import_type is ImportType.PRODUCT:
        return None
    table = RECORD_TABLES.get(import_type)
    if table is None:
        raise NotFound(f"{import_type.value} records cannot be read back in this version")
    return table


def _scope(table: RecordTable | None, catalog_id: int, site_id: int) -> int:
    return site_id if table is not None and table.scope_column == "site_id" else catalog_id


def _key_size(table: RecordTable | None) -> int:
    return 1 if table is None else len(table.key)


def _wrong_key(import_type: ImportType, size: int) -> BadRequest:
    headers = [column.header for column in specifications_for(import_type)[0].key_columns]
    article = "an" if import_type.value[0] in "AEIOU" else "a"
    parts = f"{size} key part{'s' if size > 1 else ''}"
    return BadRequest(f"{article} {import_type.value} record is named by {parts}: {' / '.join(headers)}")


def key_parts(import_type: ImportType, path: str) -> list[str]:
    """The key a record's path names: split at its first slashes into as many parts as the key has, so that the
    last part keeps its own (a SKU `A/1`, an address `Home/Office`, an asset's folders)."""
    size = _key_size(_table(import_type))
    parts = path.split("/", size - 1)
    if len(parts) != size or not all(part.strip() for part in parts):
        raise _wrong_key(import_type, size)
    return parts


def read_record(
    runtime: Runtime, import_type: ImportType, key: list[str], catalog_id: int, site_id: int, sandbox_id: int = 0
) -> dict[str, object]:
    table = _table(import_type)
    if len(key) != _key_size(table):
        raise _wrong_key(import_type, _key_size(table))
    record = None
    # No import keeps a NUL in a key, and PostgreSQL text cannot hold one: the query would fail, not miss.
    if not any("\x00" in part for part in key):
        with runtime.db.read() as session:
            if table is None:
                record = product_reads.find_product(session, catalog_id, sandbox_id, key[0])
            else:
                record = record_reads.find_record(session, table, _scope(table, catalog_id, site_id), sandbox_id, key)
                if record is not None and import_type is ImportType.ORDER:
                    record = record_reads.with_items(session, record)
    if record is None:
        raise _not_found(runtime, import_type, key, catalog_id, site_id, sandbox_id)
    return record


def _not_found(
    runtime: Runtime, import_type: ImportType, key: list[str], catalog_id: int, site_id: int, sandbox_id: int
) -> NotFound:
    """No such record; a SKU row's SKU Number, read as a product, names the product that holds it."""
    table = _table(import_type)
    where = f"site {site_id}" if table is not None and table.scope_column == "site_id" else f"catalog {catalog_id}"
    message = f"no {import_type.value} '{'/'.join(key)}' in {where}"
    if table is None and "\x00" not in key[0]:
        with runtime.db.read() as session:
            product = product_reads.product_of_sku(session, catalog_id, sandbox_id, key[0])
        if product is not None:
            message += f": it is a SKU of product '{product}', read it there (/api/data/PRODUCT/{product})"
    return NotFound(message)


def list_records(
    runtime: Runtime,
    import_type: ImportType,
    catalog_id: int,
    site_id: int,
    page: int,
    page_size: int,
    sandbox_id: int = 0,
) -> tuple[list[dict[str, object]], int]:
    table = _table(import_type)
    with runtime.db.read() as session:
        if table is None:
            return product_reads.list_products(session, catalog_id, sandbox_id, page, page_size)
        scope = _scope(table, catalog_id, site_id)
        return record_reads.list_records(session, table, scope, sandbox_id, page, page_size)


def asset_content(runtime: Runtime, principal: Principal, asset_id: int) -> tuple[str, str, Iterator[bytes]]:
    """(content type, file name, bytes) of an imported asset; one in a sandbox only for those who see it."""
    with runtime.db.read() as session:
        asset = record_reads.find_asset(session, asset_id)
        if asset is not None and not sees_sandbox(session, principal, int(str(asset["sandbox_id"]))):
            asset = None
    if asset is None:
        raise NotFound(f"no asset with id {asset_id}")
    key, name = str(asset["storage_key"]), str(asset["file_name"]).rsplit("/", 1)[-1]

    def body() -> Iterator[bytes]:
        with runtime.assets.open(key) as stream:
            yield from iter(lambda: stream.read(1 << 16), b"")

    return str(asset["content_type"]), name, body()
