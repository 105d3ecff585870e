"""Runtime: the shared resources of one process (settings, database, storage, queue)."""

from __future__ import annotations

from dataclasses import dataclass

from app.db import Database
from app.jobqueue import JobQueue
from app.settings import Settings
from app.storage import DatabaseUploadStorage, LocalUploadStorage, UploadStorage


@dataclass(frozen=True)
class Runtime:
    settings: Settings
    db: Database
    storage: UploadStorage
    queue: JobQueue
    assets: UploadStorage  # media of ASSET imports, by content; never expires


def build_runtime(settings: Settings, queue: JobQueue) -> Runtime:
    db = Database(settings.database_url)
    storage: UploadStorage
    assets: UploadStorage
    if settings.upload_storage == "database":
        storage = assets = DatabaseUploadStorage(db, settings.upload_block_bytes)
    else:
        storage = LocalUploadStorage(settings.uploads_dir)
        assets = LocalUploadStorage(settings.data_dir / "assets")
    return Runtime(settings, db, storage, queue, assets)
