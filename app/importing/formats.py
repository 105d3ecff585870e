"""File types, and what an upload's first bytes say it is."""

from __future__ import annotations

from enum import StrEnum

ZIP_SIGNATURE = b"PK\x03\x04"
EMPTY_ZIP_SIGNATURE = b"PK\x05\x06"
SNIFF_BYTES = 8192


class FileType(StrEnum):
    CSV = "CSV"
    XLSX = "XLSX"
    JSON = "JSON"
    JSONL = "JSONL"
    ZIP = "ZIP"


def _json_start(head: bytes) -> bytes:
    return head.lstrip(b"\xef\xbb\xbf \t\r\n")[:1]


_WORKBOOK_PARTS = ("[Content_Types].xml", "docProps/", "xl/", "_rels/")


def _first_entry(head: bytes) -> str:
    """The name of a ZIP's first entry, from its local file header."""
    length = int.from_bytes(head[26:28], "little")
    return head[30 : 30 + length].decode("utf-8", errors="replace")


def detect(head: bytes) -> FileType:
    """The file type the first bytes plainly show, for a request that names none (CSV by default)."""
    if head.startswith(ZIP_SIGNATURE):
        return FileType.XLSX if _first_entry(head).startswith(_WORKBOOK_PARTS) else FileType.ZIP
    start = _json_start(head)
    if start == b"[":
        return FileType.JSON
    if start == b"{":
        return FileType.JSONL
    return FileType.CSV


def describe_bytes(head: bytes) -> str:
    """A short human name for what the first bytes of a body look like."""
    if head.startswith((ZIP_SIGNATURE, EMPTY_ZIP_SIGNATURE)):
        return "a ZIP archive (XLSX or ZIP)"
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        return "a legacy Office file (XLS)"
    if head.startswith(b"%PDF"):
        return "a PDF document"
    if head.startswith((b"\x89PNG", b"\xff\xd8\xff", b"GIF8")):
        return "an image"
    if head.startswith(b"\x1f\x8b"):
        return "a gzip file"
    stripped = head.lstrip(b"\xef\xbb\xbf \t\r\n")
    if stripped.startswith((b"[", b"{")):
        return "JSON"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "UTF-16 text (as Excel's 'Unicode Text' saves it; save it as 'CSV UTF-8')"
    if b"\x00" in head:
        return "binary data"
    return "text"


def contradiction(file_type: FileType, head: bytes) -> str | None:
    """Why the body cannot be the declared file type, or None when it may be."""
    found = describe_bytes(head)
    if file_type in (FileType.XLSX, FileType.ZIP) and not head.startswith((ZIP_SIGNATURE, EMPTY_ZIP_SIGNATURE)):
        return f"fileType is {file_type.value} but the body is {found}"
    if file_type is FileType.CSV and found not in ("text",):
        return f"fileType is CSV but the body is {found}"
    if file_type is FileType.JSON and _json_start(head) != b"[":
        return f"fileType is JSON (an array of objects) but the body is {found}"
    if file_type is FileType.JSONL and _json_start(head) != b"{":
        return f"fileType is JSONL (an object per line) but the body is {found}"
    return None
