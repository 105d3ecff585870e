"""Hostile ZIPs and workbooks are refused with a clear reason, before they can exhaust the machine."""

from __future__ import annotations

import io
import re
import stat
import zipfile

import pytest

from app.errors import UnreadableFile
from app.importing.archives import UnsafeArchive, ZipLimits, open_archive, read_entry
from app.importing.readers.sheet_xml import MAX_LISTED
from app.importing.readers.workbook import iter_sheet
from tests.factories import make_xlsx, make_zip

MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
RELATIONS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{n} "{("&lol" + str(n - 1) + ";") * 10 if n > 1 else "&lol;" * 10}">' for n in range(1, 10))
    + "]>"
)


def with_replaced(xlsx: bytes, name: str, data: bytes) -> bytes:
    source = zipfile.ZipFile(io.BytesIO(xlsx))
    return make_zip(
        {info.filename: (data if info.filename == name else source.read(info)) for info in source.infolist()}
    )


def open_bytes(data: bytes, limits: ZipLimits | None = None) -> list[str]:
    archive, entries = open_archive(io.BytesIO(data), limits or ZipLimits())
    with archive:
        return [info.filename for info in entries]


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("../escape.csv", "points outside its folder"),
        ("a/../../escape.csv", "points outside its folder"),
        ("/etc/passwd", "absolute path"),
        ("C:\\Windows\\evil.dll", "absolute path"),
        ("..\\evil.csv", "points outside its folder"),
    ],
)
def test_entry_names_that_escape_their_folder_are_refused(name: str, reason: str) -> None:
    with pytest.raises(UnsafeArchive, match=reason):
        open_bytes(make_zip({"ok.csv": b"a", name: b"b"}))


def test_symlinks_and_device_files_are_refused() -> None:
    for mode, reason in ((stat.S_IFLNK | 0o777, "symbolic link"), (stat.S_IFCHR | 0o600, "device")):
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as archive:
            info = zipfile.ZipInfo("entry")
            info.external_attr = mode << 16
            archive.writestr(info, b"/etc/passwd")
        with pytest.raises(UnsafeArchive, match=reason):
            open_bytes(out.getvalue())


def test_a_zip_bomb_is_refused_by_its_compression_ratio_before_extraction() -> None:
    bomb = make_zip({"zeros.csv": b"\0" * (20 * 1024 * 1024)})

    assert len(bomb) < 100_000
    with pytest.raises(UnsafeArchive, match="more than the limit of 200"):
        open_bytes(bomb)


def test_too_many_entries_or_too_many_bytes_are_refused_by_their_limits() -> None:
    many = make_zip({f"f{n}.csv": b"x" for n in range(50)}, zipfile.ZIP_STORED)
    large = make_zip({"a.csv": b"x" * 5000, "b.csv": b"y" * 5000}, zipfile.ZIP_STORED)

    with pytest.raises(UnsafeArchive, match="50 entries, more than the limit of 10"):
        open_bytes(many, ZipLimits(max_entries=10))
    with pytest.raises(UnsafeArchive, match="expands past the limit of 8000 bytes"):
        open_bytes(large, ZipLimits(max_total_bytes=8000))


def test_an_entry_that_holds_more_than_it_declares_stops_while_extracting() -> None:
    data = bytearray(make_zip({"a.csv": b"x" * 1000}, zipfile.ZIP_STORED))
    header = data.index(b"PK\x01\x02")  # the central directory: shrink the declared size to 10
    data[header + 24 : header + 28] = (10).to_bytes(4, "little")
    archive = zipfile.ZipFile(io.BytesIO(bytes(data)))

    with pytest.raises(UnreadableFile):
        b"".join(read_entry(archive, archive.infolist()[0]))


def hostile_sheet(doctype: str, cell: str) -> bytes:
    workbook = make_xlsx([["1"]], header=["SKU Number"])
    sheet = zipfile.ZipFile(io.BytesIO(workbook)).read("xl/worksheets/sheet1.xml").decode()
    return with_replaced(workbook, "xl/worksheets/sheet1.xml", (doctype + sheet.replace("<t>1</t>", cell)).encode())


def test_a_workbook_with_an_entity_expansion_is_refused() -> None:
    hostile = hostile_sheet(BILLION_LAUGHS.replace("lolz", "worksheet"), "<t>&lol9;</t>")

    with pytest.raises(UnreadableFile, match="declares entities, which are refused"):
        list(iter_sheet(io.BytesIO(hostile)))


