"""Endpoints that control and inspect imports: history, cancel, retry, errors, failed rows."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from app import service
from app.api.auth import authenticate
from app.api.params import paging, refuse_misspelt, text_param
from app.api.rendering import files_of, problem_item, render_status
from app.api.snapshots import StatusSnapshots
from app.runtime import Runtime

LIST_PARAMETERS = ("status", "importType")  # and the paging parameters, which paging() checks


async def list_imports(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    refuse_misspelt(request.query_params, LIST_PARAMETERS)
    page, size = paging(request.query_params)
    state, kind = text_param(request.query_params, "status"), text_param(request.query_params, "importType")
    views, total = await run_in_threadpool(service.list_jobs, runtime, principal, state, kind, page, size)
    items = [render_status(view) for view in views]
    return JSONResponse({"items": items, "page": page, "pageSize": size, "total": total})


async def cancel_import(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    snapshots: StatusSnapshots = request.app.state.snapshots
    status_id: int = request.path_params["status_id"]
    await run_in_threadpool(service.cancel_job, runtime, principal, status_id)
    snapshots.forget(status_id)
    read_at = snapshots.now()
    view = await run_in_threadpool(service.job_status, runtime, principal, status_id)
    rendered = render_status(view)
    snapshots.put(status_id, view.job.account_id, rendered, read_at)
    return JSONResponse(rendered)


async def retry_import(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    snapshots: StatusSnapshots = request.app.state.snapshots
    principal = await authenticate(request)
    job = await run_in_threadpool(service.retry_job, runtime, principal, request.path_params["status_id"])
    snapshots.forget(request.path_params["status_id"])  # the retried import now names its retry (retriedAs)
    assert job.id is not None
    view = await run_in_threadpool(service.job_status, runtime, principal, job.id)
    return JSONResponse(render_status(view))


async def import_errors(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    page, size = paging(request.query_params)
    status_id: int = request.path_params["status_id"]
    job, problems, total = await run_in_threadpool(service.list_problems, runtime, principal, status_id, page, size)
    files = files_of(job)
    items = [problem_item(problem, files) for problem in problems]
    return JSONResponse({"items": items, "page": page, "pageSize": size, "total": total})


async def failed_rows(request: Request) -> StreamingResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    status_id: int = request.path_params["status_id"]
    media, name, body = await run_in_threadpool(service.failed_rows, runtime, principal, status_id)
    headers = {"Content-Disposition": f'attachment; filename="{name}"'}
    return StreamingResponse(body, media_type=media, headers=headers)
