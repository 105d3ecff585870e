"""Endpoints of the import API: submit an upload, read an import's status."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from app import service
from app.api.auth import authenticate
from app.api.params import flag_param, int_param, required_int
from app.api.rendering import render_status
from app.api.uploads import receive_upload
from app.errors import BadRequest
from app.runtime import Runtime


async def submit_import(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    query = request.query_params
    import_type = service.parse_import_type(request.path_params["import_type"])
    service.authorise_submission(principal, import_type)
    if flag_param(query, "importToSandbox") or query.get("sandboxId"):
        raise BadRequest("sandbox imports (importToSandbox, sandboxId) are not available in this version")
    submission = service.check_submission(
        import_type,
        query.get("importSpecification"),
        query.get("fileType"),
        required_int(query, "catalogId", runtime.settings.default_catalog_id),
        required_int(query, "siteId", runtime.settings.default_site_id),
        int_param(query, "userId", None),
    )
    upload = await receive_upload(request, runtime.storage, submission.file_type, runtime.settings.max_upload_bytes)
    job = await run_in_threadpool(service.create_job, runtime, principal, submission, upload.key, upload.size)
    assert job.id is not None
    view = service.StatusView(job, [], [])
    return JSONResponse(render_status(view))


async def import_status(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    status_id: int = request.path_params["status_id"]
    view = await run_in_threadpool(service.job_status, runtime, principal, status_id)
    return JSONResponse(render_status(view))
