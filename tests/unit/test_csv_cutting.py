"""Planning cuts a CSV into the same chunks whether it parses every record or counts the plain lines, and
counts them the same in compiled code as in Python."""

from __future__ import annotations

import io
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import UnreadableFile
from app.importing import csv_cutting
from app.importing.chunking import ChunkLayout, Cutter
from app.importing.csv_cutting import CsvCutting
from app.importing.header import resolve_header
from app.importing.readers.delimited import read_records
from specifications.model import Specification
from specifications.order import DEFAULT_ORDER
from specifications.product import DEFAULT_PRODUCT

Outcome = tuple[list[ChunkLayout], int] | type[Exception]


def quoted_parts(parts: list[str]) -> str:
    """A quoted field made of pieces that may hold delimiters, escaped quotes and line ends."""
    return '"' + "".join(parts) + '"'


PLAIN = st.text(st.sampled_from(["a", "b", " ", "é", "\u00a0", "\u3000", "Y", "N", "7"]), max_size=6)
CELL = st.one_of(
    PLAIN,
    PLAIN.map(lambda text: '"' + text.replace('"', '""') + '"'),  # quoted
    st.lists(st.sampled_from(["a", ",", '""', " ", "\n", "\r\n", "é"]), max_size=5).map(quoted_parts),
    st.sampled_from(['12" wide', 'a""",', '"ab"c', '"open', "x\ry", "\x00", '""']),  # what only a parser reads right
    st.sampled_from(["Y", "N", "y", "SO-1", "SO-2", ""]),  # child flags and order numbers, repeated
)
RECORD = st.one_of(
    st.lists(CELL, min_size=1, max_size=4).map(",".join),
    st.sampled_from(["", ",,", " , ", '"",""', "\u00a0", ",\u3000,"]),  # blank records
)


def csv_bytes(header: str, records: list[str], line_end: str, final_line_end: bool) -> bytes:
    text = header + line_end + line_end.join(records) + (line_end if final_line_end else "")
    return text.encode("utf-8")


def cut(data: bytes, spec: Specification, size: int, fast: bool, read_bytes: int, compiled: bool = True) -> Outcome:
    """The chunks and record count the planner finds: by parsing every record, or by CsvCutting (with its
    compiled survey of each block, or with Python's)."""
    with mock.patch.object(csv_cutting, "COMPILED", compiled and csv_cutting.COMPILED):
        return _cut(data, spec, size, fast, read_bytes)


def _cut(data: bytes, spec: Specification, size: int, fast: bool, read_bytes: int) -> Outcome:
    stream = io.BytesIO(data)
    records = read_records(stream, encoding="utf-8", delimiter=",", first_row=1, skip_bom=True)
    try:
        header_row = next(records)
        cutter = Cutter(resolve_header(spec, header_row.cells), size, header_row.end_offset, 2)
        if fast:
            cutting = CsvCutting(
                cutter, encoding="utf-8", delimiter=",", max_field_bytes=1 << 20, max_line_bytes=1 << 20,
                read_bytes=read_bytes,
            )  # fmt: skip
            cutting.cut(stream, header_row.end_offset, 2)
        else:
            for row in records:
                cutter.add(row.number, row.cells, row.is_blank, row.end_offset)
        return cutter.finish(), cutter.total
    except (UnreadableFile, UnicodeDecodeError) as error:
        return type(error)


@settings(max_examples=600, deadline=None)
@given(
    records=st.lists(RECORD, max_size=30),
    spec=st.sampled_from([DEFAULT_PRODUCT, DEFAULT_ORDER]),
    size=st.integers(1, 4),
    read_bytes=st.integers(1, 80),
    line_end=st.sampled_from(["\n", "\r\n"]),
    final_line_end=st.booleans(),
)
def test_counting_plain_lines_cuts_the_same_chunks_as_parsing_every_record(
    records: list[str], spec: Specification, size: int, read_bytes: int, line_end: str, final_line_end: bool
) -> None:
    header = ",".join(column.header for column in spec.columns[:4])
    data = csv_bytes(header, records, line_end, final_line_end)

    parsed = cut(data, spec, size, fast=False, read_bytes=read_bytes)
    counted = cut(data, spec, size, fast=True, read_bytes=read_bytes)

    assert counted == parsed
    assert cut(data, spec, size, fast=True, read_bytes=read_bytes, compiled=False) == parsed


def test_a_large_plain_file_is_cut_where_parsing_cuts_it_with_sku_rows_kept_with_their_product() -> None:
    header = "SKU Number,SKU Indicator,Product Title"
    lines = []
    for number in range(3000):
        lines.append(f'P{number},N,"Shirt, size {number} ""classic"""')
        lines.extend(f"P{number}-{size},Y,Shirt {size}" for size in range(number % 3))
        if number % 500 == 0:
            lines.append(",,")
    data = csv_bytes(header, lines, "\r\n", True)

    parsed = cut(data, DEFAULT_PRODUCT, 250, fast=False, read_bytes=4096)
    counted = cut(data, DEFAULT_PRODUCT, 250, fast=True, read_bytes=4096)

    assert counted == parsed
    assert cut(data, DEFAULT_PRODUCT, 250, fast=True, read_bytes=4096, compiled=False) == parsed
    assert not isinstance(counted, type)
    chunks, total = counted
    assert total == 6000 and len(chunks) == 24  # 3,000 products with 3,000 SKU rows; the 6 blank lines are no records
    file_rows = data.decode().split("\r\n")
    assert all(",N," in file_rows[chunk.first_row - 1] for chunk in chunks)  # each chunk starts with a product


def test_a_quoted_line_end_hands_the_rest_of_the_file_to_the_parser() -> None:
    header = "SKU Number,SKU Indicator,Product Title"
    lines = [f"P{number},N,Title {number}" for number in range(100)]
    lines[60] = 'P60,N,"Title\nover two lines"'
    data = csv_bytes(header, lines, "\n", True)

    counted = cut(data, DEFAULT_PRODUCT, 7, fast=True, read_bytes=64)

    assert counted == cut(data, DEFAULT_PRODUCT, 7, fast=False, read_bytes=64)
    assert not isinstance(counted, type) and counted[1] == 100


def test_a_file_that_is_not_utf8_is_refused_at_the_same_byte_by_both_surveys() -> None:
    header = "SKU Number,SKU Indicator,Product Title"
    body = "\n".join(f"P{number},N,Title {number}" for number in range(50)).encode()
    data = header.encode() + b"\n" + body.replace(b"Title 30", b"Title \xed\xa0\x80") + b"\n"  # a surrogate

    for compiled in (True, False):
        with mock.patch.object(csv_cutting, "COMPILED", compiled and csv_cutting.COMPILED):
            stream = io.BytesIO(data)
            header_row = next(read_records(stream, encoding="utf-8", delimiter=",", first_row=1, skip_bom=True))
            cutter = Cutter(resolve_header(DEFAULT_PRODUCT, header_row.cells), 7, header_row.end_offset, 2)
            limits = {"max_field_bytes": 1 << 20, "max_line_bytes": 1 << 20}
            cutting = CsvCutting(cutter, encoding="utf-8", delimiter=",", **limits)
            try:
                cutting.cut(stream, header_row.end_offset, 2)
            except UnicodeDecodeError as error:
                assert data[error.start : error.end] == b"\xed", compiled
            else:
                raise AssertionError(f"a surrogate was read (compiled={compiled})")
