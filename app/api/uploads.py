"""Receiving an upload: the body streams into UploadStorage under a size limit, checked as it comes."""

from __future__ import annotations

import asyncio
import codecs
import contextlib
import hashlib
import logging
import threading
from collections.abc import AsyncIterator

from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from app.api.bodies import declared_length
from app.api.encodings import BodyDecoding
from app.errors import BadRequest, InsufficientStorage, ServiceStopping, UnsupportedMediaType, UploadTooLarge
from app.full_disk import full_disk_reason, storage_full
from app.importing.formats import SNIFF_BYTES, FileType, contradiction, describe_bytes, detect
from app.service import Upload
from app.storage import UploadStorage, UploadWriter, new_upload_key

logger = logging.getLogger(__name__)

FLUSH_BYTES = 1 << 20
MULTIPART_ENVELOPE_BYTES = 65536  # what a form may add to its file: boundaries, part headers, other fields


def _not_stored(error: OSError) -> InsufficientStorage:
    """The answer to an upload the storage could not take; the operator's log says where and why."""
    logger.error("upload.not_stored error=%s", error, exc_info=error)
    if reason := full_disk_reason(error):
        return storage_full(reason)
    return InsufficientStorage(
        f"the service could not store the upload ({error.strerror or type(error).__name__}): nothing of it was "
        "kept; send it again once the service's operator has seen to it (its log has it as upload.not_stored)"
    )


def _too_large(limit: int) -> UploadTooLarge:
    return UploadTooLarge(f"the upload is larger than the limit of {limit} bytes (IMPORTER_MAX_UPLOAD_BYTES)")


