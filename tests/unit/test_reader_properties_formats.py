"""Any first bytes of an upload, checked against a declared fileType: an answer, never an exception."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from app.importing.formats import EMPTY_ZIP_SIGNATURE, SNIFF_BYTES, ZIP_SIGNATURE, FileType, contradiction

HEADS = st.one_of(
    st.binary(max_size=SNIFF_BYTES),
    st.builds(lambda signature, rest: signature + rest,
              st.sampled_from([ZIP_SIGNATURE, EMPTY_ZIP_SIGNATURE, b"\xd0\xcf\x11\xe0", b"%PDF", b"\x89PNG",
                               b"\x1f\x8b", b"\xef\xbb\xbf", b"{", b"[", b" \r\n"]),
              st.binary(max_size=64)),
)  # fmt: skip


@given(head=HEADS, file_type=st.sampled_from(list(FileType)))
def test_any_head_either_fits_the_declared_type_or_is_refused_with_a_reason_naming_it(
    head: bytes, file_type: FileType
) -> None:
    problem = contradiction(file_type, head)

    assert problem is None or (isinstance(problem, str) and f"fileType is {file_type.value}" in problem)


@given(head=HEADS)
def test_a_body_accepted_as_xlsx_starts_like_a_zip_archive(head: bytes) -> None:
    accepted = contradiction(FileType.XLSX, head) is None

    assert not accepted or head.startswith((ZIP_SIGNATURE, EMPTY_ZIP_SIGNATURE))
