"""Planning the formats that are read once into normalized rows: XLSX, JSON, JSONL and ZIPs of them."""

from __future__ import annotations

import contextlib
import logging
import tempfile
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import PurePosixPath

from app.errors import UnreadableFile
from app.importing.archives import open_archive, read_entry
from app.importing.chunking import ChunkLayout, too_many_rows
from app.importing.formats import FileType
from app.importing.limits import ReadLimits
from app.importing.normalized import NormalizedWriter
from app.importing.normalizer import HeaderFailed, Normalizer
from app.importing.planning import Layout, Plan, ReadOptions, rows_key_for, seekable_copy
from app.importing.readers.sheet_rows import RecordRun
from app.importing.readers.sheet_xml import RowPlace, sheet_part_size
from app.importing.sheet_split import PlanCut
from app.importing.sources import NamedRow, csv_rows, keyed_rows, xlsx_rows

DATA_SUFFIXES = {".csv": FileType.CSV, ".tsv": FileType.CSV, ".txt": FileType.CSV, ".xlsx": FileType.XLSX,
                 ".json": FileType.JSON, ".jsonl": FileType.JSONL, ".ndjson": FileType.JSONL}  # fmt: skip
ARCHIVE_SUFFIXES = (".zip", ".gz", ".7z", ".rar", ".tar")
logger = logging.getLogger(__name__)
JUNK = ("__MACOSX/", ".DS_Store", "Thumbs.db")
Files = list[dict[str, object]]


def _normalized(plan: Plan, write: Callable[[Normalizer], Files], publishing: bool = False) -> Layout:
    """Run `write` over a normalizer writing rows beside the upload; the layout of what it wrote.

    `publishing` hands each chunk to plan.publish once its rows are readable (a sheet, whose header is
    whole from its first row). A rows file that chunks may already be reading is closed, not discarded,
    when the plan fails: it goes when the upload's retention ends."""
    rows_key = rows_key_for(plan.key)
    writer = NormalizedWriter(plan.storage, rows_key)
    publish = plan.publish if publishing else None

    def hand_out(chunk: ChunkLayout) -> None:
        assert publish is not None
        publish(Layout(normalizer.header, "utf-8", ",", rows_key=rows_key), chunk)

    normalizer = Normalizer(
        plan.spec, writer, plan.limits, plan.chunk_rows, plan.heartbeat, hand_out if publish else None
    )
    try:
        files = write(normalizer)
        writer.close()
    except HeaderFailed:
        writer.discard()
        return Layout(normalizer.header, "utf-8", ",", rows_key=None)
    except BaseException:
        with contextlib.suppress(Exception):  # what stopped the plan is the error to report
            writer.close() if normalizer.published else writer.discard()
        raise
    header = normalizer.header
    if not normalizer.names:
        # No name was read: no record (an empty JSON array), or none readable (each is its own problem, which
        # its chunk reports). Either way nothing is missing from a header that no record gave.
        header = replace(header, problems=())
    layout = Layout(header, "utf-8", ",", rows_key=rows_key, files=files)
    if normalizer.records and not header.problems:
        layout.chunks = normalizer.finish()
    return layout


def plan_xlsx(plan: Plan) -> Layout:
    """The first sheet (or the one named), each cell as the text its column's kind expects; a large one
    read in two at once when the plan has a Split (see sheet_split.py)."""
    cut: PlanCut | None = None

    def write(normalizer: Normalizer) -> Files:
        nonlocal cut
        with seekable_copy(plan.storage, plan.key) as source:
            place, name = RowPlace(), plan.options.sheet_name
            target = plan.split.begin(sheet_part_size(source, name, plan.limits.zip)) if plan.split else None
            if plan.split and target:
                cut = PlanCut(plan.split, target, normalizer, place)
            normalizer.add(xlsx_rows(source, name, plan.limits, place=place, runs=normalizer.record_runs()), watch=cut)
        return []

    joined = False
    try:
        layout = _normalized(plan, write, publishing=True)
        piece = cut.piece if cut else None
        if piece is not None and layout.chunks:
            # What a reading from the start meets first: the row over the limit, or the damage after it.
            if layout.total_records + piece.records > plan.limits.max_rows:
                raise too_many_rows(plan.limits.max_rows)
            if piece.error is not None:
                raise UnreadableFile(piece.error)
            layout.chunks += piece.chunks
            joined = True
    finally:
        if cut and not joined:
            try:
                cut.split.release()
            except Exception:  # what stopped the plan, if anything, is the error to report
                logger.exception("import.sheet_piece_not_released key=%s", plan.key)
    return layout


def plan_keyed(plan: Plan, file_type: FileType) -> Layout:
    def write(normalizer: Normalizer) -> Files:
        with plan.storage.open(plan.key) as stream:
            normalizer.add(keyed_rows(stream, file_type, plan.limits))
        return []

    return _normalized(plan, write)


def data_entries(entries: list[zipfile.ZipInfo]) -> list[tuple[zipfile.ZipInfo, FileType]]:
    """The archive's data files in name order; anything else in it is refused by name."""
    found = []
    for info in entries:
        if info.filename.startswith(JUNK) or info.filename.endswith(JUNK):
            continue
        suffix = PurePosixPath(info.filename.lower()).suffix
        if suffix in ARCHIVE_SUFFIXES:
            raise UnreadableFile(f"the ZIP holds another archive, '{info.filename}': nested archives are not imported")
        if suffix not in DATA_SUFFIXES:
            raise UnreadableFile(f"the ZIP holds '{info.filename}', which is not a data file (CSV, XLSX, JSON, JSONL)")
        found.append((info, DATA_SUFFIXES[suffix]))
    if not found:
        raise UnreadableFile("the ZIP holds no data file (CSV, XLSX, JSON, JSONL)")
    return found


def _entry_rows(
    archive: zipfile.ZipFile, info: zipfile.ZipInfo, kind: FileType, limits: ReadLimits, options: ReadOptions
) -> Iterator[NamedRow | RecordRun]:
    with tempfile.TemporaryFile() as spool:
        for block in read_entry(archive, info):
            spool.write(block)
        spool.seek(0)
        if kind is FileType.XLSX:
            yield from xlsx_rows(spool, options.sheet_name, limits)
        elif kind in (FileType.JSON, FileType.JSONL):
            yield from keyed_rows(spool, kind, limits)
        else:
            yield from csv_rows(spool, options.encoding, options.delimiter, limits)


def plan_zip(plan: Plan) -> Layout:
    """Every data file of the archive, in name order, as one import: rows are numbered on across files
    (`files` says where each file starts), so that every row of the job has a number of its own."""

    def write(normalizer: Normalizer) -> Files:
        files: Files = []
        with seekable_copy(plan.storage, plan.key) as source:
            archive, entries = open_archive(source, plan.limits.zip)
            with archive:
                base = 0
                for info, kind in data_entries(entries):
                    before = normalizer.records
                    try:
                        last = normalizer.add(_entry_rows(archive, info, kind, plan.limits, plan.options), base)
                    except UnreadableFile as error:
                        raise UnreadableFile(f"{info.filename}: {error}") from None
                    files.append({"name": info.filename, "fileType": kind.value, "offset": base,
                                  "lastRow": last - base, "totalRecords": normalizer.records - before})  # fmt: skip
                    base = last
        return files

    return _normalized(plan, write)
