"""UploadStorage: where uploads (and rows derived from them) live, on local disk or in the database."""

from __future__ import annotations

import io
import os
import re
import uuid
from collections import deque
from collections.abc import Collection
from concurrent.futures import Future, ThreadPoolExecutor
from datetime import datetime
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from sqlalchemy import DateTime, LargeBinary, Select, String, Table, case, delete, func, insert, text
from sqlalchemy import select as sql_select
from sqlmodel import Field, Session, SQLModel, col, select

from app.db import Database
from app.errors import UploadMissing
from app.jobs import utcnow

_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,199}$")


UPLOAD_PREFIX = "upload-"


def new_upload_key() -> str:
    return f"{UPLOAD_PREFIX}{uuid.uuid4().hex}"


def _upload_of(key: str) -> str:
    """The upload a stored key belongs to: itself, or the upload whose rows (`{upload}.rows-...`) or unfinished
    file (`.part`) it holds."""
    return key.split(".", 1)[0]


def _checked(key: str) -> str:
    if not _KEY.match(key) or ".." in key:
        raise ValueError(f"not a storage key: {key!r}")
    return key


class UploadWriter(Protocol):
    def write(self, data: bytes) -> None: ...

    def readable(self) -> int:
        """How many of the bytes written so far other processes can already read with `read_range`."""
        ...

    def close(self) -> int:
        """Finish the upload and return its size in bytes."""
        ...

    def discard(self) -> None: ...


class UploadStorage(Protocol):
    def create(self, key: str) -> UploadWriter: ...

    def open(self, key: str) -> BinaryIO:
        """A buffered stream over the whole upload, from its first byte."""
        ...

    def read_range(self, key: str, start: int, end: int) -> bytes: ...

    def exists(self, key: str) -> bool: ...

    def delete(self, key: str) -> None: ...

    def purge_older_than(self, cutoff: datetime, keep: Collection[str] = ()) -> int:
        """Delete what was stored before `cutoff`, but for the uploads named in `keep` and the files derived from
        them (their rows, `{key}.rows-...`); returns how many were deleted."""
        ...


# --- local folder (the embedded default) -------------------------------------------------------


class _LocalWriter:
    def __init__(self, path: Path) -> None:
        self._path = path
        self._partial = path.with_name(path.name + ".part")
        self._file = self._partial.open("wb")
        self._size = 0
        self._closed = False

    def write(self, data: bytes) -> None:
        self._file.write(data)
        self._size += len(data)

    def readable(self) -> int:
        self._file.flush()
        return self._size

    def close(self) -> int:
        self._file.close()
        os.replace(self._partial, self._path)
        self._closed = True
        return self._size

    def discard(self) -> None:
        """Delete what this writer stored, finished or not: an upload cancelled as its close ended (the service
        stopping) is discarded after it."""
        self._file.close()
        self._partial.unlink(missing_ok=True)
        if self._closed:
            self._path.unlink(missing_ok=True)