class _Sink:
    """Checks file bytes as they come (size, first bytes against the fileType) and cuts them into blocks of
    FLUSH_BYTES for storage, digesting and checking each (UTF-8) as it is cut; `take_blocks` hands over the
    blocks made so far."""

    def __init__(self, file_type: FileType | None, limit: int, asked: FileType | None = None) -> None:
        self._blocks: list[bytes] = []
        self._file_type = file_type
        self._asked = asked  # the fileType the request named, when the import takes another (an ASSET's ZIP)
        self._limit = limit
        self._head = bytearray()
        self._checked = False
        self._buffer = bytearray()
        self.size = 0
        self.digest = hashlib.sha256()
        # Whether a CSV body is UTF-8 text, known as it streams: such a CSV needs no encoding detection, so
        # its plan can hand chunks to workers while it still reads (app.importing.publishing). Other file
        # types are not decoded: the check stops once the first bytes say what the file is.
        self.is_utf8 = self._file_type in (None, FileType.CSV)
        self._utf8 = codecs.getincrementaldecoder("utf-8")()

    def feed(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self._limit:
            raise _too_large(self._limit)
        if not self._checked:
            self._head += data[: SNIFF_BYTES - len(self._head)]
            if len(self._head) >= SNIFF_BYTES:
                self._check()
        self._buffer += data
        while len(self._buffer) >= FLUSH_BYTES:
            self._flush(FLUSH_BYTES)

    def _flush(self, size: int) -> None:
        """Cut a block of `size` bytes, digested and checked as one: the UTF-8 check of a 249 MiB upload took
        0.54 s of the event loop in the pieces of 64 KiB it arrives in, 0.19 s in blocks of 1 MiB. Blocks
        of the storage's size are stored as they are (app.storage)."""
        block = bytes(self._buffer[:size])
        del self._buffer[:size]
        self.digest.update(block)
        if self.is_utf8:
            self._check_utf8(block)
        self._blocks.append(block)

    def take_blocks(self) -> list[bytes]:
        blocks, self._blocks = self._blocks, []
        return blocks

    def _check_utf8(self, data: bytes, final: bool = False) -> None:
        try:
            self._utf8.decode(data, final)
        except UnicodeDecodeError:
            self.is_utf8 = False

    @property
    def file_type(self) -> FileType:
        return self._file_type or detect(bytes(self._head))

    def _check(self) -> None:
        self._checked = True
        if self._file_type is None:
            self.is_utf8 = self.is_utf8 and self.file_type is FileType.CSV
            return
        problem = contradiction(self._file_type, bytes(self._head))
        if problem and self._asked not in (None, self._file_type):
            problem = (
                f"fileType is {self._asked.value}, but this import type takes a {self._file_type.value} body, "
                f"and the body is {describe_bytes(bytes(self._head))}"
            )
        if problem:
            raise UnsupportedMediaType(problem)

    def finish(self) -> None:
        if self.size == 0:
            raise BadRequest("the request body is empty: send the file as the body, or as a multipart field 'file'")
        if not self._checked:
            self._check()
        if self._buffer:
            self._flush(len(self._buffer))
        if self.is_utf8:
            self._check_utf8(b"", final=True)


class _BlockWrites:
    """Writes blocks to storage in a worker thread, one at a time, while the body goes on arriving.

    At most one block is being written and one filled, so memory stays at two blocks. The checks of
    each piece (a few C calls) run on the event loop: sending every 64 KiB piece to a thread, and the
    storage write with it, made the 249 MiB benchmark upload wait for each in turn.
    """

    def __init__(self, writer: UploadWriter) -> None:
        self._writer = writer
        self._writing: asyncio.Task[None] | None = None
        self._lock = threading.Lock()  # held by the thread writing a block, and by a discard in a thread
        self._discarded = False

    async def put(self, blocks: list[bytes]) -> None:
        for block in blocks:
            await self.drain()
            self._writing = asyncio.ensure_future(run_in_threadpool(self._write, block))

    def _write(self, block: bytes) -> None:
        with self._lock:
            if not self._discarded:
                self._writer.write(block)

    async def drain(self) -> None:
        """Wait for the block being written; its error, if any, is raised here."""
        writing, self._writing = self._writing, None
        if writing is not None:
            await writing

    async def settle(self) -> None:
        """Wait for the block being written, whatever its outcome, before the upload is discarded."""
        with contextlib.suppress(Exception):
            await self.drain()

    def discard_in_thread(self) -> threading.Thread:
        """Discard the upload from a thread of its own, after the block being written (if any) and before any
        other. For a request cancelled as the service stops: the event loop may cancel it again, or be gone,
        before an await here ends; the interpreter waits for this (non-daemon) thread before it exits."""
        thread = threading.Thread(target=self._discard, name="upload-discard")
        thread.start()
        return thread

    def _discard(self) -> None:
        with self._lock:
            self._discarded = True
            self._writer.discard()


class _MultipartFile:
    """Feeds the file part of a multipart body (one with a filename, or the part named 'file') into a sink. A
    form holds one file: a second one that carries bytes is refused, rather than one of them left unread."""

    def __init__(self, boundary: bytes, sink: _Sink) -> None:
        self._sink = sink
        self._field = b""
        self._value = b""
        self._headers: dict[bytes, bytes] = {}
        self._active = False
        self._is_file = False
        self._names: list[str] = []
        self.found = False
        self.parser = MultipartParser(
            boundary,
            {
                "on_part_begin": self._on_part_begin,
                "on_header_field": self._on_header_field,
                "on_header_value": self._on_header_value,
                "on_header_end": self._on_header_end,
                "on_headers_finished": self._on_headers_finished,
                "on_part_data": self._on_part_data,
                "on_part_end": self._on_part_end,
            },
        )

    def _on_part_begin(self) -> None:
        self._headers = {}

    def _on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._field += data[start:end]

    def _on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._value += data[start:end]

    def _on_header_end(self) -> None:
        self._headers[self._field.lower()] = self._value
        self._field, self._value = b"", b""

    def _on_headers_finished(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        self._is_file = b"filename" in options or options.get(b"name") == b"file"
        self._active = self._is_file and not self.found
        self.found = self.found or self._active
        if self._is_file:
            self._names.append(options.get(b"name", b"").decode("utf-8", "replace"))

    def _on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._active:
            self._sink.feed(data[start:end])
        elif self._is_file and end > start:
            named = ", then ".join(f"'{name}'" for name in self._names)
            raise BadRequest(
                f"the form holds more than one file ({named}): send one file per import, as -F file=@yourfile"
            )

    def _on_part_end(self) -> None:
        self._active = self._is_file = False


async def receive_upload(
    request: Request, storage: UploadStorage, file_type: FileType | None, limit: int, asked: FileType | None = None
) -> Upload:
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    # The limit is on the file: a form's envelope (boundaries, part headers) may add up to the same margin
    # that the multipart stream is allowed below.
    envelope = MULTIPART_ENVELOPE_BYTES if content_type == b"multipart/form-data" else 0
    decoding = BodyDecoding(request.headers.get("content-encoding"))
    most_sent = decoding.most_encoded(limit + envelope)
    length = declared_length(request)
    if length is not None and length > most_sent:
        raise _too_large(limit)
    key = new_upload_key()
    try:
        writer = await run_in_threadpool(storage.create, key)
    except OSError as error:
        raise _not_stored(error) from None
    sink = _Sink(file_type, limit, asked)
    writes = _BlockWrites(writer)
    try:
        if content_type == b"multipart/form-data":
            boundary = options.get(b"boundary")
            if not boundary:
                raise BadRequest("the multipart body has no boundary")
            multipart = _MultipartFile(boundary, sink)
            received = 0
            async for piece in _decoded(request, decoding, most_sent, limit):
                received += len(piece)
                if received > limit + MULTIPART_ENVELOPE_BYTES:
                    raise _too_large(limit)
                try:
                    await run_in_threadpool(multipart.parser.write, piece)
                except FormParserError as error:
                    raise BadRequest(f"the multipart body is malformed: {error}") from None
                await writes.put(sink.take_blocks())
            if not multipart.found:
                raise BadRequest("the multipart body has no file part (send it as -F file=@yourfile)")
        else:
            async for piece in _decoded(request, decoding, most_sent, limit):
                if piece:
                    sink.feed(piece)
                    await writes.put(sink.take_blocks())
                # A body that arrives faster than it is checked would otherwise hold the event loop
                # (receiving a buffered piece does not yield): other requests get a turn after each piece.
                await asyncio.sleep(0)
        sink.finish()
        await writes.put(sink.take_blocks())
        await writes.drain()
        size = await run_in_threadpool(writer.close)
    except asyncio.CancelledError:
        # uvicorn cancels a request still running when its grace period for stopping ends (an upload still
        # arriving): the client is told to send it again, and nothing of it is kept.
        writes.discard_in_thread()
        _uncancel()
        raise ServiceStopping(
            "the service is stopping, so this upload was cut short and nothing of it was kept: send it again "
            "once the service is back"
        ) from None
    except BaseException as error:
        await writes.settle()
        await run_in_threadpool(writer.discard)
        if isinstance(error, OSError):  # the storage's: a full disk, a folder gone
            raise _not_stored(error) from None
        raise
    return Upload(key, size, sink.digest.hexdigest(), sink.file_type, sink.is_utf8)


async def _decoded(request: Request, decoding: BodyDecoding, most_sent: int, limit: int) -> AsyncIterator[bytes]:
    """The body's pieces as the file's bytes, decompressed as they arrive when its Content-Encoding says so. The
    body's own bytes are bounded too: a compressed one may hold nothing (empty gzip members, without end)."""
    sent = 0
    async for data in request.stream():
        sent += len(data)
        if sent > most_sent:
            raise _too_large(limit)
        for piece in decoding.pieces(data):
            yield piece
    decoding.finish()


def _uncancel() -> None:
    """Take back the cancellation of this task, which now answers instead of being cancelled (as asyncio asks
    of code that does not re-raise a CancelledError: its later awaits would be cancelled anew otherwise)."""
    task = asyncio.current_task()
    if task is not None:
        task.uncancel()
