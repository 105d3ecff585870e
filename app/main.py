"""create_app(runtime): the Starlette application, its route table and its error handlers."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Mapping

from sqlalchemy.exc import DBAPIError
from starlette.applications import Starlette
from starlette.convertors import register_url_convertor
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import ClientDisconnect, Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from app.accounts import CredentialCache
from app.api import data, imports, jobs, openapi, sandboxes, specs
from app.api.access_log import redact_access_log
from app.api.limits import AccessLimits, within_running_limit
from app.api.params import IdConvertor
from app.api.snapshots import StatusSnapshots
from app.errors import InsufficientStorage, RequestError, ServiceStopping, TooManyRequests, Unauthorized
from app.full_disk import full_disk_reason, storage_full
from app.heap import freeze_startup_heap
from app.runtime import Runtime

logger = logging.getLogger(__name__)

IMPORTER_PREFIXES = ("/api/importer", "/admin/api/importer")


async def health(request: Request) -> JSONResponse:
    return JSONResponse({"status": "ok"})


def _routes() -> list[Route]:
    routes = [
        Route("/api/health", health, methods=["GET"]),
        Route(openapi.OPENAPI_PATH, openapi.publish, methods=["GET"]),
    ]
    for prefix in IMPORTER_PREFIXES:
        routes += [
            Route(prefix, jobs.list_imports, methods=["GET"]),
            Route(prefix + "/specifications", specs.list_specifications, methods=["GET"]),
            Route(prefix + "/specifications/{name}/template", specs.specification_template, methods=["GET"]),
            Route(prefix + "/status/{status_id:id}", imports.import_status, methods=["GET"]),
            Route(prefix + "/status/{name}", imports.no_such_status, methods=["GET"]),
            Route(prefix + "/{status_id:id}", imports.import_status, methods=["GET"]),
            Route(prefix + "/{status_id:id}", jobs.cancel_import, methods=["DELETE"]),
            Route(prefix + "/{status_id:id}/cancel", jobs.cancel_import, methods=["POST"]),
            Route(prefix + "/{status_id:id}/retry", within_running_limit(jobs.retry_import), methods=["POST"]),
            Route(prefix + "/{status_id:id}/errors", jobs.import_errors, methods=["GET"]),
            Route(prefix + "/{status_id:id}/failed-rows", jobs.failed_rows, methods=["GET"]),
            Route(prefix + "/{import_type}", within_running_limit(imports.submit_import), methods=["POST"]),
            Route(prefix + "/{name}", imports.no_such_import, methods=["GET", "DELETE"]),
            Route(prefix + "/{name}/errors", imports.no_such_status, methods=["GET"]),
            Route(prefix + "/{name}/failed-rows", imports.no_such_status, methods=["GET"]),
            Route(prefix + "/{name}/cancel", imports.no_such_status, methods=["POST"]),
            Route(prefix + "/{name}/retry", imports.no_such_status, methods=["POST"]),
        ]
    routes += [
        Route("/api/data/{import_type}", data.list_records, methods=["GET"]),
        Route("/api/data/{import_type}/{key:path}", data.read_record, methods=["GET"]),
        Route("/api/assets/{asset_id:id}", data.asset_bytes, methods=["GET"]),
        Route("/api/sandboxes", sandboxes.list_sandboxes, methods=["GET"]),
        Route("/api/sandboxes", sandboxes.create_sandbox, methods=["POST"]),
        Route("/api/sandboxes/{sandbox_id:id}", sandboxes.get_sandbox, methods=["GET"]),
        Route("/api/sandboxes/{sandbox_id:id}/changes", sandboxes.sandbox_changes, methods=["GET"]),
        Route("/api/sandboxes/{sandbox_id:id}/promote", sandboxes.promote_sandbox, methods=["POST"]),
        Route("/api/sandboxes/{sandbox_id:id}/discard", sandboxes.discard_sandbox, methods=["POST"]),
        Route("/api/audit", sandboxes.list_audit, methods=["GET"]),
    ]
    return routes


class TrailingSlash:
    """Serves `/path/` as `/path`. Starlette would answer 307 with no body, which a script that does not follow
    redirects reads as an empty answer, and some clients follow with a GET, losing a POST's upload.

    Only slashes written as such are dropped: a `%2F` at the end belongs to the path's last part (a SKU `A/`,
    read at /api/data/PRODUCT/A%2F), and dropping it would read another record (`A`)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        path = scope.get("path", "")
        if scope["type"] == "http" and len(path) > 1 and path.endswith("/"):
            written = _written_trailing_slashes(scope)
            if written:
                kept = path[:-written] if written < len(path) else ""
                scope = dict(scope, path=kept or "/")
        await self.app(scope, receive, send)


