"""Any bytes at all, read as an XLSX workbook: rows come out, or UnreadableFile; never another exception.

Random bytes are rarely a ZIP, so the damage is also done where it hurts: inside a real workbook, to the archive's
bytes and to each of its XML parts.
"""

from __future__ import annotations

import io
import zipfile
from functools import cache

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from app.errors import UnreadableFile
from app.importing.readers.sheet_rows import SheetValue
from app.importing.readers.workbook import iter_sheet
from tests.factories import make_xlsx, make_zip, product_row


@cache
def workbook_parts() -> dict[str, bytes]:
    archive = zipfile.ZipFile(io.BytesIO(make_xlsx([product_row("p-1"), product_row("p-2", price="1.50")])))
    return {name: archive.read(name) for name in archive.namelist()}


@st.composite
def damaged_archive(draw: st.DrawFn) -> bytes:
    """A real workbook with some of its bytes overwritten."""
    data = bytearray(make_zip(workbook_parts()))
    for _ in range(draw(st.integers(1, 8))):
        at = draw(st.integers(0, len(data) - 1))
        data[at] = draw(st.integers(0, 255))
    return bytes(data[: draw(st.integers(len(data) // 2, len(data)))])


@st.composite
def damaged_part(draw: st.DrawFn) -> bytes:
    """A real workbook whose one XML part is cut short, spliced with junk, or replaced."""
    parts = dict(workbook_parts())
    name = draw(st.sampled_from(sorted(parts)))
    original = parts[name]
    cut = draw(st.integers(0, len(original)))
    junk = draw(st.one_of(st.binary(max_size=64), st.sampled_from([b"<", b"</row>", b'r="A0"', b'<c t="s"><v>99'])))
    parts[name] = draw(st.sampled_from([original[:cut], original[:cut] + junk + original[cut:], junk]))
    if draw(st.booleans()):
        del parts[draw(st.sampled_from(sorted(parts)))]
    return make_zip(parts)


def with_a_flipped_byte_in(part: str) -> bytes:
    """The workbook with one byte of a part's compressed data inverted: a deflate stream that cannot be inflated."""
    data = bytearray(make_zip(workbook_parts()))
    at = data.find(part.encode()) + len(part) + 5
    data[at] ^= 0xFF
    return bytes(data)


def read_all(data: bytes) -> list[tuple[int, list[SheetValue]]] | UnreadableFile:
    try:
        return list(iter_sheet(io.BytesIO(data)))
    except UnreadableFile as error:
        return error


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@example(data=with_a_flipped_byte_in("docProps/core.xml"))
@example(data=with_a_flipped_byte_in("xl/worksheets/sheet1.xml"))
@given(data=st.one_of(st.binary(max_size=4096), damaged_archive(), damaged_part()))
def test_any_bytes_either_read_as_numbered_rows_or_fail_with_an_unreadable_file(data: bytes) -> None:
    outcome = read_all(data)

    if isinstance(outcome, UnreadableFile):
        assert str(outcome).strip()
        return
    numbers = [number for number, _ in outcome]
    assert numbers == sorted(numbers) and all(number >= 1 for number in numbers)


def test_the_undamaged_workbook_reads_its_header_and_rows() -> None:
    rows = read_all(make_zip(workbook_parts()))

    assert not isinstance(rows, UnreadableFile)
    assert [number for number, _ in rows] == [1, 2, 3]
    assert rows[1][1][0] == "p-1"
