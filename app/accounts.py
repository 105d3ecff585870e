"""Accounts, roles and password checks (argon2id), with a short-lived memory of successful checks."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import DateTime, String, Text, func
from sqlalchemy.exc import IntegrityError
from sqlmodel import Field, Session, SQLModel, select

from app.errors import AccountError
from app.jobs import utcnow
from specifications import ImportType

_hasher = PasswordHasher()  # argon2id with the library's recommended cost
# Checked against when the user is unknown, so that a miss costs as much as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))
MIN_PASSWORD_LENGTH = 8


class Role(StrEnum):
    ADMIN = "admin"
    IMPORTER = "importer"
    VIEWER = "viewer"


class Account(SQLModel, table=True):
    __tablename__ = "account"

    id: int | None = Field(default=None, primary_key=True)
    username: str = Field(sa_type=String(150), unique=True)
    password_hash: str = Field(sa_type=Text)
    role: str = Field(sa_type=String(20))
    import_types: str | None = Field(default=None, sa_type=String(200))
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))
    updated_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


@dataclass(frozen=True)
class Principal:
    """The authenticated caller of a request."""

    account_id: int
    username: str
    role: Role
    import_types: frozenset[str] | None

    def may_import(self, import_type: str) -> bool:
        if self.role is Role.VIEWER:
            return False
        return self.import_types is None or import_type in self.import_types


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(password_hash: str, password: str) -> bool:
    try:
        return _hasher.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def validate_username(username: str) -> str:
    name = username.strip()
    if not name or len(name) > 150 or ":" in name or any(ch.isspace() for ch in name):
        raise AccountError("a username is 1 to 150 characters, with no spaces and no ':'")
    return name


def _check_password_length(password: str) -> None:
    if len(password) < MIN_PASSWORD_LENGTH:
        raise AccountError(f"a password needs at least {MIN_PASSWORD_LENGTH} characters")


def add_account(
    session: Session, username: str, password: str, role: Role, import_types: frozenset[str] | None = None
) -> Account:
    name = validate_username(username)
    _check_password_length(password)
    if import_types and role is not Role.IMPORTER:
        raise AccountError(
            f"--types limits an importer; an {role.value} imports every type" if role is Role.ADMIN
            else f"--types limits an importer; a {role.value} imports nothing"
        )  # fmt: skip
    unknown = sorted((import_types or frozenset()) - {kind.value for kind in ImportType})
    if unknown:
        valid = ", ".join(kind.value for kind in ImportType)
        raise AccountError(f"unknown import type {unknown[0]!r}; valid import types are {valid}")
    _refuse_taken(session, name)
    account = Account(
        username=name,
        password_hash=hash_password(password),
        role=role.value,
        import_types=",".join(sorted(import_types)) if import_types else None,
    )
    session.add(account)
    try:
        session.flush()
    except IntegrityError:  # another process added the name between the look above and this insert
        raise AccountError(f"an account named {name!r} already exists") from None
    return account


def _refuse_taken(session: Session, name: str) -> None:
    """A name already taken, also in another case ('Ops' beside 'ops'): two accounts told apart only by case
    would read as one in the audit trail, in sandboxes' createdBy and in every log line naming an account."""
    folded = name.casefold()
    taken = next((other for other in session.exec(select(Account.username)) if other.casefold() == folded), None)
    if taken == name:
        raise AccountError(f"an account named {name!r} already exists")
    if taken is not None:
        raise AccountError(f"an account named {taken!r} already exists; names that differ only in case are one name")


def set_password(session: Session, username: str, password: str) -> Account:
    """A new password for an account: the old one stops matching at once, in every process (see CredentialCache)."""
    _check_password_length(password)
    account = find_account(session, username.strip())
    if account is None:
        raise AccountError(f"no account named {username.strip()!r}")
    account.password_hash = hash_password(password)
    account.updated_at = utcnow()
    session.add(account)
    return account


def count_accounts(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(Account)).one())


def find_account(session: Session, username: str) -> Account | None:
    if "\x00" in username:  # no account is named so, and PostgreSQL text cannot hold it (an error, not a miss)
        return None
    return session.exec(select(Account).where(Account.username == username)).first()


def principal_of(account: Account) -> Principal:
    assert account.id is not None
    types = frozenset(account.import_types.split(",")) if account.import_types else None
    return Principal(account.id, account.username, Role(account.role), types)


class CredentialCache:
    """Remembers successful password checks while they are in use.

    Entries are keyed by an HMAC of user and password under a per-process random key, so the
    password itself is never kept; an entry also holds the password hash it was checked against,
    so a changed or removed account stops matching as soon as it is read again. Within
    `recheck_seconds` of a read, `principal` answers without reading the account at all: what makes
    a poll cheap.
    """

    def __init__(self, ttl_seconds: float, max_entries: int = 10_000, recheck_seconds: float = 1.0) -> None:
        self._ttl = ttl_seconds
        self._max = max_entries
        self._recheck = recheck_seconds
        self._key = secrets.token_bytes(32)
        self._entries: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._principals: dict[bytes, tuple[Principal, float]] = {}
        self._lock = threading.Lock()

    def principal(self, username: str, password: str) -> Principal | None:
        """The account of a credential checked and read within the last `recheck_seconds`, if any."""
        digest = self._digest(username, password)
        with self._lock:
            found = self._principals.get(digest)
        if found is None or found[1] < time.monotonic():
            return None
        return found[0]

    def read(self, username: str, password: str, principal: Principal) -> None:
        """The account was just read and the credential holds for it."""
        if self._ttl <= 0:
            return
        digest = self._digest(username, password)
        with self._lock:
            if len(self._principals) >= self._max:
                self._principals.clear()
            self._principals[digest] = (principal, time.monotonic() + min(self._recheck, self._ttl))

    def _digest(self, username: str, password: str) -> bytes:
        message = username.encode() + b"\x00" + password.encode()
        return hmac.new(self._key, message, hashlib.sha256).digest()

    def holds(self, username: str, password: str, password_hash: str) -> bool:
        """Whether this credential was checked against this very hash within `ttl` of its last use.

        Each use extends the entry: a script polling all day is checked once (argon2id takes 64 MiB
        a check), and a changed password still stops matching at once, since the hash differs.
        """
        digest = self._digest(username, password)
        now = time.monotonic()
        with self._lock:
            entry = self._entries.get(digest)
            if entry is None or entry[1] <= now or not hmac.compare_digest(entry[0], password_hash):
                return False
            self._entries[digest] = (entry[0], now + self._ttl)
            self._entries.move_to_end(digest)
        return True

    def remember(self, username: str, password: str, password_hash: str) -> None:
        if self._ttl <= 0:
            return
        digest = self._digest(username, password)
        with self._lock:
            self._entries[digest] = (password_hash, time.monotonic() + self._ttl)
            self._entries.move_to_end(digest)
            while len(self._entries) > self._max:
                self._entries.popitem(last=False)


def check_password(account: Account | None, password: str) -> bool:
    """Constant-time in effect: an unknown user costs one argon2 check, like a wrong password."""
    if account is None:
        verify_password(_DUMMY_HASH, password)
        return False
    return verify_password(account.password_hash, password)
