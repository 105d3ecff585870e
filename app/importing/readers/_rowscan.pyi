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
    /,
) -> tuple[int, int, list[tuple[int, list[SheetValue]]], list[int]]: ...
