"""Endpoints describing import specifications: the listing, and a template file per specification."""

from __future__ import annotations

from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from app.api.auth import authenticate
from app.api.params import refuse_misspelt, text_param
from app.service import specs


def attachment(file_name: str) -> str:
    """A download's Content-Disposition for a file named in any script (a specification's name is the operator's):
    a header holds only Latin-1, so the name itself goes percent-encoded (RFC 6266), beside an ASCII one for old
    clients."""
    plain = "".join(ch if ch.isascii() and (ch.isalnum() or ch in " ._-") else "_" for ch in file_name)
    return f"attachment; filename=\"{plain}\"; filename*=UTF-8''{quote(file_name, safe='')}"


async def list_specifications(request: Request) -> JSONResponse:
    await authenticate(request)
    return JSONResponse({"items": specs.list_specifications()})


async def specification_template(request: Request) -> Response:
    await authenticate(request)
    refuse_misspelt(request.query_params, ("fileType",))
    media, name, body = specs.template(request.path_params["name"], text_param(request.query_params, "fileType"))
    return Response(body, media_type=media, headers={"Content-Disposition": attachment(name)})
