"""The compiled survey of a CSV block says what Python's regular expressions and decoder say of it: whether
it is plain, whether its text is UTF-8, how many lines it has and which of them may be blank."""

from __future__ import annotations

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from app.importing import _csvscan, csv_cutting
from app.importing.csv_cutting import CsvCutting, is_plain, plain_quoting

# Bytes that make a block plain or not, blank or not, UTF-8 or not.
PIECES = st.sampled_from(
    [b"a", b"7", b" ", b",", b";", b"\t", b'"', b'""', b"\n", b"\r\n", b"\r", b"\x00", b"\xc2\xa0", b"\xe3\x80\x80",
     b"\xc3\xa9", b"\xe2\x80", b"\xed\xa0\x80", b"\xf4\x90\x80\x80", b"\xc0\xaf", b"\xff", b"\x1c", b"\x0b"]
)  # fmt: skip


def test_the_survey_is_compiled_as_installed() -> None:
    assert csv_cutting.COMPILED, "the compiled CSV survey is not built: pip install -e . builds it"


def python_survey(data: bytes, delimiter: str) -> tuple[int, list[tuple[int, int]]] | None:
    """What the Python path finds: None where the block is not plain or not UTF-8."""
    pattern = plain_quoting(delimiter)
    assert pattern is not None
    if not is_plain(pattern, data):
        return None
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    cutting = CsvCutting(None, encoding="utf-8", delimiter=delimiter, max_field_bytes=1 << 20, max_line_bytes=1 << 20)  # type: ignore[arg-type]
    return data.count(b"\n"), cutting._blankish_lines(data)


@settings(max_examples=3000, deadline=None)
@given(pieces=st.lists(PIECES, max_size=40), delimiter=st.sampled_from([",", ";", "\t"]))
@example(pieces=[b"a", b",", b"a", b'"', b"\n"], delimiter=",")  # a quote after a cell's first byte
@example(pieces=[b'"', b"a", b'""', b'"', b",", b"\n"], delimiter=",")
def test_the_compiled_survey_agrees_with_python(pieces: list[bytes], delimiter: str) -> None:
    data = b"".join(pieces)
    data = data if data.endswith(b"\n") else data + b"\n"

    assert _csvscan.survey(data, ord(delimiter), True) == python_survey(data, delimiter)


@given(
    data=st.binary(max_size=200).map(lambda data: data + b"\n"),
    position=st.integers(0, 20),
    count=st.integers(0, 5),
)
def test_skipping_lines_ends_where_python_finds_the_line_ends(data: bytes, position: int, count: int) -> None:
    position = min(position, len(data))
    expected: int | None = position
    for _ in range(count):
        found = data.find(b"\n", expected)
        expected = None if found < 0 else found + 1
        if expected is None:
            break
    if expected is None:
        with pytest.raises(ValueError):
            _csvscan.skip_lines(data, position, count)
    else:
        assert _csvscan.skip_lines(data, position, count) == expected