def _written_trailing_slashes(scope: Scope) -> int:
    """How many of the path's last slashes the request wrote as `/` (not as `%2F`)."""
    raw = scope.get("raw_path")
    if not isinstance(raw, bytes):  # a server that does not give the path as sent: every slash is taken as written
        path: str = scope.get("path", "")
        return len(path) - len(path.rstrip("/"))
    raw = raw.partition(b"?")[0]  # some servers (and test clients) send the query string with it
    return len(raw) - len(raw.rstrip(b"/"))


def error_body(error: str, detail: str, status: int, headers: Mapping[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": error, "detail": detail}, status_code=status, headers=headers)


async def on_request_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, RequestError)
    headers = {"WWW-Authenticate": 'Basic realm="importer", charset="UTF-8"'} if isinstance(exc, Unauthorized) else None
    if isinstance(exc, TooManyRequests | ServiceStopping | InsufficientStorage):
        headers = {"Retry-After": str(exc.retry_after)}
    return error_body(exc.name, exc.detail, exc.status_code, headers)


async def on_http_error(request: Request, exc: Exception) -> Response:
    assert isinstance(exc, HTTPException)
    names = {404: "NotFound", 405: "MethodNotAllowed"}
    detail = f"no route for {request.method} {request.url.path}" if exc.status_code in names else str(exc.detail)
    return error_body(names.get(exc.status_code, "HTTPError"), detail, exc.status_code, exc.headers)


async def on_disconnect(request: Request, exc: Exception) -> Response:
    return error_body("ClientDisconnect", "the client went away before the upload finished", 400)


async def on_unexpected(request: Request, exc: Exception) -> Response:
    logger.error("http.unexpected_error method=%s path=%s", request.method, request.url.path, exc_info=exc)
    return error_body("InternalError", "the service could not complete this request; the log has details", 500)


async def on_storage_error(request: Request, exc: Exception) -> Response:
    """A write the full disk refused (of the upload, or of the database) is a 507 saying so; any other is a 500."""
    reason = full_disk_reason(exc)
    if reason is None:
        return await on_unexpected(request, exc)
    logger.error("http.storage_full method=%s path=%s reason=%s", request.method, request.url.path, exc)
    return await on_request_error(request, storage_full(reason))


@contextlib.asynccontextmanager
async def _lifespan(_: Starlette) -> AsyncIterator[None]:
    # What is alive once the service has started (modules, routes, settings, pools) leaves the cyclic
    # collector's sight: its full passes over it paused the event loop for 70-90 ms, every status
    # request in flight with them (py-spy and gc.callbacks, 50 pollers during a 1M-row import).
    redact_access_log()
    freeze_startup_heap()
    yield


def create_app(runtime: Runtime) -> Starlette:
    register_url_convertor("id", IdConvertor())
    app = Starlette(
        routes=_routes(),
        lifespan=_lifespan,
        middleware=[Middleware(TrailingSlash)],
        exception_handlers={
            RequestError: on_request_error,
            HTTPException: on_http_error,
            ClientDisconnect: on_disconnect,
            OSError: on_storage_error,
            DBAPIError: on_storage_error,
            Exception: on_unexpected,
        },
    )
    app.router.redirect_slashes = False
    app.state.runtime = runtime
    app.state.credentials = CredentialCache(runtime.settings.auth_cache_seconds)
    app.state.snapshots = StatusSnapshots(runtime.settings.status_cache_seconds)
    app.state.limits = AccessLimits.from_settings(runtime.settings)
    return app
