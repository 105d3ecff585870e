"""A compressed body decoded as it streams in, whatever pieces the network cuts it into."""

from __future__ import annotations

import gzip
import zlib

import pytest

from app.api.encodings import BodyDecoding
from app.errors import BadRequest

FILE = b"SKU Number,Product Title\n" + b"".join(b"SKU-%d,Title %d\n" % (n, n) for n in range(2000))


def raw_deflate(data: bytes) -> bytes:
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


def decoded(encoding: str, body: bytes, piece: int) -> bytes:
    decoding = BodyDecoding(encoding)
    out = b"".join(b"".join(decoding.pieces(body[at : at + piece])) for at in range(0, len(body), piece))
    decoding.finish()
    return out


BODIES = {
    "zlib-deflate": ("deflate", zlib.compress(FILE)),
    "raw-deflate": ("deflate", raw_deflate(FILE)),
    "gzip": ("gzip", gzip.compress(FILE)),
    "gzip-zero-padded": ("gzip", gzip.compress(FILE) + bytes(10240)),
    "gzip-two-members-and-padding": ("gzip", gzip.compress(FILE[:999]) + bytes(3) + gzip.compress(FILE[999:])),
}


@pytest.mark.parametrize("piece", [1, 2, 7, 4096, 1 << 30])
@pytest.mark.parametrize("name", BODIES)
def test_a_compressed_body_decodes_to_its_file_whatever_pieces_it_arrives_in(name: str, piece: int) -> None:
    encoding, body = BODIES[name]

    assert decoded(encoding, body, piece) == FILE


@pytest.mark.parametrize(
    ("encoding", "body", "reason"),
    [
        ("deflate", zlib.compress(FILE) + b"more", "bytes follow the end of the compressed data"),
        ("deflate", zlib.compress(FILE)[:1], "it ends before the compressed data does"),
        ("gzip", gzip.compress(FILE)[:-3], "it ends before the compressed data does"),
        ("gzip", b"", "it ends before the compressed data does"),
        ("gzip", gzip.compress(FILE) + bytes(4) + b"junk", "Error -3 while decompressing data: incorrect header check"),
    ],
    ids=["deflate-then-more", "deflate-cut-at-its-first-byte", "gzip-cut-short", "gzip-empty", "gzip-then-junk"],
)
def test_a_body_that_is_not_what_its_encoding_says_is_refused_saying_why(
    encoding: str, body: bytes, reason: str
) -> None:
    with pytest.raises(BadRequest) as refused:
        decoded(encoding, body, 3)

    assert refused.value.detail == f"the body is not valid {encoding}, as its Content-Encoding says: {reason}"