def test_a_workbook_with_an_external_entity_is_refused() -> None:
    doctype = '<?xml version="1.0"?><!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'

    with pytest.raises(UnreadableFile, match="declares entities, which are refused"):
        list(iter_sheet(io.BytesIO(hostile_sheet(doctype, "<t>&xxe;</t>"))))


def test_a_workbook_that_is_a_zip_bomb_is_refused_before_its_xml_is_read() -> None:
    workbook = make_xlsx([["1"]], header=["SKU Number"])
    source = zipfile.ZipFile(io.BytesIO(workbook))
    entries = {info.filename: source.read(info) for info in source.infolist()}
    entries["xl/worksheets/sheet1.xml"] = entries["xl/worksheets/sheet1.xml"] + b" " * (30 * 1024 * 1024)

    with pytest.raises(UnsafeArchive, match="expands"):
        list(iter_sheet(io.BytesIO(make_zip(entries))))


def with_entry_header(data: bytes, name: str, flags: int | None = None, method: int | None = None) -> bytes:
    """The archive with the general-purpose flags or the compression method of one entry rewritten, in its
    local header and its central directory record, as an encrypting or exotic zip tool writes them."""
    patched = bytearray(data)
    for signature, flags_at in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = 0
        while (at := patched.find(signature, at)) >= 0:
            name_at = at + (30 if signature == b"PK\x03\x04" else 46)
            if patched[name_at : name_at + len(name)] == name.encode():
                if flags is not None:
                    patched[at + flags_at : at + flags_at + 2] = flags.to_bytes(2, "little")
                if method is not None:
                    patched[at + flags_at + 2 : at + flags_at + 4] = method.to_bytes(2, "little")
            at += 4
    return bytes(patched)


@pytest.mark.parametrize(
    ("flags", "method", "reason"),
    [
        (
            1,
            None,
            "the archive entry 'xl/worksheets/sheet1.xml' is encrypted: save the file or archive without a password",
        ),
        (None, 99, "the archive entry 'xl/worksheets/sheet1.xml' is compressed with method 99, which cannot be read"),
    ],
)
def test_an_encrypted_or_unreadably_compressed_entry_is_refused_naming_it(
    flags: int | None, method: int | None, reason: str
) -> None:
    workbook = with_entry_header(make_xlsx([["1"]], ["SKU Number"]), "xl/worksheets/sheet1.xml", flags, method)
    archive = with_entry_header(make_zip({"a.csv": b"x", "b.csv": b"y"}), "b.csv", flags, method)

    with pytest.raises(UnreadableFile, match=re.escape(reason)):
        list(iter_sheet(io.BytesIO(workbook)))
    with pytest.raises(UnreadableFile, match=re.escape("the archive entry 'b.csv' is ")):
        open_bytes(archive)


def test_a_workbook_whose_styles_list_more_formats_than_any_spreadsheet_writes_is_refused() -> None:
    # A few megabytes of XLSX whose styles part lists tens of millions of cell formats held a worker at
    # gigabytes of memory and a minute or more of CPU for a three-row sheet; Excel allows 64,000.
    workbook = make_xlsx([["1"]], header=["SKU Number"])
    formats = "".join(f'<xf numFmtId="{n * 7919 % 100003}"/>' for n in range(MAX_LISTED + 1))
    styles = f'<?xml version="1.0"?><styleSheet xmlns="{MAIN}"><cellXfs>{formats}</cellXfs></styleSheet>'

    with pytest.raises(UnreadableFile, match=f"xl/styles.xml lists more than {MAX_LISTED} cell formats"):
        list(iter_sheet(io.BytesIO(with_replaced(workbook, "xl/styles.xml", styles.encode()))))


def test_a_workbook_that_lists_more_sheets_than_any_spreadsheet_writes_is_refused() -> None:
    workbook = make_xlsx([["1"]], header=["SKU Number"])
    sheets = "".join(f'<sheet name="s{n}" sheetId="{n}" r:id="rId{n}"/>' for n in range(MAX_LISTED + 1))
    listing = f'<workbook xmlns="{MAIN}" xmlns:r="{RELATIONS}"><sheets>{sheets}</sheets></workbook>'

    with pytest.raises(UnreadableFile, match=f"xl/workbook.xml lists more than {MAX_LISTED} sheets"):
        list(iter_sheet(io.BytesIO(with_replaced(workbook, "xl/workbook.xml", listing.encode()))))
