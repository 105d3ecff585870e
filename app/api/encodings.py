"""A request body's Content-Encoding: gzip and deflate are decompressed as the body streams, anything else refused."""

from __future__ import annotations

import zlib
from collections.abc import Iterator

from app.errors import BadRequest, UnsupportedMediaType

# zlib's window bits for each encoding HTTP names: gzip's header and trailer, or zlib's (HTTP's "deflate").
WINDOW_BITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
IDENTITY = ("", "identity")
PIECE_BYTES = 1 << 20  # the most one decompression step hands on, so a small body that expands a thousandfold
# reaches the size limit piece by piece, never all at once in memory


class BodyDecoding:
    """Decodes a body's pieces as they arrive; `pieces` hands on the decoded bytes, `finish` checks the end."""

    def __init__(self, content_encoding: str | None) -> None:
        self.name = (content_encoding or "").strip().lower()
        if self.name not in IDENTITY and self.name not in WINDOW_BITS:
            raise UnsupportedMediaType(
                f"Content-Encoding '{content_encoding}' is not read here: send the file as it is, or compressed "
                "with gzip or deflate"
            )
        self._decompressor = self._new_decompressor()

    def _new_decompressor(self) -> zlib._Decompress | None:
        return zlib.decompressobj(WINDOW_BITS[self.name]) if self.name in WINDOW_BITS else None

    def pieces(self, data: bytes) -> Iterator[bytes]:
        if self._decompressor is None:
            yield data
            return
        try:
            yield from self._decompress(data)
        except zlib.error as error:
            raise self._malformed(str(error)) from None

    def _decompress(self, data: bytes) -> Iterator[bytes]:
        decompressor = self._decompressor
        assert decompressor is not None
        while data:
            piece = decompressor.decompress(data, PIECE_BYTES)
            if piece:
                yield piece
            if decompressor.eof and decompressor.unused_data:
                # A gzip file may hold several members, one after another (gzip a b > c): each is read in turn.
                data, decompressor = decompressor.unused_data, zlib.decompressobj(WINDOW_BITS[self.name])
                self._decompressor = decompressor
            else:
                data = decompressor.unconsumed_tail

    def finish(self) -> None:
        if self._decompressor is not None and not self._decompressor.eof:
            raise self._malformed("it ends before the compressed data does")

    def _malformed(self, reason: str) -> BadRequest:
        return BadRequest(f"the body is not valid {self.name}, as its Content-Encoding says: {reason}")
