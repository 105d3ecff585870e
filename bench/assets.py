"""The catalog's images: a ZIP of small PNGs imported as an ASSET import before the products that name them.

Products name images by file name (`img-007.png|thumb:img-042.png`), which the service links to these
assets. Not http URLs: the service fetches those during the import, one request per distinct URL.
"""

from __future__ import annotations

import struct
import time
import zipfile
import zlib
from pathlib import Path

import httpx

from bench.client import POLL_SECONDS, TERMINAL
from bench.data import IMAGE_COUNT, image_name

CATALOG_ID = 1


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def png(red: int, green: int, blue: int) -> bytes:
    """A 1x1 RGB PNG of one colour: a real image, distinct per colour."""
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    pixels = zlib.compress(bytes((0, red, green, blue)))
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", pixels) + _chunk(b"IEND", b"")


def write_zip(target: Path) -> Path:
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for number in range(IMAGE_COUNT):
            archive.writestr(image_name(number), png(number * 4, 255 - number * 4, (number * 37) % 256))
    return target


def import_assets(client: httpx.Client, folder: Path, timeout: float = 120.0) -> None:
    """Import the images into catalog 1 and wait for the end; raise if they did not land."""
    path = write_zip(folder / "assets.zip")
    url = f"/api/importer/ASSET?importSpecification=DefaultAssetImportSpecification&catalogId={CATALOG_ID}"
    response = client.post(url, content=path.read_bytes(), headers={"Content-Type": "application/zip"})
    if response.status_code != 200:
        raise RuntimeError(f"the ASSET import was refused: {response.status_code} {response.text[:500]}")
    status_url = str(response.json()["statusUrl"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        status = client.get(status_url).json()
        if status["status"] in TERMINAL:
            if status["status"] != "COMPLETED" or status.get("recordsCreated") != IMAGE_COUNT:
                raise RuntimeError(f"the ASSET import did not land its {IMAGE_COUNT} images: {status}")
            return
        time.sleep(POLL_SECONDS)
    raise RuntimeError(f"the ASSET import did not end within {timeout:.0f} s")
