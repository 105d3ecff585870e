"""Product images: an earlier asset by name, or a URL fetched within the rules; anything else is a warning."""

from __future__ import annotations

import http.server
import threading
import time
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest
from sqlmodel import col, select

from app.db import Database
from app.jobs import ImportProblem, ImportState
from app.service import asset_content, list_records, read_record, sandboxes
from specifications import ImportType
from tests.factories import CONTRACT_HEADER, make_csv, make_zip, product_row
from tests.integration.pipeline_driver import drain, job, make_principal, make_runtime, submit
from tests.integration.test_assets import PNG

HEADER = [*CONTRACT_HEADER, "Image Url(s)"]


class _Images(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        routes = {
            "/a.png": (200, "image/png", PNG),
            "/page.html": (200, "text/html", b"<html></html>"),
            "/fake.png": (200, "image/png", b"not really a png"),
            "/big.png": (200, "image/png", PNG + b"\0" * 5000),
        }
        if self.path in ("/drip.png", "/drip-headers.png"):
            self._drip()
            return
        if self.path == "/hop":
            self.send_response(302)
            self.send_header("Location", "http://127.1:9/secret.png")
            self.end_headers()
            return
        status, media, body = routes.get(self.path, (404, "text/plain", b"no"))
        self.send_response(status)
        self.send_header("Content-Type", media)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def _drip(self) -> None:
        """A byte at a time, each well within any read timeout, for twenty seconds: headers and all, or the body."""
        head = f"HTTP/1.1 200 OK\r\nContent-Type: image/png\r\nContent-Length: {len(PNG) + 100}\r\n\r\n".encode()
        dripped = head + PNG + b"\0" * 100 if self.path == "/drip-headers.png" else PNG + b"\0" * 100
        try:
            if self.path == "/drip.png":
                self.wfile.write(head)
            for byte in dripped[:100]:
                self.wfile.write(bytes([byte]))
                self.wfile.flush()
                time.sleep(0.2)
        except OSError:  # the fetch gave up and closed the connection
            return

    def log_message(self, format: str, *args: object) -> None:
        return


@pytest.fixture
def image_server() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Images)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def warnings(db: Database, job_id: int) -> list[tuple[int | None, str]]:
    with db.read() as session:
        found = session.exec(
            select(ImportProblem).where(ImportProblem.job_id == job_id).order_by(col(ImportProblem.id))
        ).all()
    return [(p.row_number, p.message) for p in found if p.field_name == "Image Url(s)"]


def test_images_link_assets_and_fetch_allowed_urls(database: Database, tmp_path: Path, image_server: str) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    runtime = replace(runtime, settings=replace(runtime.settings, fetch_allow_hosts=frozenset({"127.0.0.1"}),
                                                fetch_max_bytes=2000))  # fmt: skip
    principal = make_principal(database)
    submit(runtime, principal, make_zip({"front.png": PNG}), import_type=ImportType.ASSET)
    drain(runtime, queue)
    rows = [
        [*product_row("1"), f"front.png|main:{image_server}/a.png"],
        [*product_row("2"), f"{image_server}/page.html|{image_server}/fake.png|{image_server}/big.png|nothing.png"],
        [*product_row("3"), f"{image_server}/hop"],
    ]

    job_id = submit(runtime, principal, make_csv(rows, header=HEADER))
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED
    first = read_record(runtime, ImportType.PRODUCT, ["1"], -2, -3)["image_urls"]
    assert [(image["key"], image.get("assetId") is not None, image.get("contentType")) for image in first] == [  # type: ignore[attr-defined]
        (None, True, None), ("main", False, "image/png"),
    ]  # fmt: skip
    assert read_record(runtime, ImportType.PRODUCT, ["2"], -2, -3)["image_urls"] == []
    assert warnings(database, job_id) == [
        (3, f"image '{image_server}/page.html' not fetched: the URL answered 'text/html', not an image; "
            "imported without it"),
        (3, f"image '{image_server}/fake.png' not fetched: the URL's bytes are not an image "
            "(they look like text/plain); imported without it"),
        (3, f"image '{image_server}/big.png' not fetched: the image is larger than the limit of 2000 bytes "
            "(IMPORTER_FETCH_MAX_BYTES); imported without it"),
        (3, "'nothing.png' names no asset of catalog -2 and is not an http(s) URL; imported without it"),
        (4, f"image '{image_server}/hop' not fetched: '127.1' resolves to 127.0.0.1, an internal address, "
            "which is never fetched; imported without it"),
    ]  # fmt: skip


def test_an_image_server_that_sends_a_byte_at_a_time_gets_no_more_than_the_fetch_timeout(
    database: Database, tmp_path: Path, image_server: str
) -> None:
    # httpx's timeout bounds each read: a byte every 0.2 s would have held the worker for as long as the server
    # liked, headers and body alike, and every worker the reaper handed the chunk to after it.
    runtime, queue = make_runtime(database, tmp_path)
    runtime = replace(runtime, settings=replace(runtime.settings, fetch_allow_hosts=frozenset({"127.0.0.1"}),
                                                fetch_timeout_seconds=1.0))  # fmt: skip
    rows = [[*product_row("1"), f"{image_server}/drip.png"], [*product_row("2"), f"{image_server}/drip-headers.png"]]
    started = time.monotonic()

    job_id = submit(runtime, make_principal(database), make_csv(rows, header=HEADER))
    drain(runtime, queue)

    assert time.monotonic() - started < 8
    assert job(runtime, job_id).state == ImportState.COMPLETED
    too_slow = "took longer than 1 seconds (IMPORTER_FETCH_TIMEOUT_SECONDS); imported without it"
    assert warnings(database, job_id) == [
        (2, f"image '{image_server}/drip.png' not fetched: the image {too_slow}"),
        (3, f"image '{image_server}/drip-headers.png' not fetched: the image {too_slow}"),
    ]


