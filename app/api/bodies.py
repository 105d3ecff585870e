"""Small request bodies (a sandbox's JSON): read under a cap, and parsed with every failure a 400 that names it."""

from __future__ import annotations

import json
import re

from starlette.requests import Request

from app.errors import BadRequest, BodyTooLarge

JSON_BODY_LIMIT = 64 * 1024


def declared_length(request: Request) -> int | None:
    """The Content-Length a request declares, when it is one (ASCII digits only)."""
    length = request.headers.get("content-length", "")
    return int(length) if re.fullmatch(r"[0-9]+", length) else None


async def read_capped(request: Request, limit: int = JSON_BODY_LIMIT) -> bytes:
    """The whole body, refused with 413 as soon as it is known to be over `limit` bytes: by its declared length
    before a byte is read, or as it streams (a chunked body declares none)."""
    too_large = BodyTooLarge(f"the request body is larger than the limit of {limit} bytes")
    declared = declared_length(request)
    if declared is not None and declared > limit:
        raise too_large
    body = bytearray()
    async for piece in request.stream():
        body += piece
        if len(body) > limit:
            raise too_large
    return bytes(body)


def parse_json(body: bytes, shape: str) -> object:
    """The JSON a body holds; a body that is not JSON, however it fails, is a 400 naming the problem and the
    `shape` expected (json.loads raises RecursionError past a thousand or so levels of nesting)."""
    try:
        return json.loads(body)
    except RecursionError:
        raise BadRequest("the body's JSON is nested too deeply") from None
    except ValueError as error:  # JSONDecodeError, UnicodeDecodeError
        raise BadRequest(f"the body must be JSON: {shape} ({error})") from None
