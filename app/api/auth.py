"""Authentication: HTTP Basic (argon2id checks, remembered briefly so that polling stays cheap) or an API token.

Every authenticated request is then counted against its account's rate (app.api.limits).
"""

from __future__ import annotations

import asyncio
import base64
import binascii
import hashlib
import logging
import threading
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from app import tokens
from app.accounts import Account, CredentialCache, Principal, check_password, find_account, principal_of
from app.errors import BadRequest, Unauthorized
from app.runtime import Runtime

if TYPE_CHECKING:
    from app.api.limits import AccessLimits

logger = logging.getLogger(__name__)

# Query parameters that clients use for tokens; a token in a URL ends up in logs and histories.
TOKEN_QUERY_NAMES = ("token", "access_token", "api_key")
MAX_USERNAME = 150
_background: set[asyncio.Task[None]] = set()


def client_address(request: Request) -> str:
    """The caller's address as uvicorn reports it (X-Forwarded-For only from IMPORTER_TRUSTED_PROXIES)."""
    return request.client.host if request.client else "-"


def _refuse_token_in_url(request: Request) -> None:
    named = [name for name in TOKEN_QUERY_NAMES if name in request.query_params]
    if named:
        logger.warning("auth.token_in_url parameter=%s client=%s", named[0], client_address(request))
        raise BadRequest(
            f"an API token is never accepted in the URL ('{named[0]}' in the query string): "
            "send it in the Authorization header, as 'Authorization: Bearer TOKEN'"
        )


def _credentials(request: Request) -> tuple[str, str]:
    """The scheme (basic or bearer) and what follows it in the Authorization header."""
    scheme, _, value = request.headers.get("authorization", "").strip().partition(" ")
    if scheme.lower() not in ("basic", "bearer") or not value.strip():
        raise Unauthorized(
            "authentication required: send HTTP Basic credentials (curl --user NAME) "
            "or an API token (Authorization: Bearer TOKEN)"
        )
    return scheme.lower(), value.strip()


def _basic_credentials(encoded: str) -> tuple[str, str]:
    try:
        decoded = base64.b64decode(encoded, validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError, ValueError):  # ValueError: bytes past ASCII in the header
        raise Unauthorized("the Authorization header is not valid HTTP Basic") from None
    username, separator, password = decoded.partition(":")
    if not separator:
        raise Unauthorized("the Authorization header is not valid HTTP Basic")
    return username[:MAX_USERNAME], password


# argon2id takes ~64 MiB per check: two at a time bound the API's memory (the checks wait their turn on the event
# loop, app.api.limits.PasswordChecks; this bounds them again), and one credential checked by many requests at
# once is checked once (the others find it in the cache).
_ARGON2_SLOTS = threading.BoundedSemaphore(2)
_CREDENTIAL_LOCKS = tuple(threading.Lock() for _ in range(64))


def _credential_digest(username: str, password: str) -> bytes:
    return hashlib.blake2b(f"{username}\0{password}".encode(), digest_size=8).digest()


def _credential_lock(username: str, password: str) -> threading.Lock:
    digest = _credential_digest(username, password)
    return _CREDENTIAL_LOCKS[int.from_bytes(digest, "big") % len(_CREDENTIAL_LOCKS)]


async def _password_principal(request: Request, encoded: str) -> Principal:
    runtime: Runtime = request.app.state.runtime
    cache: CredentialCache = request.app.state.credentials
    limits: AccessLimits = request.app.state.limits
    username, password = _basic_credentials(encoded)
    address = client_address(request)
    recent = cache.principal(username, password)
    if recent is not None:  # read within the last second: no database, no thread
        limits.refuse_if_locked_out(username, address)
        return recent

    def remembered() -> tuple[Account | None, Principal | None]:
        """The account, and its principal when this credential was checked against it lately."""
        with runtime.db.read() as session:
            account = find_account(session, username)
        if account is not None and cache.holds(username, password, account.password_hash):
            limits.refuse_if_locked_out(username, address)  # a remembered check counts as no attempt
            principal = principal_of(account)
            cache.read(username, password, principal)
            return account, principal
        return account, None

    def checked(account: Account | None) -> Principal | None:
        with _credential_lock(username, password):
            if account is not None and cache.holds(username, password, account.password_hash):
                return principal_of(account)
            limits.begin_login(username, address)
            with _ARGON2_SLOTS:
                verified = check_password(account, password)
            if not verified:
                return None
            assert account is not None
            cache.remember(username, password, account.password_hash)
            limits.succeeded_login(username, address)
            principal = principal_of(account)
            cache.read(username, password, principal)
            return principal

    account, principal = await run_in_threadpool(remembered)
    if principal is not None:
        return principal
    async with limits.password_checks.slot(address, _credential_digest(username, password)):
        principal = await run_in_threadpool(checked, account)
    if principal is None:
        limits.failed_login(username, address)
        raise Unauthorized("wrong username or password")
    return principal


def _record_token_use(runtime: Runtime, token_id: int) -> None:
    # Runs after the answer is on its way: a failure here must not reach any request.
    try:
        with runtime.db.write() as session:
            tokens.record_use(session, token_id)
    except Exception:
        logger.exception("auth.token_use_not_recorded token_id=%s", token_id)


async def _token_principal(request: Request, token: str) -> Principal:
    runtime: Runtime = request.app.state.runtime

    def lookup() -> tuple[tokens.ApiToken, Principal] | None:
        with runtime.db.read() as session:
            found = tokens.find_token(session, token)
        return None if found is None else (found[0], principal_of(found[1]))

    found = await run_in_threadpool(lookup)
    if found is None:
        logger.warning("auth.token_refused client=%s", client_address(request))
        raise Unauthorized("the API token is not valid: it is unknown or was revoked")
    row, principal = found
    if row.id is not None and tokens.use_is_unrecorded(row):
        # On SQLite a write may wait for a long merge; the request should not wait with it.
        task = asyncio.get_running_loop().create_task(run_in_threadpool(_record_token_use, runtime, row.id))
        _background.add(task)
        task.add_done_callback(_background.discard)
    return principal


async def authenticate(request: Request) -> Principal:
    """The caller's account; once per request, however many times it is asked."""
    known = getattr(request.state, "principal", None)
    if isinstance(known, Principal):
        return known
    _refuse_token_in_url(request)
    scheme, value = _credentials(request)
    if scheme == "bearer":
        principal = await _token_principal(request, value)
    else:
        principal = await _password_principal(request, value)
    limits: AccessLimits = request.app.state.limits
    limits.take_request(principal)
    request.state.principal = principal
    return principal
