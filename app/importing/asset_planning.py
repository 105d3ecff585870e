"""Planning an ASSET import: every file of the ZIP stored once by its content, one record per file.

The archive is checked whole before anything is stored (see archives.py). Names are kept as
data; bytes are kept under their SHA-256, so no entry name ever becomes a path.
"""

from __future__ import annotations

import csv
import hashlib
import io
import zipfile
from dataclasses import dataclass

from app.errors import UnreadableFile
from app.importing.archives import open_archive, read_entry
from app.importing.chunking import Cutter
from app.importing.header import resolve_header
from app.importing.media import content_type
from app.importing.normalized import NormalizedWriter
from app.importing.planning import Layout, Plan, rows_key_for, seekable_copy
from app.importing.problems import column_letter, row_problem_text
from app.importing.readers.delimited import ENCODINGS, UTF8_BOM, detect_delimiter
from app.storage import UploadStorage
from specifications.asset import MANIFEST

MANIFEST_COLUMNS = ("file name", "sku number", "category id", "alt text")
_JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db")


@dataclass
class Link:
    line: int
    sku_number: str
    category_id: str
    alt_text: str


def _junk(info: zipfile.ZipInfo) -> bool:
    return info.filename.startswith(_JUNK) or info.filename.endswith(_JUNK)


def _find_manifest(entries: list[zipfile.ZipInfo]) -> zipfile.ZipInfo | None:
    """manifest.csv at the archive's top, or in the one folder that holds every file: a folder compressed
    whole (Finder's Compress, Windows' Compressed folder) puts each of its files under the folder's name."""
    files = [info for info in entries if not _junk(info)]
    top = next((info for info in files if info.filename.lower() == MANIFEST), None)
    folders = {info.filename.split("/", 1)[0] for info in files}
    if top is not None or len(folders) != 1 or not all("/" in info.filename for info in files):
        return top
    inside = f"{folders.pop()}/{MANIFEST}".lower()
    return next((info for info in files if info.filename.lower() == inside), None)


def _manifest_text(data: bytes) -> str:
    """The manifest's text: UTF-8 (with or without BOM) or, as Excel's plain 'CSV' saves it, Windows-1252,
    as a data file's encoding is told."""
    data = data.removeprefix(UTF8_BOM)
    try:
        return data.decode(ENCODINGS[0])
    except UnicodeDecodeError:
        return data.decode(ENCODINGS[1], errors="replace")


def _read_manifest(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo | None, names: set[str]
) -> tuple[dict[str, Link], list[str], str | None]:
    """Links by file name, problems (as row_problem_text gives them), and the File Name column's letter. A name
    is a path in the archive, or a path from the manifest's folder, as a manifest beside its files names them."""
    if info is None:
        return {}, [], None
    folder = info.filename[: -len(MANIFEST)]
    text = _manifest_text(b"".join(read_entry(archive, info)))
    delimiter = detect_delimiter(text.partition("\n")[0])  # a comma, semicolon, tab or pipe, as a data CSV's
    rows = csv.reader(io.StringIO(text), delimiter=delimiter)
    header = [cell.strip().lower() for cell in next(rows, [])]
    unknown = [cell for cell in header if cell not in MANIFEST_COLUMNS]
    if unknown or "file name" not in header:
        raise UnreadableFile(
            f"{info.filename} has columns {header}; it takes File Name, and SKU Number or Category Id, and Alt Text"
        )
    column = column_letter(header.index("file name"))
    links: dict[str, Link] = {}
    problems: list[str] = []
    for line, cells in enumerate(rows, start=2):
        values = dict(zip(header, (cell.strip() for cell in cells), strict=False))
        name = values.get("file name", "")
        if not name:
            continue
        name = folder + name if folder + name in names else name
        if name in links:
            message = f"{info.filename} line {line} names '{name}' again (first on line {links[name].line})"
            problems.append(row_problem_text(message, column, "File Name", name))
            continue
        links[name] = Link(
            line, values.get("sku number", ""), values.get("category id", ""), values.get("alt text", "")
        )
    return links, problems, column


def _store(archive: zipfile.ZipFile, info: zipfile.ZipInfo, assets: UploadStorage) -> tuple[str, int, str, str]:
    """(sha256, size, content type, storage key); bytes already kept under that content are not kept again."""
    digest, size, head = hashlib.sha256(), 0, b""
    for block in read_entry(archive, info):
        digest.update(block)
        size += len(block)
        head = head or block[:512]
    sha = digest.hexdigest()
    key = f"asset-{sha}"
    if not assets.exists(key):
        writer = assets.create(key)
        try:
            for block in read_entry(archive, info):
                writer.write(block)
            writer.close()
        except BaseException:
            writer.discard()
            raise
    return sha, size, content_type(head), key


def plan_assets(plan: Plan, assets: UploadStorage) -> Layout:
    storage, limits = plan.storage, plan.limits
    header = resolve_header(plan.spec, [column.header for column in plan.spec.columns])
    layout = Layout(header, "utf-8", ",", rows_key=rows_key_for(plan.key))
    writer = NormalizedWriter(storage, layout.rows_key or "")
    cutter = Cutter(header, plan.chunk_rows, 0, 1, plan.heartbeat, limits.max_rows)
    number = 0

    def add(problem: str | None, cells: list[str]) -> None:
        nonlocal number
        number += 1
        cutter.add(number, cells, False, writer.write(number, problem, cells))

    try:
        with seekable_copy(storage, plan.key) as source:
            archive, entries = open_archive(source, limits.zip)
            with archive:
                manifest = _find_manifest(entries)
                names = {info.filename for info in entries}
                links, manifest_problems, column = _read_manifest(archive, manifest, names)
                for info in entries:
                    if info is manifest or _junk(info):
                        continue
                    sha, size, media, stored = _store(archive, info, assets)
                    link = links.pop(info.filename, Link(0, "", "", ""))
                    add(
                        None,
                        [
                            info.filename,
                            media,
                            str(size),
                            sha,
                            stored,
                            link.sku_number,
                            link.category_id,
                            link.alt_text,
                        ],
                    )
                for name, link in links.items():
                    where = manifest.filename if manifest else MANIFEST
                    message = f"{where} line {link.line} names '{name}', which is not in the archive"
                    add(row_problem_text(message, column, "File Name", name), [name])
                for problem in manifest_problems:
                    add(problem, [])
        writer.close()
    except BaseException:
        writer.discard()
        raise
    layout.chunks = cutter.finish()
    return layout
