"""Endpoints that read back what imports wrote: one record, or a page of them."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, StreamingResponse

from app import service
from app.accounts import Principal
from app.api.auth import authenticate
from app.api.params import paging, refuse_misspelt, required_int
from app.api.rendering import render_record
from app.runtime import Runtime
from app.service import sandboxes

READ_PARAMETERS = ("catalogId", "siteId", "sandboxId", "page", "pageSize")


async def _sandbox(request: Request, runtime: Runtime, principal: Principal) -> int:
    """The sandboxId a read names (0: production), refused with 404 unless this account may see it."""
    sandbox_id = required_int(request.query_params, "sandboxId", 0)
    return await run_in_threadpool(sandboxes.readable_sandbox, runtime, principal, sandbox_id)


async def read_record(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    import_type = service.parse_import_type(request.path_params["import_type"])
    key = service.key_parts(import_type, request.path_params["key"])
    refuse_misspelt(request.query_params, READ_PARAMETERS)
    catalog = required_int(request.query_params, "catalogId", runtime.settings.default_catalog_id)
    site = required_int(request.query_params, "siteId", runtime.settings.default_site_id)
    sandbox = await _sandbox(request, runtime, principal)
    record = await run_in_threadpool(service.read_record, runtime, import_type, key, catalog, site, sandbox)
    return JSONResponse(render_record(record))


async def list_records(request: Request) -> JSONResponse:
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    import_type = service.parse_import_type(request.path_params["import_type"])
    query = request.query_params
    refuse_misspelt(query, READ_PARAMETERS)
    catalog = required_int(query, "catalogId", runtime.settings.default_catalog_id)
    site = required_int(query, "siteId", runtime.settings.default_site_id)
    page, size = paging(query)
    sandbox = await _sandbox(request, runtime, principal)
    items, total = await run_in_threadpool(
        service.list_records, runtime, import_type, catalog, site, page, size, sandbox
    )
    return JSONResponse(
        {"items": [render_record(item) for item in items], "page": page, "pageSize": size, "total": total}
    )


INLINE_TYPES = ("image/png", "image/jpeg", "image/gif", "image/webp", "image/avif", "application/pdf")


async def asset_bytes(request: Request) -> StreamingResponse:
    """An asset's bytes with their detected type; anything that could run script is a download, sandboxed."""
    runtime: Runtime = request.app.state.runtime
    principal = await authenticate(request)
    asset_id: int = request.path_params["asset_id"]
    media, name, body = await run_in_threadpool(service.asset_content, runtime, principal, asset_id)
    disposition = "inline" if media in INLINE_TYPES else "attachment"
    safe_name = "".join(ch if ch.isalnum() or ch in "._-" else "_" for ch in name) or "asset"
    headers = {
        "Content-Disposition": f'{disposition}; filename="{safe_name}"',
        "X-Content-Type-Options": "nosniff",
        "Content-Security-Policy": "default-src 'none'; sandbox",
    }
    return StreamingResponse(body, media_type=media, headers=headers)