class LocalUploadStorage:
    """Uploads as files in one folder: for a single machine, where API and workers share a disk."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)

    def _path(self, key: str) -> Path:
        return self.folder / _checked(key)

    def create(self, key: str) -> UploadWriter:
        return _LocalWriter(self._path(key))

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError:
            raise UploadMissing(key) from None

    def read_range(self, key: str, start: int, end: int) -> bytes:
        """Bytes of a finished file, or of one still being written (its `.part`, up to what it flushed);
        the file is looked for again should it be finished between the two looks."""
        path = self._path(key)
        for candidate in (path, path.with_name(path.name + ".part"), path):
            try:
                with candidate.open("rb") as file:
                    file.seek(start)
                    return file.read(end - start)
            except FileNotFoundError:
                continue
        raise UploadMissing(key)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def delete(self, key: str) -> None:
        self._path(key).unlink(missing_ok=True)

    def purge_older_than(self, cutoff: datetime, keep: Collection[str] = ()) -> int:
        removed = 0
        for path in self.folder.iterdir():
            if _upload_of(path.name) in keep:
                continue
            if path.is_file() and path.stat().st_mtime < cutoff.timestamp():
                path.unlink(missing_ok=True)
                removed += 1
        return removed


# --- database blocks (production: every machine reads the same uploads) --------------------------


class StoredUpload(SQLModel, table=True):
    __tablename__ = "upload"

    key: str = Field(sa_type=String(200), primary_key=True)
    size: int
    block_bytes: int
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class UploadBlock(SQLModel, table=True):
    __tablename__ = "upload_block"

    key: str = Field(sa_type=String(200), primary_key=True)
    block_no: int = Field(primary_key=True)
    data: bytes = Field(sa_type=LargeBinary)
    created_at: datetime = Field(default_factory=utcnow, sa_type=DateTime(timezone=True))


class _DatabaseWriter:
    """Stores full blocks as they come; on PostgreSQL two at a time, each numbered when it is cut.

    250 blocks of 1 MiB took 1.43 s from one writer, and two such uploads at once 1.47 s: the database
    stores two blocks as fast as one, and an upload spent most of its time waiting for them. The calls
    to write() come one after another, so the blocks are cut and numbered in order; only their stores
    overlap. readable() counts the blocks stored without a gap from the first."""

    def __init__(self, db: Database, key: str, block_bytes: int) -> None:
        self._db = db
        self._key = key
        self._block_bytes = block_bytes
        self._buffer = bytearray()
        self._blocks = 0  # blocks cut and numbered
        self._size = 0
        self._at_once = 2 if db.is_postgresql else 1
        self._storing: deque[Future[None]] = deque()  # blocks being stored, oldest first
        self._stored = 0  # blocks stored without a gap from the first
        self._pool: ThreadPoolExecutor | None = None
        self._closed = False

    def write(self, data: bytes) -> None:
        self._size += len(data)
        if not self._buffer and len(data) == self._block_bytes:  # a block as the API cuts them: stored as it is
            self._store(data)
            return
        self._buffer += data
        while len(self._buffer) >= self._block_bytes:
            self._store(bytes(self._buffer[: self._block_bytes]))
            del self._buffer[: self._block_bytes]

    def readable(self) -> int:
        """The blocks stored, all full: a part-filled block is stored only by close()."""
        while self._storing and self._storing[0].done():
            self._count_oldest()
        return self._stored * self._block_bytes

    def _count_oldest(self) -> None:
        """Wait for the oldest block being stored and count it; its error, if any, is raised here."""
        self._storing.popleft().result()
        self._stored += 1

    def _store(self, block: bytes) -> None:
        """Store the next block, at most `_at_once` at a time; an earlier store's error is raised here."""
        number = self._blocks
        self._blocks += 1
        if self._at_once == 1:
            self._insert(number, block)
            self._stored += 1
            return
        while len(self._storing) >= self._at_once:
            self._count_oldest()
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self._at_once, thread_name_prefix="upload-blocks")
        self._storing.append(self._pool.submit(self._insert, number, block))

    def _insert(self, number: int, block: bytes) -> None:
        with self._db.write() as session:
            if self._db.is_postgresql:
                # No block waits for its own WAL flush: the upload exists once close() commits its
                # StoredUpload row, and that commit flushes the WAL up to it, every block included.
                session.execute(text("SET LOCAL synchronous_commit TO OFF"))
            row = {"key": self._key, "block_no": number, "data": block, "created_at": utcnow()}
            session.execute(insert(UploadBlock).values(row))

    def _settle(self, raise_errors: bool) -> None:
        """Wait for every block being stored; the first error is raised unless told not to."""
        try:
            while self._storing:
                try:
                    self._count_oldest()
                except Exception:
                    if raise_errors:
                        raise
        finally:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
                self._pool = None

    def close(self) -> int:
        self._settle(raise_errors=True)
        if self._buffer:
            self._insert(self._blocks, bytes(self._buffer))
            self._blocks += 1
            self._buffer.clear()
        with self._db.write() as session:
            session.add(StoredUpload(key=self._key, size=self._size, block_bytes=self._block_bytes))
        self._closed = True
        return self._size

    def discard(self) -> None:
        """Delete what this writer stored, its upload row too once closed (see _LocalWriter.discard)."""
        self._settle(raise_errors=False)  # a block stored after the delete below would stay for good
        with self._db.write() as session:
            session.execute(delete(UploadBlock).where(col(UploadBlock.key) == self._key))
            if self._closed:
                session.execute(delete(StoredUpload).where(col(StoredUpload.key) == self._key))


_BLOCKS: Table = UploadBlock.__table__  # type: ignore[attr-defined]