@pytest.mark.parametrize(
    "url",
    ["http://127.0.0.1/x.png", "http://127.1/x.png", "http://2130706433/x.png", "http://[::1]/x.png",
     "http://[::ffff:127.0.0.1]/x.png", "http://localhost/x.png", "http://0.0.0.0/x.png", "http://10.0.0.1/x.png",
     "http://169.254.169.254/latest/meta-data", "http://100.100.100.200/latest/meta-data", "http://100.64.0.1/x.png",
     "http://[2002:7f00:1::1]/x.png", "http://[fec0::1]/x.png", "file:///etc/passwd", "gopher://example.com/x"],
)  # fmt: skip
def test_urls_aimed_inside_are_refused_however_they_are_spelled(database: Database, tmp_path: Path, url: str) -> None:
    runtime, queue = make_runtime(database, tmp_path)

    job_id = submit(runtime, make_principal(database), make_csv([[*product_row("1"), url]], header=HEADER))
    drain(runtime, queue)

    assert job(runtime, job_id).state == ImportState.COMPLETED
    [(row, message)] = warnings(database, job_id)
    assert row == 2 and ("an internal address, which is never fetched" in message or "only http and https" in message)


def test_images_of_a_promoted_sandbox_name_the_assets_it_promoted(database: Database, tmp_path: Path) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    submit(runtime, principal, make_zip({"old.png": PNG}), import_type=ImportType.ASSET)
    drain(runtime, queue)
    box = sandboxes.create_sandbox(runtime, principal, "new pictures")
    assert box.id is not None
    submit(runtime, principal, make_zip({"old.png": PNG + b"\0", "new.png": PNG + b"\0\0"}),
           import_type=ImportType.ASSET, to_sandbox=True, sandbox_id=box.id)  # fmt: skip
    submit(runtime, principal, make_csv([[*product_row("1"), "new.png|old.png"]], header=HEADER),
           to_sandbox=True, sandbox_id=box.id)  # fmt: skip
    drain(runtime, queue)

    sandboxes.promote(runtime, principal, box.id)

    assets = {a["file_name"]: a["id"] for a in list_records(runtime, ImportType.ASSET, -2, -3, 1, 10)[0]}
    images = read_record(runtime, ImportType.PRODUCT, ["1"], -2, -3)["image_urls"]
    assert [(image["url"], image["assetId"]) for image in images] == [  # type: ignore[attr-defined]
        ("new.png", assets["new.png"]), ("old.png", assets["old.png"]),
    ]  # fmt: skip
    served = [asset_content(runtime, principal, int(image["assetId"])) for image in images]  # type: ignore[attr-defined]
    assert [(media, b"".join(body)) for media, _, body in served] == [
        ("image/png", PNG + b"\0\0"), ("image/png", PNG + b"\0"),
    ]  # fmt: skip


def test_a_sandbox_asset_imported_back_as_production_has_it_keeps_serving_the_images_that_name_it(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    submit(runtime, principal, make_zip({"old.png": PNG}), import_type=ImportType.ASSET)
    drain(runtime, queue)
    box = sandboxes.create_sandbox(runtime, principal, "second thoughts")
    assert box.id is not None
    submit(runtime, principal, make_zip({"old.png": PNG + b"\0"}), import_type=ImportType.ASSET,
           to_sandbox=True, sandbox_id=box.id)  # fmt: skip
    submit(runtime, principal, make_csv([[*product_row("1"), "old.png"]], header=HEADER),
           to_sandbox=True, sandbox_id=box.id)  # fmt: skip
    drain(runtime, queue)

    # the picture is put back as production has it; the sandbox's product still names the sandbox's asset
    submit(runtime, principal, make_zip({"old.png": PNG}), import_type=ImportType.ASSET,
           to_sandbox=True, sandbox_id=box.id)  # fmt: skip
    drain(runtime, queue)

    images = read_record(runtime, ImportType.PRODUCT, ["1"], -2, -3, box.id)["image_urls"]
    assert isinstance(images, list) and len(images) == 1
    media, _, body = asset_content(runtime, principal, int(images[0]["assetId"]))
    assert (media, b"".join(body)) == ("image/png", PNG)
    sandboxes.promote(runtime, principal, box.id)
    promoted = read_record(runtime, ImportType.PRODUCT, ["1"], -2, -3)["image_urls"]
    production = {a["file_name"]: a["id"] for a in list_records(runtime, ImportType.ASSET, -2, -3, 1, 10)[0]}
    assert isinstance(promoted, list) and [image["assetId"] for image in promoted] == [production["old.png"]]
