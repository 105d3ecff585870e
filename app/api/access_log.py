"""uvicorn's access log keeps each request's path and query, never an API token sent in them by mistake.

A token in the URL is refused (400, app.api.auth), but uvicorn has logged the request line by then: the log
would keep a live token for anyone who reads it.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, quote

from app.api.auth import TOKEN_QUERY_NAMES
from app.tokens import TOKEN_PREFIX

REDACTED = "[redacted]"
_TOKEN_LIKE = re.compile(re.escape(TOKEN_PREFIX) + r"[A-Za-z0-9_-]{20,}")
_TARGET_ARG = 2  # uvicorn.access logs (client, method, path with query, http version, status)


def _secret(name: str, value: str) -> bool:
    return name in TOKEN_QUERY_NAMES or _TOKEN_LIKE.search(value) is not None


def redacted_target(target: str) -> str:
    """The request target with every token-like text, and every value of a token parameter, replaced."""
    path, separator, query = target.partition("?")
    path = _TOKEN_LIKE.sub(TOKEN_PREFIX + REDACTED, path)
    if not separator:
        return path
    pairs = parse_qsl(query, keep_blank_values=True)
    if not any(_secret(name, value) for name, value in pairs):
        return f"{path}?{query}"
    shown = "&".join(
        f"{quote(name, safe='')}={REDACTED if _secret(name, value) else quote(value, safe='')}" for name, value in pairs
    )
    return f"{path}?{shown}"


class TokenRedaction(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) > _TARGET_ARG:
            target = args[_TARGET_ARG]
            if isinstance(target, str):
                record.args = (*args[:_TARGET_ARG], redacted_target(target), *args[_TARGET_ARG + 1 :])
        return True


def redact_access_log() -> None:
    """Once per process: uvicorn has set up its loggers by the time the application starts."""
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(existing, TokenRedaction) for existing in access.filters):
        access.addFilter(TokenRedaction())