def _byte_values(session: Session, query: Select[Any]) -> list[bytes]:
    """The one column of a query's rows. PostgreSQL sends them in binary: as text, bytea travels hex
    encoded, twice the bytes, and encoding and decoding it made reading 1 MiB blocks 4x slower."""
    connection = session.connection()
    if connection.dialect.name != "postgresql":
        return [bytes(value) for value in connection.execute(query).scalars()]
    compiled = query.compile(dialect=connection.dialect)
    driver = connection.connection.driver_connection
    assert driver is not None
    with driver.cursor(binary=True) as cursor:
        cursor.execute(str(compiled), compiled.params)
        return [bytes(row[0]) for row in cursor.fetchall()]


class _BlockStream(io.RawIOBase):
    """Reads an upload's blocks one at a time, so memory holds one block whatever the size."""

    def __init__(self, storage: DatabaseUploadStorage, key: str) -> None:
        self._storage = storage
        self._key = key
        self._next_block = 0
        self._pending = b""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: bytearray | memoryview) -> int:  # type: ignore[override]
        if not self._pending:
            self._pending = self._storage.block(self._key, self._next_block)
            self._next_block += 1
        count = min(len(buffer), len(self._pending))
        buffer[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count


class DatabaseUploadStorage:
    """Uploads as bounded blocks in the database, reachable from every machine."""

    def __init__(self, db: Database, block_bytes: int) -> None:
        self._db = db
        self._block_bytes = block_bytes

    def create(self, key: str) -> UploadWriter:
        return _DatabaseWriter(self._db, _checked(key), self._block_bytes)

    def block(self, key: str, block_no: int) -> bytes:
        blocks = _BLOCKS.c
        with self._db.read() as session:
            data = _byte_values(session, sql_select(blocks.data).where(blocks.key == key, blocks.block_no == block_no))
        return data[0] if data else b""

    def open(self, key: str) -> BinaryIO:
        return io.BufferedReader(_BlockStream(self, _checked(key)), buffer_size=self._block_bytes)

    def read_range(self, key: str, start: int, end: int) -> bytes:
        with self._db.read() as session:
            size = self._block_size(session, _checked(key))
            first, last = start // size, max(start, end - 1) // size
            # Only the bytes asked for leave the database: the first and last blocks are cut there (a
            # compressed block is then decompressed only as far as the cut), not in this process.
            blocks = _BLOCKS.c
            skip = case((blocks.block_no == first, start - first * size), else_=0)
            stop = case((blocks.block_no == last, end - last * size), else_=size)
            pieces = _byte_values(
                session,
                sql_select(func.substr(blocks.data, skip + 1, stop - skip))
                .where(blocks.key == key, blocks.block_no.between(first, last))
                .order_by(blocks.block_no),
            )
            return b"".join(pieces)

    def _block_size(self, session: Session, key: str) -> int:
        """The key's block size: from its upload row once it is finished, or while it is still being
        written, from its first block (blocks are stored full until the last)."""
        stored = session.get(StoredUpload, key)
        if stored is not None:
            return stored.block_bytes
        blocks = _BLOCKS.c
        first = session.execute(
            sql_select(func.length(blocks.data)).where(blocks.key == key, blocks.block_no == 0)
        ).scalar()
        if not first:
            raise UploadMissing(key)
        return int(first)

    def exists(self, key: str) -> bool:
        with self._db.read() as session:
            return session.get(StoredUpload, _checked(key)) is not None

    def delete(self, key: str) -> None:
        with self._db.write() as session:
            session.execute(delete(UploadBlock).where(col(UploadBlock.key) == key))
            session.execute(delete(StoredUpload).where(col(StoredUpload.key) == key))

    def purge_older_than(self, cutoff: datetime, keep: Collection[str] = ()) -> int:
        with self._db.write() as session:
            expired = (col(StoredUpload.created_at) < cutoff) & col(StoredUpload.key).startswith(UPLOAD_PREFIX)
            found = session.execute(select(col(StoredUpload.key)).where(expired)).scalars()
            keys = [key for key in found if _upload_of(key) not in keep]
            if keys:
                session.execute(delete(UploadBlock).where(col(UploadBlock.key).in_(keys)))
                session.execute(delete(StoredUpload).where(col(StoredUpload.key).in_(keys)))
        return len(keys)


__all__ = [
    "DatabaseUploadStorage",
    "LocalUploadStorage",
    "StoredUpload",
    "UploadBlock",
    "UploadStorage",
    "UploadWriter",
    "new_upload_key",
]
