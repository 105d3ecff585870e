"""Upload storage: a local folder and database blocks give back the same bytes, whole or by range; a submit
whose upload cannot be stored is told so, and nothing of it is kept."""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from unittest import mock

import httpx
import pytest
from sqlalchemy import func, text
from sqlmodel import select

from app.db import Database
from app.jobs import utcnow
from app.main import create_app
from app.storage import (
    DatabaseUploadStorage,
    LocalUploadStorage,
    UploadBlock,
    UploadStorage,
    UploadWriter,
    _DatabaseWriter,
)
from tests.integration.in_process_api import PRODUCTS, SUBMIT, jobs, post
from tests.integration.pipeline_driver import make_principal, make_runtime

BODY = os.urandom(10_000) + b"\nend"


@pytest.fixture(params=["local", "database"])
def storage(request: pytest.FixtureRequest, database: Database, tmp_path: Path) -> Iterator[UploadStorage]:
    if request.param == "local":
        yield LocalUploadStorage(tmp_path / "uploads")
    else:
        yield DatabaseUploadStorage(database, block_bytes=4096)


def write(storage: UploadStorage, key: str, body: bytes, piece: int = 1000) -> int:
    writer = storage.create(key)
    for start in range(0, len(body), piece):
        writer.write(body[start : start + piece])
    return writer.close()


def test_an_upload_reads_back_byte_for_byte(storage: UploadStorage) -> None:
    size = write(storage, "upload-a", BODY)

    with storage.open("upload-a") as stream:
        assert stream.read() == BODY
    assert size == len(BODY)


def test_any_byte_range_reads_back_across_block_boundaries(storage: UploadStorage) -> None:
    write(storage, "upload-b", BODY)

    for start, end in [
        (0, 1),
        (4000, 4200),
        (4095, 8193),
        (4096, 8192),
        (8191, 8192),
        (5000, 5000),
        (9000, len(BODY)),
        (0, len(BODY)),
    ]:
        assert storage.read_range("upload-b", start, end) == BODY[start:end]


def test_a_stream_reads_line_by_line(storage: UploadStorage) -> None:
    text = b"".join(b"line %d\n" % n for n in range(2000))
    write(storage, "upload-c", text)

    with storage.open("upload-c") as stream:
        lines = list(stream)

    assert len(lines) == 2000 and lines[1999] == b"line 1999\n"


def test_a_file_still_being_written_reads_back_as_far_as_its_writer_says(storage: UploadStorage) -> None:
    writer = storage.create("upload-f")
    writer.write(BODY)

    # Locally every byte written; in the database the full blocks stored so far, up to two of 4096 bytes
    # (on PostgreSQL two blocks are stored at once, so the count grows while the test reads it).
    expected = len(BODY) if isinstance(storage, LocalUploadStorage) else 8192
    readable, waited = writer.readable(), 0.0
    while readable < expected and waited < 10:
        assert readable in (0, 4096)
        if readable:
            assert storage.read_range("upload-f", 100, readable) == BODY[100:readable]
        time.sleep(0.01)
        readable, waited = writer.readable(), waited + 0.01

    assert readable == expected
    assert storage.read_range("upload-f", 100, readable) == BODY[100:readable]
    writer.close()
    assert storage.read_range("upload-f", 0, len(BODY)) == BODY


def test_blocks_stored_out_of_order_count_as_readable_only_without_a_gap(pg_url: str) -> None:
    # On PostgreSQL two blocks are stored at once: the second may be stored before the first.
    database = Database(pg_url)
    database.create_schema()
    storage = DatabaseUploadStorage(database, block_bytes=4096)
    first_may_go = threading.Event()
    insert = _DatabaseWriter._insert

    def slow_first(writer: _DatabaseWriter, number: int, block: bytes) -> None:
        if number == 0:
            first_may_go.wait(10)
        insert(writer, number, block)

    with mock.patch.object(_DatabaseWriter, "_insert", slow_first):
        writer = storage.create("upload-g")
        writer.write(BODY[:8192])
        for _ in range(1000):  # until the second block is in the database
            if storage.block("upload-g", 1):
                break
            time.sleep(0.01)

        assert storage.block("upload-g", 1) == BODY[4096:8192]
        assert writer.readable() == 0

        first_may_go.set()
        writer.write(BODY[8192:])
        size = writer.close()

    assert size == len(BODY) and writer.readable() == 8192
    with storage.open("upload-g") as stream:
        assert stream.read() == BODY
    database.dispose()


