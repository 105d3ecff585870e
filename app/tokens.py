"""API tokens for scripts: long random strings that act as their account, stored only as SHA-256."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import DateTime, String, update
from sqlmodel import Field, Session, SQLModel, col, select

from app.accounts import Account, find_account
from app.errors import AccountError
from app.jobs import utcnow

TOKEN_PREFIX = "imp_"  # noqa: S105 (a prefix that makes a leaked token recognisable, not a secret)
MAX_LABEL = 100
# Recording every use would make each poll a write; once a minute says "in use" well enough.
LAST_USED_RESOLUTION = timedelta(minutes=1)


class ApiToken(SQLModel, table=True):
    __tablename__ = "api_token"

    id: int | None = Field(default=None, primary_key=True)
    account_id: int = Field(foreign_key="account.id", index=True)
    label: str | None = Field(default=None, sa_type=String(MAX_LABEL))
    token_sha256: str = Field(sa_type=String(64), unique=True)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    last_used_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))
    revoked_at: datetime | None = Field(default=None, sa_type=DateTime(timezone=True))


@dataclass(frozen=True)
class TokenListing:
    """What `importer tokens list` shows of a token: never the token itself."""

    id: int
    username: str
    label: str | None
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def create_token(session: Session, username: str, label: str | None = None) -> tuple[ApiToken, str]:
    """A new token for the account: the stored row, and the token (shown once, never stored)."""
    account = find_account(session, username)
    if account is None or account.id is None:
        raise AccountError(f"no account named {username!r}")
    label = label.strip() if label else None
    if label is not None and len(label) > MAX_LABEL:
        raise AccountError(f"a token label is at most {MAX_LABEL} characters")
    if label is not None and not label.isprintable():  # a newline in it would forge a row of `tokens list`
        raise AccountError("a token label is one line of printable characters (no tab, newline or control)")
    token = new_token()
    row = ApiToken(account_id=account.id, label=label or None, token_sha256=token_digest(token))
    session.add(row)
    session.flush()
    return row, token


def find_token(session: Session, token: str) -> tuple[ApiToken, Account] | None:
    """The live token and its account, found by the token's hash; None when unknown or revoked."""
    if not token.startswith(TOKEN_PREFIX):
        return None
    digest = token_digest(token)
    found = session.exec(
        select(ApiToken, Account)
        .join(Account, col(Account.id) == col(ApiToken.account_id))
        .where(ApiToken.token_sha256 == digest)
    ).first()
    if found is None:
        return None
    row, account = found
    if row.revoked_at is not None or not hmac.compare_digest(row.token_sha256, digest):
        return None
    return row, account


def use_is_unrecorded(row: ApiToken, now: datetime | None = None) -> bool:
    """Whether this use should be written down: the last one recorded is older than the resolution."""
    if row.last_used_at is None:
        return True
    last = row.last_used_at
    # SQLite hands back naive datetimes; every time stored here is UTC.
    last = last.replace(tzinfo=UTC) if last.tzinfo is None else last
    return (now or utcnow()) - last >= LAST_USED_RESOLUTION


def record_use(session: Session, token_id: int) -> None:
    session.execute(update(ApiToken).where(col(ApiToken.id) == token_id).values(last_used_at=utcnow()))


def list_tokens(session: Session, username: str | None = None) -> list[TokenListing]:
    query = select(ApiToken, Account.username).join(Account, col(Account.id) == col(ApiToken.account_id))
    if username is not None:
        if find_account(session, username) is None:
            raise AccountError(f"no account named {username!r}")
        query = query.where(Account.username == username)
    return [
        TokenListing(row.id or 0, name, row.label, row.created_at, row.last_used_at, row.revoked_at)
        for row, name in session.exec(query.order_by(col(ApiToken.id))).all()
    ]


def revoke_token(session: Session, token_id: int) -> ApiToken:
    """Revoke a token at once; revoking it again is harmless."""
    row = session.get(ApiToken, token_id)
    if row is None:
        raise AccountError(f"no API token with id {token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        session.add(row)
        session.flush()
    return row
