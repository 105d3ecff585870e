"""Accounts in the database: created with a hashed password, unique by name, checked safely."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import text

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
        (" ops ", "long-password-1", "an account named 'ops' already exists"),
        (
            "OPS",
            "long-password-1",
            "an account named 'ops' already exists; names that differ only in case are one name",
        ),
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


def test_two_processes_adding_one_name_at_once_make_one_account_and_tell_the_other_it_exists(pg: Database) -> None:
    # The second add looks before the first commits, finds no such account, and inserts: PostgreSQL's unique
    # index holds that insert until the first commits, then refuses it.
    outcome: list[object] = []

    def second() -> None:
        try:
            with pg.write() as session:
                add_account(session, "ops", "long-password-2", Role.IMPORTER)
        except Exception as error:  # whatever it is, the test shows it
            outcome.append(error)

    with pg.write() as session:
        add_account(session, "ops", "long-password-1", Role.ADMIN)
        racing = threading.Thread(target=second)
        racing.start()
        _wait_for_a_blocked_insert(pg)
    racing.join(timeout=30)

    assert [type(error) for error in outcome] == [AccountError]
    assert str(outcome[0]) == "an account named 'ops' already exists"
    with pg.read() as session:
        account = find_account(session, "ops")
        assert count_accounts(session) == 1
    assert account is not None and account.role == Role.ADMIN.value


def _wait_for_a_blocked_insert(db: Database) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with db.engine.connect() as connection:
            if connection.execute(text("SELECT count(*) FROM pg_locks WHERE NOT granted")).scalar_one():
                return
        time.sleep(0.02)
    raise AssertionError("the second add never waited for the first")
