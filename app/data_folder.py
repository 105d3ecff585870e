"""The embedded default's data folder holds password hashes, token hashes, customers' data and uploads: it and
every file the service writes are its owner's alone, whatever the umask of the shell that started it; and whether
its files (its folder, SQLite files and uploads folder) can be written."""

from __future__ import annotations

import logging
import os
import stat
import tempfile
from pathlib import Path

from sqlalchemy.engine import make_url

from app.settings import Settings

logger = logging.getLogger(__name__)

PRIVATE_UMASK = 0o077


def keep_files_private() -> None:
    """Every file and folder this process (and those it starts) creates from now on: readable by its owner alone."""
    os.umask(PRIVATE_UMASK)


def prepare_data_dir(path: Path) -> None:
    """The folder, created for its owner alone; one an earlier version left open to others is closed to them."""
    path.mkdir(mode=0o700, parents=True, exist_ok=True)
    found = path.stat()
    mode = stat.S_IMODE(found.st_mode)
    if mode & 0o077 and found.st_uid == os.getuid():
        path.chmod(mode & 0o700)
        logger.warning("data_dir.closed_to_others path=%s mode_was=%o", path, mode)


def _files_of(settings: Settings) -> list[Path]:
    """Every folder and file a process of these settings writes, of those that exist already."""
    paths = [settings.data_dir] if settings.uses_data_dir else []
    for url in (settings.database_url, settings.broker_url):
        if url.startswith("sqlite") and (database := make_url(url).database):
            file = Path(database)
            paths += [file.parent, file, file.with_name(file.name + "-wal"), file.with_name(file.name + "-shm")]
    if settings.upload_storage == "local":
        paths += [settings.uploads_dir, settings.data_dir / "assets"]
    return [path for path in dict.fromkeys(paths) if path.exists()]


def unwritable(settings: Settings) -> str | None:
    """What of the embedded default's files cannot be written, and why ('importer.db: Read-only file system'); None
    when everything can. Nothing is written to try: a file is opened for writing, a folder gets a temporary file."""
    for path in _files_of(settings):
        try:
            if path.is_dir():
                with tempfile.TemporaryFile(dir=path):
                    pass
            else:
                path.open("r+b").close()
        except OSError as error:
            return f"{path}: {error.strerror or type(error).__name__}"
    return None
