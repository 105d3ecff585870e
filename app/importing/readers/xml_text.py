"""Text in XML as expat gives it, for the scans that read plain parts of a workbook without expat."""

from __future__ import annotations

import re

# XML text with no markup: any character XML allows but '<', and '&' only in the five predefined entities
# and character references (checked again when replaced: see xml_text). Written as runs of plain
# characters between references, which the regular expression engine takes a run at a time.
PLAIN_RUN = r"[^<&\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*"
TEXT = rf"{PLAIN_RUN}(?:&(?:amp|lt|gt|quot|apos|#[0-9]{{1,7}}|#x[0-9a-fA-F]{{1,6}});{PLAIN_RUN})*"
# The longest comment, tag or text a part may hold: expat keeps an unfinished token whole, and reads it
# again from its start each time it is given more (so time grows with its square), and a cell's text is
# held until it ends. No spreadsheet program writes anything near this: a cell holds 32,767 characters.
# What the scans read at once (a row, a block of items) is at most about 1 MiB, so a text they take is
# never over it. A comment within a few hundred KiB of the limit may be refused or read depending on
# where the pieces expat is given end; one well over it is always refused.
MAX_TOKEN_BYTES = 16 * 1024 * 1024
_REFERENCE = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class TooLong(Exception):
    """A comment, tag or text longer than MAX_TOKEN_BYTES: the part is refused."""


class NotPlain(Exception):
    """What looked plain is not (a character XML refuses): expat reads it, and says what is wrong."""


def _character(reference: re.Match[str]) -> str:
    name = reference.group(1)
    if name[0] != "#":
        return _ENTITIES[name]
    code = int(name[2:], 16) if name[1] == "x" else int(name[1:])
    if code in (0x9, 0xA, 0xD) or 0x20 <= code <= 0xD7FF or 0xE000 <= code <= 0xFFFD or 0x10000 <= code <= 0x10FFFF:
        return chr(code)
    raise NotPlain  # not a character XML allows: expat says so


def xml_text(raw: str) -> str:
    """Text content as expat gives it: line ends normalised to \\n, then references replaced."""
    return _REFERENCE.sub(_character, raw.replace("\r\n", "\n").replace("\r", "\n"))


def plain_head(head: bytes) -> bool | None:
    """Whether a part's start is plain UTF-8 markup (False for sure, None: not known yet)."""
    if head.startswith((b"\xfe\xff", b"\xff\xfe", b"\x00", b"\x3c\x00")):
        return False  # UTF-16 or wider
    body = head[3:] if head.startswith(b"\xef\xbb\xbf") else head
    if body.startswith(b"<?xml"):
        declaration_end = body.find(b"?>")
        if declaration_end < 0:
            return None
        declaration = bytes(body[:declaration_end]).lower().replace(b"'", b'"')
        if b"encoding" in declaration and not re.search(rb'encoding\s*=\s*"utf-8"', declaration):
            return False
        body = body[declaration_end + 2 :]
    return b"<!" not in body and b"<?" not in body
