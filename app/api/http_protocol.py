"""uvicorn's HTTP protocol (httptools), with a bound on what a request's line and headers may hold.

httptools gathers a header however long it grows (uvicorn's other protocol, h11, stops at 16 KiB): one client
sending a gigabyte of header, without any credentials, held a gigabyte of the API's memory. A request whose
line and headers pass MAX_HEAD_BYTES gets 431, in JSON as every error, and its connection is closed.
"""

from __future__ import annotations

import json

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

MAX_HEAD_BYTES = 1 << 20


def _refusal() -> bytes:
    body = json.dumps(
        {
            "error": "HeadersTooLarge",
            "detail": f"the request line and headers are longer than the limit of {MAX_HEAD_BYTES} bytes",
        }
    ).encode()
    head = (
        "HTTP/1.1 431 Request Header Fields Too Large\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n\r\n"
    )
    return head.encode() + body


class BoundedHeadProtocol(HttpToolsProtocol):
    """Counts the bytes that arrive while a request's head is being read; the first piece of each request
    (at most the size of one socket read) is read before its count begins."""

    _in_head = True
    _head_bytes = 0

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._in_head, self._head_bytes = True, 0

    def on_headers_complete(self) -> None:
        self._in_head = False
        super().on_headers_complete()

    def data_received(self, data: bytes) -> None:
        if self._in_head:
            self._head_bytes += len(data)
            if self._head_bytes > MAX_HEAD_BYTES:
                self.transport.write(_refusal())
                self.transport.close()
                return
        super().data_received(data)
