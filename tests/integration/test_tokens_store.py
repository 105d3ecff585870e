"""API tokens in the database: only a SHA-256 of each is kept; a token finds its account until it is revoked."""

from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlmodel import select

from app.accounts import Role, add_account
from app.db import Database
from app.errors import AccountError
from app.jobs import utcnow
from app.tokens import ApiToken, create_token, find_token, list_tokens, record_use, revoke_token, use_is_unrecorded


def with_accounts(database: Database) -> None:
    with database.write() as session:
        add_account(session, "ci", "long-password-1", Role.IMPORTER, frozenset({"PRODUCT"}))
        add_account(session, "ops", "long-password-2", Role.ADMIN)


def test_a_new_token_is_long_random_prefixed_and_stored_only_as_its_sha256(database: Database) -> None:
    with_accounts(database)

    with database.write() as session:
        row, token = create_token(session, "ci", "nightly feed")
        _, other = create_token(session, "ci")

    assert token.startswith("imp_") and len(token) >= 40 and token != other
    with database.read() as session:
        stored = session.exec(select(ApiToken)).all()
    assert stored[0].token_sha256 == hashlib.sha256(token.encode()).hexdigest()
    assert all(token not in str(saved.model_dump()) for saved in stored)
    assert (row.label, stored[1].label) == ("nightly feed", None)


def test_a_token_finds_its_account_with_its_role_until_it_is_revoked(database: Database) -> None:
    with_accounts(database)
    with database.write() as session:
        row, token = create_token(session, "ci")

    with database.read() as session:
        found = find_token(session, token)
        wrong = [find_token(session, token[:-1] + "x"), find_token(session, "not-a-token"), find_token(session, "")]
    with database.write() as session:
        assert row.id is not None
        revoke_token(session, row.id)
    with database.read() as session:
        revoked = find_token(session, token)

    assert found is not None
    account = found[1]
    assert (account.username, account.role, account.import_types) == ("ci", Role.IMPORTER.value, "PRODUCT")
    assert wrong == [None, None, None]
    assert revoked is None


def test_tokens_are_listed_without_the_token_and_filtered_by_user(database: Database) -> None:
    with_accounts(database)
    with database.write() as session:
        _, first = create_token(session, "ci", "feed")
        create_token(session, "ops", "backup")

    with database.read() as session:
        everyone = list_tokens(session)
        mine = list_tokens(session, "ci")

    assert [(t.username, t.label, t.last_used_at, t.revoked_at) for t in everyone] == [
        ("ci", "feed", None, None),
        ("ops", "backup", None, None),
    ]
    assert [t.username for t in mine] == ["ci"]
    assert first not in repr(everyone)


def test_a_use_is_recorded_at_most_once_a_minute(database: Database) -> None:
    with_accounts(database)
    with database.write() as session:
        row, token = create_token(session, "ci")
    assert row.id is not None and use_is_unrecorded(row)

    with database.write() as session:
        record_use(session, row.id)
    with database.read() as session:
        found = find_token(session, token)

    assert found is not None
    used = found[0]
    assert used.last_used_at is not None
    assert not use_is_unrecorded(used)
    assert use_is_unrecorded(used, now=utcnow() + timedelta(minutes=2))


@pytest.mark.parametrize(
    ("action", "message"),
    [
        ("create", "no account named 'nobody'"),
        ("list", "no account named 'nobody'"),
        ("revoke", "no API token with id 99"),
    ],
)
def test_a_token_command_on_something_unknown_is_refused_with_the_reason(
    database: Database, action: str, message: str
) -> None:
    with_accounts(database)

    with pytest.raises(AccountError) as refused, database.write() as session:
        if action == "create":
            create_token(session, "nobody")
        elif action == "list":
            list_tokens(session, "nobody")
        else:
            revoke_token(session, 99)

    assert str(refused.value) == message


@pytest.mark.parametrize("label", ["feed\n9   ops  forged", "feed\rover", "tab\there", "bell\x07"])
def test_a_label_that_would_break_the_token_list_a_script_reads_is_refused(database: Database, label: str) -> None:
    with_accounts(database)

    with pytest.raises(AccountError) as refused, database.write() as session:
        create_token(session, "ci", label)

    assert str(refused.value) == "a token label is one line of printable characters (no tab, newline or control)"
    with database.read() as session:
        assert list_tokens(session) == []
