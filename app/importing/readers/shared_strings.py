"""A workbook's shared-strings table: expat's events for any XML, and a scan for blocks of plain items.

Spreadsheet programs write nearly every item as `<si><t>text</t></si>`; a block of such items is read with
one regular expression, instead of five expat callbacks per item. A block holding anything else (rich
text runs, phonetic hints, a comment) goes to expat whole. As for sheet rows (sheet_rows.py), a block is
scanned only where expat stands between two items, at the end of the last block it read.

The table is the one part of a workbook held whole while its rows are read, and a sheet written by Excel
holds nearly every text of its rows there: a million-row sheet's table has millions of items. It is kept
as UTF-8 bytes end to end with where each item ends (TextTable), not as a list of str, whose every item
carries about 60 bytes of its own beside its text.
"""

from __future__ import annotations

import re
from array import array
from collections.abc import Iterable, Iterator
from itertools import accumulate
from typing import Any

from app.importing.readers.xml_text import (
    MAX_TEXT,
    NOT_XML_BYTES,
    TEXT_BYTES,
    NotPlain,
    TooLong,
    local_name,
    plain_head,
    plain_markup,
    xml_text,
)

_ITEM_END = b"</si>"
MAX_BLOCK_WITHOUT_ITEM_END = 1 << 20
# One plain item whose text is kept as it is (first group), one whose text holds a reference or a carriage
# return (second), or (last group) anything else, up to the next tag. Telling the first two apart here
# spares a test of each item's bytes (`in` on bytes first tries its operand as an integer).
_ITEM = re.compile(
    rb'[ \t\r\n]*<si><t(?: xml:space="preserve")?>(?:([^<&\r\x00-\x08\x0b\x0c\x0e-\x1f]*)|(' + TEXT_BYTES + rb"))"
    rb"</t></si>|([\s\S][^<]*)"
)


class TextTable:
    """Texts by their index, held as one run of UTF-8 bytes and the offsets where each begins and ends."""

    def __init__(self) -> None:
        self._data = bytearray()
        self._bounds = array("q", [0])  # text i is _data[_bounds[i]:_bounds[i + 1]]

    def __len__(self) -> int:
        return len(self._bounds) - 1

    def buffers(self) -> tuple[bytearray, array[int]]:
        """The texts' bytes and their bounds, for the compiled row scan (sheet_rows.py) to read in place."""
        return self._data, self._bounds

    def __getitem__(self, index: int) -> str:
        """The text at `index`; IndexError, saying so, for one the table does not have (a negative one too)."""
        bounds = self._bounds
        try:
            if index >= 0:
                return self._data[bounds[index] : bounds[index + 1]].decode()
        except IndexError:
            pass
        held = f"{len(self)} (0 to {len(self) - 1})" if len(self) else "none"
        raise IndexError(f"a cell points at shared string {index}, and the workbook has {held}")

    def append(self, text: str) -> None:
        self.extend_encoded([text.encode()])

    def extend_encoded(self, texts: list[bytes]) -> None:
        """Add texts given as UTF-8."""
        start = len(self._data)
        self._bounds.extend(start + end for end in accumulate(map(len, texts)))
        self._data += b"".join(texts)


class SharedStrings:
    """The table, read from expat's events and from scanned blocks, in the order the part holds them."""

    def __init__(self) -> None:
        self.strings = TextTable()
        self._parts: list[str] = []
        self._held = 0  # the item's text so far: characters, and 64 for each piece (see MAX_TEXT)
        self._in_text = False
        self._phonetic = False
        self._depth = 0
        self._items_depth = -1  # the depth inside sst, once expat has read its start tag
        self._boundary = -1  # the byte (of what expat read) just past an item's end tag in sst
        self.parser: Any = None

    def start(self, name: str, attrs: dict[str, str]) -> None:
        self._depth += 1
        tag = local_name(name)
        if tag == "si":
            self._parts.clear()
            self._held = 0
        elif tag == "t" and not self._phonetic:
            self._in_text = True
        elif tag == "rPh":
            self._phonetic = True
        elif tag == "sst":
            self._items_depth = self._depth

    def end(self, name: str) -> None:
        self._depth -= 1
        tag = local_name(name)
        if tag == "t":
            self._in_text = False
        elif tag == "rPh":
            self._phonetic = False
        elif tag == "si":
            self.strings.append("".join(self._parts))
            if self._depth == self._items_depth:
                self._boundary = self.parser.CurrentByteIndex + len(_ITEM_END)

    def text(self, data: str) -> None:
        if self._in_text:
            self._parts.append(data)
            self._held += len(data) + 64
            if self._held > MAX_TEXT:
                raise TooLong(f"a shared string is longer than {MAX_TEXT} characters")

    def between_items(self, fed: int) -> bool:
        """Whether expat, having read `fed` bytes, stands in sst just past an item's end tag."""
        return self._depth == self._items_depth and self._boundary == fed

    def take(self, block: bytes) -> bool:
        """Read a block of whole items in the plain form; False, having read nothing, when it is not one.
        The items are kept as the block's bytes (TextTable), but for those with a reference or a carriage
        return, which are read as expat would give them."""
        if plain_markup(block) is None or NOT_XML_BYTES.search(block):
            return False
        items: list[bytes] = []
        try:
            for kept, referenced, other in _ITEM.findall(block):
                if other:
                    return False
                items.append(xml_text(referenced.decode()).encode() if referenced else kept)
        except NotPlain:
            return False
        self.strings.extend_encoded(items)
        return True


def item_blocks(blocks: Iterable[bytes]) -> Iterator[tuple[bool, bytes]]:
    """The part's bytes as (whole items?, bytes): each block cut after its last `</si>`. Only a part whose
    start is plain UTF-8 markup (see plain_head) is cut; any other goes on as it comes."""
    buffer = b""
    cutting: bool | None = None  # None: the start of sst not seen yet
    for block in blocks:
        buffer += block
        if cutting is None:
            start = buffer.find(b"<sst")
            verdict = plain_head(buffer if start < 0 else buffer[:start])
            cutting = verdict if start >= 0 or verdict is False else None
            if cutting is None:
                if len(buffer) <= MAX_BLOCK_WITHOUT_ITEM_END:
                    continue
                cutting = False
        end = buffer.rfind(_ITEM_END) if cutting else -1
        if end >= 0:
            end += len(_ITEM_END)
            yield True, buffer[:end]
            buffer = buffer[end:]
        if not cutting or len(buffer) > MAX_BLOCK_WITHOUT_ITEM_END:
            yield False, buffer
            buffer = b""
    if buffer:
        yield False, buffer
