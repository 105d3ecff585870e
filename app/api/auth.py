"""HTTP Basic authentication: argon2id checks, remembered briefly so that polling stays cheap."""

from __future__ import annotations

import base64
import binascii
import logging

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from app.accounts import CredentialCache, Principal, check_password, find_account, principal_of
from app.errors import Unauthorized
from app.runtime import Runtime

logger = logging.getLogger(__name__)


def _basic_credentials(request: Request) -> tuple[str, str]:
    header = request.headers.get("authorization", "")
    scheme, _, encoded = header.partition(" ")
    if scheme.lower() != "basic" or not encoded:
        raise Unauthorized("authentication required: send HTTP Basic credentials (curl --user NAME)")
    try:
        decoded = base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        raise Unauthorized("the Authorization header is not valid HTTP Basic") from None
    username, separator, password = decoded.partition(":")
    if not separator:
        raise Unauthorized("the Authorization header is not valid HTTP Basic")
    return username, password


async def authenticate(request: Request) -> Principal:
    runtime: Runtime = request.app.state.runtime
    cache: CredentialCache = request.app.state.credentials
    username, password = _basic_credentials(request)

    def lookup() -> Principal | None:
        with runtime.db.read() as session:
            account = find_account(session, username)
        if account is not None and cache.holds(username, password, account.password_hash):
            return principal_of(account)
        if not check_password(account, password):
            return None
        assert account is not None
        cache.remember(username, password, account.password_hash)
        return principal_of(account)

    principal = await run_in_threadpool(lookup)
    if principal is None:
        client = request.client.host if request.client else "-"
        logger.warning("auth.failed username=%r client=%s", username[:150], client)
        raise Unauthorized("wrong username or password")
    return principal
