"""Text in XML as expat gives it, for the scans that read plain parts of a workbook without expat."""

from __future__ import annotations

import re

# XML text with no markup: any character XML allows but '<', and '&' only in the five predefined entities
# and character references (checked again when replaced: see xml_text). Written as runs of plain
# characters between references, which the regular expression engine takes a run at a time.
PLAIN_RUN = r"[^<&\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]*"
TEXT = rf"{PLAIN_RUN}(?:&(?:amp|lt|gt|quot|apos|#[0-9]{{1,7}}|#x[0-9a-fA-F]{{1,6}});{PLAIN_RUN})*"
# The same over UTF-8 bytes known to decode, where U+FFFE and U+FFFF are three bytes each (NOT_XML_BYTES).
_REFERENCES = rb"&(?:amp|lt|gt|quot|apos|#[0-9]{1,7}|#x[0-9a-fA-F]{1,6});"
_PLAIN_RUN_BYTES = rb"[^<&\x00-\x08\x0b\x0c\x0e-\x1f]*"
TEXT_BYTES = _PLAIN_RUN_BYTES + rb"(?:" + _REFERENCES + _PLAIN_RUN_BYTES + rb")*"
NOT_XML_BYTES = re.compile(b"\xef\xbf[\xbe\xbf]")
# The longest comment, tag or other markup token a part may hold. Expat keeps an unfinished token whole
# and (without reparse deferral, see sheet_xml._parser) reads it again from its start each time it is
# given more, so its time grows with the square of the token. Nothing a spreadsheet program writes comes
# near it. The check runs where the part as stored reaches a multiple of the read block, after the same
# bytes whether rows were scanned or not, so a part is refused or read the same either way.
MAX_TOKEN_BYTES = 1024 * 1024
# The longest text of a cell or shared string, in characters, plus 64 for every piece expat hands it in
# (a list of tiny pieces costs more than their characters). Excel's cells hold 32,767 characters.
MAX_TEXT = 16 * 1024 * 1024
_REFERENCE = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|amp|lt|gt|quot|apos);")
_ENTITIES = {"amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'"}


class TooLong(Exception):
    """A markup token longer than MAX_TOKEN_BYTES, or a text longer than MAX_TEXT: the part is refused."""


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


def local_name(name: str) -> str:
    """The tag without a namespace prefix (x:c -> c); parts are read without namespace processing."""
    return name.rsplit(":", 1)[-1] if ":" in name else name


def plain_markup(data: bytes) -> str | None:
    """The bytes as text for a scan, or None when they are not UTF-8 or hold `]]>` (which XML allows in no
    text, and a scan would not notice): expat then reads them, and says what is wrong."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return None if "]]>" in text else text


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
