"""Bodies as HTTP clients send them: compressed (Content-Encoding), or a form with several files. The file the
client meant is imported, or the request is refused saying why, and nothing of it is kept."""

from __future__ import annotations

import gzip
import random
import zlib
from collections.abc import AsyncIterator
from dataclasses import replace
from pathlib import Path

import pytest
from starlette.applications import Starlette

from app.db import Database
from app.jobs import ImportState
from app.main import create_app
from app.runtime import Runtime
from tests.factories import make_csv
from tests.integration.in_process_api import HEADER, PRODUCTS, SUBMIT, deployed, jobs, post
from tests.integration.pipeline_driver import RecordingQueue, drain, stored_uploads


@pytest.fixture
def deployment(database: Database, tmp_path: Path) -> tuple[Runtime, RecordingQueue, Starlette]:
    return deployed(database, tmp_path)


def test_a_gzip_compressed_body_is_imported_as_the_file_it_holds(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    runtime, queue, app = deployment

    answer = post(app, SUBMIT, content=gzip.compress(PRODUCTS), headers={"Content-Encoding": "gzip"})
    drain(runtime, queue)

    assert answer.status_code == 200, answer.text
    [job] = jobs(runtime)
    assert (job.state, job.total_records, job.records_created) == (ImportState.COMPLETED, 2, 2)


def raw_deflate(data: bytes) -> bytes:
    """Deflate data without zlib's header and trailer, as some clients send `Content-Encoding: deflate`."""
    compressor = zlib.compressobj(wbits=-zlib.MAX_WBITS)
    return compressor.compress(data) + compressor.flush()


@pytest.mark.parametrize(
    ("encoding", "body"),
    [
        ("deflate", zlib.compress(PRODUCTS)),
        ("deflate", raw_deflate(PRODUCTS)),
        ("gzip", gzip.compress(PRODUCTS) + bytes(512)),  # padded with zeros to a block, as gzip to a tape writes
        ("gzip", gzip.compress(PRODUCTS[:40]) + gzip.compress(PRODUCTS[40:])),  # two members: gzip a b > c
    ],
    ids=["zlib-deflate", "raw-deflate", "gzip-zero-padded", "gzip-two-members"],
)
def test_a_compressed_body_as_clients_send_it_is_imported_as_the_file_it_holds(
    deployment: tuple[Runtime, RecordingQueue, Starlette], encoding: str, body: bytes
) -> None:
    runtime, queue, app = deployment

    answer = post(app, SUBMIT, content=body, headers={"Content-Encoding": encoding})
    drain(runtime, queue)

    assert answer.status_code == 200, answer.text
    [job] = jobs(runtime)
    assert (job.state, job.records_created, job.upload_bytes) == (ImportState.COMPLETED, 2, len(PRODUCTS))


def test_a_gzip_body_with_bytes_after_it_that_are_not_gzip_is_refused_with_400_and_not_kept(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    runtime, _, app = deployment

    answer = post(
        app, SUBMIT, content=gzip.compress(PRODUCTS) + bytes(8) + b"junk", headers={"Content-Encoding": "gzip"}
    )

    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"].startswith("the body is not valid gzip, as its Content-Encoding says")
    assert (jobs(runtime), stored_uploads(runtime)) == ([], set())


def test_a_gzip_body_that_expands_past_the_upload_limit_gets_413_and_is_not_kept(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    runtime, _, _ = deployment
    runtime = replace(runtime, settings=replace(runtime.settings, max_upload_bytes=4 * 1024 * 1024))
    expanding = gzip.compress(PRODUCTS + b"G3,t,d,1\n" * 1_000_000)

    answer = post(create_app(runtime), SUBMIT, content=expanding, headers={"Content-Encoding": "gzip"})

    assert len(expanding) < 100_000
    assert answer.status_code == 413, answer.text
    assert answer.json() == {
        "error": "UploadTooLarge",
        "detail": "the upload is larger than the limit of 4194304 bytes (IMPORTER_MAX_UPLOAD_BYTES)",
    }
    assert stored_uploads(runtime) == set()


def test_a_file_at_the_upload_limit_that_grows_a_little_when_compressed_is_taken(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    runtime, _, _ = deployment
    limit = 256 * 1024
    runtime = replace(runtime, settings=replace(runtime.settings, max_upload_bytes=limit))
    incompressible = b"SKU Number\n" + random.Random(7).randbytes(limit - 11)  # as an XLSX or a ZIP is
    body = gzip.compress(incompressible)

    answer = post(create_app(runtime), SUBMIT, content=body, headers={"Content-Encoding": "gzip"})

    assert len(body) > limit
    assert answer.status_code == 200, answer.text
    [job] = jobs(runtime)
    assert job.upload_bytes == limit


def test_a_compressed_body_that_goes_on_without_end_gets_413_and_is_not_kept(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    runtime, _, _ = deployment
    limit = 256 * 1024
    runtime = replace(runtime, settings=replace(runtime.settings, max_upload_bytes=limit))
    empty_member = gzip.compress(b"")

    async def endless() -> AsyncIterator[bytes]:  # sent chunked: no Content-Length to refuse it by
        yield gzip.compress(PRODUCTS)
        for _ in range(200):
            yield empty_member * 1000  # each member holds nothing: the file never grows

    answer = post(create_app(runtime), SUBMIT, content=endless(), headers={"Content-Encoding": "gzip"})

    assert answer.status_code == 413, answer.text
    assert (
        answer.json()["detail"] == f"the upload is larger than the limit of {limit} bytes (IMPORTER_MAX_UPLOAD_BYTES)"
    )
    assert (jobs(runtime), stored_uploads(runtime)) == ([], set())


def test_a_body_in_an_encoding_the_service_cannot_read_is_refused_with_415_and_not_kept(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    runtime, _, app = deployment

    answer = post(app, SUBMIT, content=b"\x00compressed", headers={"Content-Encoding": "br"})

    assert answer.status_code == 415, answer.text
    assert answer.json()["detail"] == (
        "Content-Encoding 'br' is not read here: send the file as it is, or compressed with gzip or deflate"
    )
    assert jobs(runtime) == []
    assert stored_uploads(runtime) == set()


def test_a_gzip_body_that_is_not_gzip_is_refused_with_400_and_not_kept(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    runtime, _, app = deployment

    answer = post(app, SUBMIT, content=PRODUCTS, headers={"Content-Encoding": "gzip"})

    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"].startswith("the body is not valid gzip, as its Content-Encoding says")
    assert stored_uploads(runtime) == set()


def test_a_form_with_two_files_is_refused_naming_them_rather_than_importing_one_of_them(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    runtime, _, app = deployment
    other = make_csv([["X1", "t", "d", "1"]], header=HEADER)

    answer = post(app, SUBMIT, files=[("other", ("other.csv", other)), ("file", ("products.csv", PRODUCTS))])

    assert answer.status_code == 400, answer.text
    assert answer.json()["detail"] == (
        "the form holds more than one file ('other', then 'file'): send one file per import, as -F file=@yourfile"
    )
    assert jobs(runtime) == []
    assert stored_uploads(runtime) == set()


def test_a_form_with_one_file_and_other_fields_imports_the_file(
    deployment: tuple[Runtime, RecordingQueue, Starlette],
) -> None:
    runtime, queue, app = deployment

    answer = post(app, SUBMIT, data={"note": "nightly"}, files={"file": ("ürün ğ 商品.csv", PRODUCTS)})
    drain(runtime, queue)

    assert answer.status_code == 200, answer.text
    [job] = jobs(runtime)
    assert (job.state, job.records_created) == (ImportState.COMPLETED, 2)
