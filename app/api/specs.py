"""Endpoints describing import specifications: the listing, and a template file per specification."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.auth import authenticate
from app.service import specs


async def list_specifications(request: Request) -> JSONResponse:
    await authenticate(request)
    return JSONResponse({"items": specs.list_specifications()})


async def specification_template(request: Request) -> Response:
    await authenticate(request)
    media, name, body = specs.template(request.path_params["name"], request.query_params.get("fileType"))
    return Response(body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'})
