"""A request body's Content-Encoding: gzip and deflate are decompressed as the body streams, anything else refused.

Read as HTTP clients send them: deflate with zlib's header (as HTTP names it) or without (raw, as some clients
send it), told apart by its first two bytes, with nothing after its end; gzip as one member or several
(`gzip a b > c`), padded with zeros or not, as gzip itself reads them."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from app.errors import BadRequest, UnsupportedMediaType

# zlib's window bits for each encoding HTTP names: gzip's header and trailer, or zlib's (HTTP's "deflate").
WINDOW_BITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
RAW_DEFLATE = -zlib.MAX_WBITS
IDENTITY = ("", "identity")
ENCODED_MARGIN = 65536
PIECE_BYTES = 1 << 20  # the most one decompression step hands on, so a small body that expands a thousandfold
# reaches the size limit piece by piece, never all at once in memory


def _zlib_header(head: bytes) -> bool:
    """Whether two bytes open a zlib stream: deflate (method 8), a window of at most 32 KiB, and their check."""
    return head[0] & 0x0F == 8 and head[0] >> 4 <= 7 and (head[0] << 8 | head[1]) % 31 == 0


class BodyDecoding:
    """Decodes a body's pieces as they arrive; `pieces` hands on the decoded bytes, `finish` checks the end."""

    def __init__(self, content_encoding: str | None) -> None:
        self.name = (content_encoding or "").strip().lower()
        if self.name not in IDENTITY and self.name not in WINDOW_BITS:
            raise UnsupportedMediaType(
                f"Content-Encoding '{content_encoding}' is not read here: send the file as it is, or compressed "
                "with gzip or deflate"
            )
        self.identity = self.name in IDENTITY
        self._decompressor: zlib._Decompress | None = None  # the member being read; None before the first
        self._held = b""  # the first byte of a deflate body, until the second says which kind it is

    def most_encoded(self, size: int) -> int:
        """The most bytes `size` bytes take in this encoding: compressed, a file that does not compress (an XLSX, a
        ZIP) grows by a little (at worst by 0.03% and a few bytes, in deflate's stored blocks, gzip's header and
        trailer); what is allowed beside it also covers a few members and some padding."""
        return size if self.identity else size + size // 1000 + ENCODED_MARGIN

    def pieces(self, data: bytes) -> Iterator[bytes]:
        if self.identity:
            yield data
            return
        try:
            yield from self._decompress(self._held + data)
        except zlib.error as error:
            raise self._malformed(str(error)) from None

    def _decompress(self, data: bytes) -> Iterator[bytes]:
        self._held = b""
        while data:
            decompressor = self._decompressor
            if decompressor is None or decompressor.eof:
                if decompressor is not None:
                    if self.name == "deflate":
                        raise self._malformed("bytes follow the end of the compressed data")
                    data = data.lstrip(b"\0")  # zeros after a gzip member: padding, as gzip reads it
                    if not data:
                        return
                if self.name == "deflate" and len(data) < 2:
                    self._held = data
                    return
                decompressor = self._decompressor = zlib.decompressobj(self._window_bits(data))
            piece = decompressor.decompress(data, PIECE_BYTES)
            if piece:
                yield piece
            # What follows a member's end is the next member (gzip a b > c), or padding; else more of this one.
            data = decompressor.unused_data if decompressor.eof else decompressor.unconsumed_tail

    def _window_bits(self, head: bytes) -> int:
        if self.name == "deflate" and not _zlib_header(head):
            return RAW_DEFLATE
        return WINDOW_BITS[self.name]

    def finish(self) -> None:
        if not self.identity and (self._held or self._decompressor is None or not self._decompressor.eof):
            raise self._malformed("it ends before the compressed data does")

    def _malformed(self, reason: str) -> BadRequest:
        return BadRequest(f"the body is not valid {self.name}, as its Content-Encoding says: {reason}")
