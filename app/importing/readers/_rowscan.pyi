from array import array
from collections.abc import Callable

from app.importing.readers.sheet_rows import SheetValue

def scan(
    data: bytes,
    at: int,
    row_number: int,
    table_data: bytearray,
    table_bounds: array[int],
    dated: bytes,
    dated_value: Callable[[int | float], SheetValue],
    offset: int,
    past: bool,
    width: int,
    max_rows: int,
    /,
) -> tuple[int, int, list[tuple[int, list[SheetValue]]], list[int]]: ...
def scan_records(
    data: bytes,
    at: int,
    row_number: int,
    table_data: bytearray,
    table_bounds: array[int],
    dated: bytes,
    offset: int,
    width: int,
    kinds: bytes,
    count: int,
    max_chars: int,
    max_records: int,
    limit: int,
    /,
) -> tuple[int, int, bytes, int, int, int]: ...
