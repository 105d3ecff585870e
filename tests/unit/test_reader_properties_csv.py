"""Any bytes at all, read as CSV: rows come out, or an error the planner turns into a message; nothing else."""

from __future__ import annotations

import io

from hypothesis import given, settings
from hypothesis import strategies as st

from app.errors import UnreadableFile
from app.importing.readers.delimited import DELIMITERS, ENCODINGS, SourceRow, detect_delimiter, read_records

CSV_BYTES = st.one_of(
    st.binary(max_size=2048),
    # Text made of what CSV is made of, so that quotes, delimiters and line ends meet in every order.
    st.lists(st.sampled_from([b'"', b",", b";", b"\t", b"|", b"\r", b"\n", b"\r\n", b"a", b" ", b"\xef\xbb\xbf",
                              b"\x00", b"\xe9", b"\xc3\xa9", b"\x81", b"\xff"]), max_size=200).map(b"".join),
)  # fmt: skip


def read_all(data: bytes, encoding: str, delimiter: str) -> list[SourceRow] | Exception:
    try:
        return list(read_records(io.BytesIO(data), encoding=encoding, delimiter=delimiter, first_row=2, skip_bom=True))
    except (UnreadableFile, UnicodeDecodeError) as error:
        return error


@settings(max_examples=400, deadline=None)
@given(data=CSV_BYTES, encoding=st.sampled_from(ENCODINGS), delimiter=st.sampled_from(DELIMITERS))
def test_any_bytes_either_read_as_numbered_rows_or_fail_with_an_unreadable_file_or_decoding_error(
    data: bytes, encoding: str, delimiter: str
) -> None:
    outcome = read_all(data, encoding, delimiter)

    if isinstance(outcome, Exception):
        return
    assert [row.number for row in outcome] == list(range(2, 2 + len(outcome)))
    offsets = [row.end_offset for row in outcome]
    assert offsets == sorted(offsets) and all(0 < offset <= len(data) for offset in offsets)
    assert all(isinstance(cell, str) for row in outcome for cell in row.cells)


@settings(max_examples=200, deadline=None)
@given(data=CSV_BYTES)
def test_windows_1252_fails_to_decode_only_at_its_five_undefined_bytes(data: bytes) -> None:
    outcome = read_all(data, "cp1252", ",")

    undefined = any(byte in data for byte in (0x81, 0x8D, 0x8F, 0x90, 0x9D))
    assert undefined or not isinstance(outcome, UnicodeDecodeError)


@given(header=st.text(max_size=200))
def test_a_delimiter_is_always_detected_from_any_header_line(header: str) -> None:
    assert detect_delimiter(header) in DELIMITERS
