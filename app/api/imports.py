"""Endpoints of the import API: submit an upload, read an import's status."""

from __future__ import annotations

import asyncio
import dataclasses
import logging

from sqlalchemy.exc import SQLAlchemyError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse

from app import service
from app.accounts import Principal
from app.api.auth import authenticate
from app.api.params import WHOLE_NUMBER, flag_param, int_param, refuse_misspelt, required_int, text_param
from app.api.rendering import render_status
from app.api.snapshots import StatusSnapshots
from app.api.uploads import receive_upload
from app.errors import BadRequest, NotFound, RequestError
from app.runtime import Runtime
from specifications import ImportType

logger = logging.getLogger(__name__)
MAX_IDEMPOTENCY_KEY = 255
SUBMIT_PARAMETERS = (
    "importSpecification", "catalogId", "siteId", "userId", "fileType", "onError", "maxErrors", "dryRun",
    "encoding", "delimiter", "sheetName", "importToSandbox", "sandboxId",
)  # fmt: skip


def _idempotency_key(request: Request) -> str | None:
    key = request.headers.get("idempotency-key")
    if key is None:
        return None
    key = key.strip()
    if not key or len(key) > MAX_IDEMPOTENCY_KEY:
        raise BadRequest(f"Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} characters")
    return key


async def submit_import(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    query = request.query_params
    import_type = service.parse_import_type(request.path_params["import_type"])
    service.authorise_submission(principal, import_type)
    refuse_misspelt(query, SUBMIT_PARAMETERS)
    submission = service.check_submission(
        import_type,
        text_param(query, "importSpecification"),
        text_param(query, "fileType"),
        required_int(query, "catalogId", runtime.settings.default_catalog_id),
        required_int(query, "siteId", runtime.settings.default_site_id),
        int_param(query, "userId", None),
        on_error=text_param(query, "onError"),
        max_errors=int_param(query, "maxErrors", None),
        dry_run=bool(flag_param(query, "dryRun")),
    )
    # A delimiter is not stripped: a tab is one. Given empty, it counts as not given.
    delimiter = query.get("delimiter") or None
    reading = service.check_reading(text_param(query, "encoding"), delimiter, text_param(query, "sheetName"))
    to_sandbox, sandbox_id = bool(flag_param(query, "importToSandbox")), int_param(query, "sandboxId", None)
    submission = dataclasses.replace(submission, reading=reading, to_sandbox=to_sandbox, sandbox_id=sandbox_id)
    await run_in_threadpool(service.check_import_sandbox, runtime, principal, to_sandbox, sandbox_id)
    key = _idempotency_key(request)
    upload = await receive_upload(
        request, runtime.storage, submission.file_type, runtime.settings.max_upload_bytes, submission.asked_file_type
    )
    job, created = await run_in_threadpool(service.create_job, runtime, principal, submission, upload, key)
    assert job.id is not None
    if not created:
        await run_in_threadpool(runtime.storage.delete, upload.key)
        view = await run_in_threadpool(service.job_status, runtime, principal, job.id)
        return JSONResponse(render_status(view))
    return JSONResponse(render_status(service.StatusView(job, [], [])))


async def no_such_import(request: Request) -> JSONResponse:
    """GET or DELETE of /api/importer/{name} where name is no statusId the id routes take (past nine digits,
    or not a number): no such import. An import type there is only ever submitted to (405, as before)."""
    await authenticate(request)
    name: str = request.path_params["name"]
    if name.strip().upper() in {kind.value for kind in ImportType}:
        raise HTTPException(405, headers={"Allow": "POST"})
    raise _not_a_status_id(name)


async def no_such_status(request: Request) -> JSONResponse:
    """The contract's status URL, /api/importer/status/{name}, or an action on an import
    (/api/importer/{name}/errors, ...), where name is no statusId."""
    await authenticate(request)
    raise _not_a_status_id(request.path_params["name"])


def _not_a_status_id(name: str) -> NotFound:
    if WHOLE_NUMBER.fullmatch(name):
        return NotFound(f"no import with statusId {name}")
    return NotFound(f"no import with statusId '{name}': a statusId is a whole number")


async def import_status(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    snapshots: StatusSnapshots = request.app.state.snapshots
    principal = await authenticate(request)
    status_id: int = request.path_params["status_id"]
    rendered = snapshots.get(status_id, principal)
    if rendered is None:
        read_at = snapshots.now()
        view = await run_in_threadpool(service.job_status, runtime, principal, status_id)
        rendered = render_status(view)
        snapshots.put(status_id, view.job.account_id, rendered, read_at)
    elif snapshots.claim_renewal(status_id):
        renewal = asyncio.create_task(_renew(runtime, snapshots, principal, status_id))
        _RENEWALS.add(renewal)
        renewal.add_done_callback(_RENEWALS.discard)
    return JSONResponse(rendered)


_RENEWALS: set[asyncio.Task[None]] = set()  # running renewals, kept from the garbage collector


async def _renew(runtime: Runtime, snapshots: StatusSnapshots, principal: Principal, status_id: int) -> None:
    """Read a job's status again for its snapshot, beside the polls it keeps serving."""
    read_at = snapshots.now()
    try:
        view = await run_in_threadpool(service.job_status, runtime, principal, status_id)
    except (RequestError, SQLAlchemyError) as error:  # gone, or the database is away: read again on expiry
        logger.info("status.renewal_failed job_id=%s error=%s", status_id, type(error).__name__)
        snapshots.renewal_failed(status_id)
        return
    snapshots.put(status_id, view.job.account_id, render_status(view), read_at)
