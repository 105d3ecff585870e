"""Endpoints of sandboxes (create, list, read, changes, promote, discard) and of the audit trail."""

from __future__ import annotations

import json
from collections.abc import Callable

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse

from app.accounts import Principal
from app.api.auth import authenticate
from app.api.bodies import parse_json, read_capped
from app.api.params import paging
from app.api.rendering import iso_date, render_record
from app.commerce.sandbox_merge import Change
from app.commerce.sandboxes import AuditEvent, Sandbox
from app.errors import BadRequest
from app.runtime import Runtime
from app.service import audit, sandboxes

SANDBOX_SHAPE = '{"name": "..."}'


def render_sandbox(sandbox: Sandbox, records: int | None = None) -> dict[str, object]:
    rendered: dict[str, object] = {
        "sandboxId": sandbox.id,
        "name": sandbox.name,
        "state": sandbox.state,
        "createdBy": sandbox.created_by,
        "createdDate": iso_date(sandbox.created_at),
        "closedBy": sandbox.closed_by,
        "closedDate": iso_date(sandbox.closed_at),
    }
    if records is not None:
        rendered["records"] = records
    return rendered


def _change(change: Change) -> dict[str, object]:
    fields = [
        render_record({"before": f["before"], "after": f["after"]}) | {"field": f["field"]} for f in change.fields
    ]
    return {"type": change.kind, "key": render_record(change.key), "change": change.change, "fields": fields}


async def create_sandbox(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    sandboxes.authorise_creation(principal)  # before the body is read: a refused caller sends nothing we keep
    body = parse_json(await read_capped(request) or b"{}", SANDBOX_SHAPE)
    if not isinstance(body, dict) or not isinstance(body.get("name"), str):
        raise BadRequest(f"the body must be JSON: {SANDBOX_SHAPE}")
    sandbox = await run_in_threadpool(sandboxes.create_sandbox, runtime, principal, body["name"])
    return JSONResponse(render_sandbox(sandbox, 0), status_code=201)


async def list_sandboxes(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    page, size = paging(request.query_params)
    found, total = await run_in_threadpool(sandboxes.list_sandboxes, runtime, principal, page, size)
    items = [render_sandbox(sandbox) for sandbox in found]
    return JSONResponse({"items": items, "page": page, "pageSize": size, "total": total})


async def get_sandbox(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    sandbox, records = await run_in_threadpool(
        sandboxes.get_sandbox, runtime, principal, request.path_params["sandbox_id"]
    )
    return JSONResponse(render_sandbox(sandbox, records))


async def sandbox_changes(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    page, size = paging(request.query_params)
    changes, total = await run_in_threadpool(
        sandboxes.sandbox_changes, runtime, principal, request.path_params["sandbox_id"], page, size
    )
    return JSONResponse(
        {"items": [_change(change) for change in changes], "page": page, "pageSize": size, "total": total}
    )


async def _end_sandbox(request: Request, end: Callable[[Runtime, Principal, int], int], counted: str) -> JSONResponse:
    """Promote or discard: the sandbox as it is afterwards, with how many records the step moved."""
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    sandbox_id: int = request.path_params["sandbox_id"]
    records = await run_in_threadpool(end, runtime, principal, sandbox_id)
    sandbox, _ = await run_in_threadpool(sandboxes.get_sandbox, runtime, principal, sandbox_id)
    return JSONResponse(render_sandbox(sandbox) | {counted: records})


async def promote_sandbox(request: Request) -> JSONResponse:
    return await _end_sandbox(request, sandboxes.promote, "recordsPromoted")


async def discard_sandbox(request: Request) -> JSONResponse:
    return await _end_sandbox(request, sandboxes.discard, "recordsDiscarded")


def _event(event: AuditEvent) -> dict[str, object]:
    return {
        "id": event.id,
        "date": iso_date(event.at),
        "account": event.account,
        "userId": event.user_id,
        "action": event.action,
        "statusId": event.status_id,
        "sandboxId": event.sandbox_id,
        "detail": json.loads(event.detail) if event.detail else {},
    }


async def list_audit(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    page, size = paging(request.query_params)
    events, total = await run_in_threadpool(audit.list_events, runtime, principal, page, size)
    return JSONResponse({"items": [_event(event) for event in events], "page": page, "pageSize": size, "total": total})
