"""Whether an error means the disk is full: the uploads folder's (ENOSPC, a quota), or the database's (SQLite's
SQLITE_FULL, PostgreSQL's disk_full)."""

from __future__ import annotations

import errno
import sqlite3

from sqlalchemy.exc import DBAPIError

from app.errors import InsufficientStorage

_FULL_ERRNOS = frozenset({errno.ENOSPC, errno.EDQUOT})
_POSTGRESQL_DISK_FULL = "53100"


def full_disk_reason(error: BaseException) -> str | None:
    """What the system said of the full disk, in words fit for a client (never a path); None for any other error."""
    if isinstance(error, OSError) and error.errno in _FULL_ERRNOS:
        return error.strerror or "no space left on device"
    if isinstance(error, DBAPIError):
        cause = error.orig
        if isinstance(cause, sqlite3.Error) and cause.sqlite_errorcode == sqlite3.SQLITE_FULL:
            return "database or disk is full"
        if getattr(cause, "sqlstate", None) == _POSTGRESQL_DISK_FULL:  # its message names the file it extended
            return "the database's disk is full"
    return None


def storage_full(reason: str) -> InsufficientStorage:
    """The answer to a request a full disk refused: nothing of it was kept."""
    return InsufficientStorage(
        f"the service's disk is full ({reason}), so nothing of this request was kept: free some space where the "
        "service keeps its files (IMPORTER_DATA_DIR, or the database's disk), then send it again"
    )