def test_a_discarded_upload_leaves_nothing(storage: UploadStorage) -> None:
    writer = storage.create("upload-d")
    writer.write(BODY)
    writer.discard()

    with pytest.raises(FileNotFoundError):
        storage.read_range("upload-d", 0, 10)


def test_an_upload_discarded_once_closed_leaves_nothing(storage: UploadStorage) -> None:
    writer = storage.create("upload-e")
    writer.write(BODY)
    writer.close()

    writer.discard()

    assert not storage.exists("upload-e")


def test_a_key_cannot_name_a_path_outside_storage(storage: UploadStorage) -> None:
    for key in ["../escape", "/etc/passwd", "a/../../b", ""]:
        with pytest.raises(ValueError, match="not a storage key"):
            storage.create(key)


def test_database_blocks_are_bounded_and_expire_after_retention(database: Database) -> None:
    storage = DatabaseUploadStorage(database, block_bytes=4096)
    write(storage, "upload-e", BODY)

    with database.read() as session:
        sizes = session.exec(select(func.length(UploadBlock.data)).where(UploadBlock.key == "upload-e")).all()
    assert max(sizes) <= 4096 and sum(sizes) == len(BODY)

    assert storage.purge_older_than(utcnow() - timedelta(hours=1)) == 0
    assert storage.purge_older_than(utcnow() + timedelta(seconds=1)) == 1
    with pytest.raises(FileNotFoundError):
        storage.read_range("upload-e", 0, 10)


def test_on_postgresql_upload_blocks_are_compressed_with_lz4_when_the_server_has_it(database: Database) -> None:
    if not database.is_postgresql:
        return  # local uploads are plain files; there is nothing to compress
    storage = DatabaseUploadStorage(database, block_bytes=4096)
    write(storage, "upload-text", b"SKU Number,Product Title\n" * 1000)

    with database.read() as session:
        compressed = "SELECT DISTINCT pg_column_compression(data) FROM upload_block WHERE length(data) >= 4096"
        methods = set(session.execute(text(compressed)).scalars())
        has_lz4 = session.execute(
            text("SELECT 'lz4' = ANY(enumvals) FROM pg_settings WHERE name = 'default_toast_compression'")
        ).scalar()

    assert methods == ({"lz4"} if has_lz4 else {"pglz"})


# --- a submit when the uploads folder cannot take the upload ------------------------------------------------------


class FullDisk(LocalUploadStorage):
    """An uploads folder on a disk that is full: every file written in it goes to /dev/full (ENOSPC)."""

    def create(self, key: str) -> UploadWriter:
        (self.folder / f"{key}.part").symlink_to("/dev/full")
        return super().create(key)


def submitted_to(database: Database, tmp_path: Path, storage: LocalUploadStorage, body: bytes) -> httpx.Response:
    runtime, _ = make_runtime(database, tmp_path)
    make_principal(database, "ops")
    answer = post(create_app(replace(runtime, storage=storage)), SUBMIT, content=body)
    assert jobs(runtime) == []
    return answer


def test_a_submit_whose_uploads_folder_is_gone_gets_507_saying_so_and_records_nothing(
    database: Database, tmp_path: Path
) -> None:
    storage = LocalUploadStorage(tmp_path / "gone")
    storage.folder.rmdir()
    storage.folder.write_bytes(b"")  # a folder replaced by a file, or a mount gone: nothing can be created in it

    answer = submitted_to(database, tmp_path, storage, PRODUCTS)

    assert answer.status_code == 507, answer.text
    assert answer.json() == {
        "error": "InsufficientStorage",
        "detail": "the service could not store the upload (Not a directory): nothing of it was kept; send it again "
        "once the service's operator has seen to it (its log has it as upload.not_stored)",
    }


@pytest.mark.parametrize("size", [100, 3 * 1024 * 1024], ids=["small", "several-blocks"])
def test_a_submit_to_a_full_disk_gets_507_saying_so_and_leaves_nothing(
    database: Database, tmp_path: Path, size: int
) -> None:
    storage = FullDisk(tmp_path / "full")
    body = PRODUCTS + b"G9,t,d,1\n" * (size // 9)

    answer = submitted_to(database, tmp_path, storage, body)

    assert answer.status_code == 507, answer.text
    assert answer.json()["detail"].startswith("the service's disk is full (No space left on device)")
    assert list(storage.folder.iterdir()) == []
