"""ZIP archives from outside, opened with limits: entry count, total size, compression ratio and names.

Declared sizes can lie, so every entry is also counted as it is extracted. An entry whose name
could land outside its folder (`..`, an absolute path, a drive letter), a symlink or a device
file is refused, and nothing of the archive is used.
"""

from __future__ import annotations

import stat
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import PurePosixPath
from typing import IO

from app.errors import UnreadableFile


@dataclass(frozen=True)
class ZipLimits:
    max_entries: int = 10_000
    max_total_bytes: int = 4 * 1024**3
    max_ratio: int = 200


class UnsafeArchive(UnreadableFile):
    """The archive breaks a limit or names a path it may not; nothing of it is used."""


def _entry_type(info: zipfile.ZipInfo) -> int:
    return (info.external_attr >> 16) & 0o170000


def safe_name(name: str) -> str:
    """The entry name as a relative POSIX path, or UnsafeArchive saying why it is refused."""
    if "\x00" in name:
        raise UnsafeArchive(f"the archive entry {name!r} has a NUL byte in its name")
    cleaned = name.replace("\\", "/")
    if cleaned.startswith("/") or (len(cleaned) > 1 and cleaned[1] == ":"):
        raise UnsafeArchive(f"the archive entry '{name}' has an absolute path")
    if ".." in PurePosixPath(cleaned).parts:
        raise UnsafeArchive(f"the archive entry '{name}' points outside its folder ('..')")
    return cleaned


# How an entry may be compressed for zipfile to read it: stored, deflate, bzip2, LZMA.
_READABLE_METHODS = frozenset({zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED, zipfile.ZIP_BZIP2, zipfile.ZIP_LZMA})


def _check_readable(info: zipfile.ZipInfo) -> None:
    """Refuse, naming it, an entry that no reading could open: zipfile refuses an encrypted entry, or an
    unknown method, only at its first read, with errors the readers do not turn into an answer."""
    if info.flag_bits & 0x1:
        raise UnreadableFile(
            f"the archive entry '{info.filename}' is encrypted: save the file or archive without a password"
        )
    if info.compress_type not in _READABLE_METHODS:
        raise UnreadableFile(
            f"the archive entry '{info.filename}' is compressed with method {info.compress_type}, which cannot be "
            "read (stored, deflate, bzip2 and LZMA can)"
        )


def checked_entries(archive: zipfile.ZipFile, limits: ZipLimits) -> list[zipfile.ZipInfo]:
    """The archive's files in name order, after every rule has been checked on every entry."""
    entries = archive.infolist()
    if len(entries) > limits.max_entries:
        raise UnsafeArchive(f"the archive has {len(entries)} entries, more than the limit of {limits.max_entries}")
    total = 0
    files = []
    for info in entries:
        safe_name(info.filename)
        kind = _entry_type(info)
        if kind == stat.S_IFLNK:
            raise UnsafeArchive(f"the archive entry '{info.filename}' is a symbolic link")
        if kind in (stat.S_IFCHR, stat.S_IFBLK, stat.S_IFIFO, stat.S_IFSOCK):
            raise UnsafeArchive(f"the archive entry '{info.filename}' is a device or special file")
        if info.is_dir():
            continue
        _check_readable(info)
        total += info.file_size
        if total > limits.max_total_bytes:
            raise UnsafeArchive(f"the archive expands past the limit of {limits.max_total_bytes} bytes")
        if info.file_size > limits.max_ratio * max(info.compress_size, 1):
            raise UnsafeArchive(
                f"the archive entry '{info.filename}' expands {info.file_size // max(info.compress_size, 1)} times, "
                f"more than the limit of {limits.max_ratio}"
            )
        files.append(info)
    return sorted(files, key=lambda info: info.filename)


def open_archive(
    source: IO[bytes], limits: ZipLimits, what: str = "the ZIP archive"
) -> tuple[zipfile.ZipFile, list[zipfile.ZipInfo]]:
    try:
        archive = zipfile.ZipFile(source)
    except (zipfile.BadZipFile, OSError, ValueError) as error:
        raise UnreadableFile(f"{what} cannot be opened (it is not a whole ZIP): {error}") from None
    try:
        return archive, checked_entries(archive, limits)
    except BaseException:
        archive.close()
        raise


def read_entry(archive: zipfile.ZipFile, info: zipfile.ZipInfo, block: int = 1 << 16) -> Iterator[bytes]:
    """The entry's bytes, a block at a time, never more than its declared size."""
    produced = 0
    try:
        with archive.open(info) as entry:
            for data in iter(lambda: entry.read(block), b""):
                produced += len(data)
                if produced > info.file_size:
                    raise UnsafeArchive(f"the archive entry '{info.filename}' holds more than it declares")
                yield data
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as error:
        if isinstance(error, UnsafeArchive):
            raise
        raise UnreadableFile(f"the archive entry '{info.filename}' is damaged: {error}") from None
