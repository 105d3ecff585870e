"""What the embedded default keeps on disk as it lives on: a large import's transaction does not leave its size
behind in the database's write-ahead log."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import insert

from app.db import SQLITE_WAL_LIMIT_BYTES, Database
from app.storage import UploadBlock


def test_the_write_ahead_log_shrinks_back_after_a_large_transaction(tmp_path: Path) -> None:
    db = Database(f"sqlite:///{tmp_path / 'importer.db'}")
    db.create_schema()
    wal = tmp_path / "importer.db-wal"
    block = b"x" * (1 << 20)
    try:
        with db.write() as session:  # as the merge of a million rows does, in one transaction
            for number in range(SQLITE_WAL_LIMIT_BYTES // len(block) + 32):
                session.execute(insert(UploadBlock).values(key="upload-large", block_no=number, data=block))
        peak = wal.stat().st_size
        with db.write() as session:  # the service goes on: the next status change, the next chunk
            session.execute(insert(UploadBlock).values(key="upload-small", block_no=0, data=b"y"))

        assert peak > SQLITE_WAL_LIMIT_BYTES
        assert wal.stat().st_size <= SQLITE_WAL_LIMIT_BYTES
    finally:
        db.dispose()
