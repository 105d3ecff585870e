"""Accounts in the database: created with a hashed password, unique by name, checked safely."""

from __future__ import annotations

import pytest

from app.accounts import Role, add_account, check_password, count_accounts, find_account
from app.db import Database
from app.errors import AccountError


def test_an_account_keeps_only_a_hash_of_its_password(database: Database) -> None:
    with database.write() as session:
        add_account(session, "ops", "long-password-1", Role.ADMIN)

    with database.read() as session:
        account = find_account(session, "ops")
        assert count_accounts(session) == 1
    assert account is not None
    assert account.password_hash.startswith("$argon2id$")
    assert check_password(account, "long-password-1")
    assert not check_password(account, "long-password-2")
    assert not check_password(None, "long-password-1")


@pytest.mark.parametrize(
    ("name", "password", "message"),
    [
        ("ops", "long-password-1", "an account named 'ops' already exists"),
        ("new", "short", "a password needs at least 8 characters"),
        ("bad name", "long-password-1", "a username is 1 to 150 characters, with no spaces and no ':'"),
        ("a:b", "long-password-1", "a username is 1 to 150 characters, with no spaces and no ':'"),
    ],
)
def test_an_account_that_cannot_be_made_is_refused_with_the_reason(
    database: Database, name: str, password: str, message: str
) -> None:
    with database.write() as session:
        add_account(session, "ops", "long-password-1", Role.ADMIN)

    with pytest.raises(AccountError) as caught, database.write() as session:
        add_account(session, name, password, Role.IMPORTER)

    assert str(caught.value) == message
