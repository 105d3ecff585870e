"""Passwords are hashed with argon2id; a successful check is remembered only briefly and safely."""

from __future__ import annotations

import time

from app.accounts import CredentialCache, hash_password, verify_password


def test_passwords_are_stored_as_argon2id_hashes_that_verify() -> None:
    stored = hash_password("correct horse")

    assert stored.startswith("$argon2id$")
    assert "correct horse" not in stored
    assert verify_password(stored, "correct horse")
    assert not verify_password(stored, "wrong horse")
    assert not verify_password("not-a-hash", "correct horse")


def test_the_cache_holds_a_checked_password_until_it_expires() -> None:
    cache = CredentialCache(ttl_seconds=0.2)
    cache.remember("ops", "s3cret-pass", "$hash1")

    assert cache.holds("ops", "s3cret-pass", "$hash1")
    assert not cache.holds("ops", "other-pass", "$hash1")
    time.sleep(0.25)
    assert not cache.holds("ops", "s3cret-pass", "$hash1")


def test_a_password_in_use_stays_remembered_and_is_forgotten_a_ttl_after_its_last_use() -> None:
    cache = CredentialCache(ttl_seconds=0.5)
    cache.remember("ops", "s3cret-pass", "$hash1")

    for _ in range(4):  # 0.8 s in all, past the ttl, but never 0.5 s without a use
        time.sleep(0.2)
        assert cache.holds("ops", "s3cret-pass", "$hash1")
    time.sleep(0.6)
    assert not cache.holds("ops", "s3cret-pass", "$hash1")


def test_the_cache_forgets_an_entry_when_the_account_password_changes() -> None:
    cache = CredentialCache(ttl_seconds=60)
    cache.remember("ops", "s3cret-pass", "$hash1")

    assert not cache.holds("ops", "s3cret-pass", "$hash2")


def test_the_cache_never_keeps_the_password_itself() -> None:
    cache = CredentialCache(ttl_seconds=60)
    cache.remember("ops", "s3cret-pass", "$hash1")

    assert all(b"s3cret-pass" not in key for key in cache._entries)
