"""The embedded default's data folder holds password hashes, token hashes, customers' data and uploads: it and
every file the service writes are its owner's alone, whatever the umask of the shell that started it."""

from __future__ import annotations

import logging
import os
import stat
from pathlib import Path

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
