"""The OpenAPI 3.1 document of the API: a table of endpoints turned into data, served without authentication."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from functools import cache

from starlette.requests import Request
from starlette.responses import JSONResponse

from app.api.params import MAX_PAGE_SIZE
from app.commerce.sandboxes import SandboxState
from app.importing.formats import FileType
from app.jobs import ImportState, OnError, ProblemKind, Severity
from specifications import SPECIFICATIONS, ImportType

OPENAPI_PATH = "/api/openapi.json"
IMPORTER_PREFIXES = {"/api/importer": "", "/admin/api/importer": "admin"}
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
Json = dict[str, object]
# Ids, scopes and counts are INTEGER columns (32 bits on PostgreSQL).
INT_MIN, INT_MAX = -(2**31), 2**31 - 1

ERRORS: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "a parameter, import type, specification or fileType is wrong, or a token was sent in the URL"),
    401: ("Unauthorized", "missing or wrong credentials (WWW-Authenticate: Basic), or an unknown or revoked token"),
    403: ("Forbidden", "the account's role or import types do not allow this"),
    404: ("NotFound", "no such import or record, or not visible to this account"),
    405: ("MethodNotAllowed", "the path names an import type, which only accepts POST"),
    409: ("Conflict", "the state of the import or of its sandbox does not allow this"),
    413: ("UploadTooLarge", "the upload is over IMPORTER_MAX_UPLOAD_BYTES (BodyTooLarge: a JSON body over 64 KiB)"),
    415: (
        "UnsupportedMediaType",
        "the body's bytes contradict the declared fileType, or its Content-Encoding is neither gzip nor deflate",
    ),
    422: ("IdempotencyMismatch", "an Idempotency-Key was reused with a different body, import type or parameter"),
    429: (
        "TooManyRequests",
        "a limit was reached (failed logins, password checks, request rate, running imports); see Retry-After",
    ),
    503: ("ServiceStopping", "the service stopped while the upload still arrived; nothing was kept: send it again"),
    507: (
        "InsufficientStorage",
        "the service could not store the request (its disk full, its uploads folder gone); nothing was kept",
    ),
}
# Every authenticated request may meet these: a token in the URL (400), no credentials (401), a limit (429).
ANY = (400, 401, 429)


def _enum(kinds: type[StrEnum]) -> Json:
    return {"type": "string", "enum": [kind.value for kind in kinds]}


def _int(minimum: int = INT_MIN, maximum: int = INT_MAX, nullable: bool = False) -> Json:
    return {"type": ["integer", "null"] if nullable else "integer", "minimum": minimum, "maximum": maximum}


def _param(name: str, where: str, schema: Json, description: str, required: bool = False) -> Json:
    return {"name": name, "in": where, "required": required or where == "path", "description": description,
            "schema": schema}  # fmt: skip


def _ref(kind: str, name: str) -> Json:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: Json, description: str) -> Json:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _page(item: Json) -> Json:
    return {
        "type": "object",
        "required": ["items", "page", "pageSize", "total"],
        "properties": {"items": {"type": "array", "items": item}, "page": {"type": "integer", "minimum": 1},
                       "pageSize": _int(1, MAX_PAGE_SIZE), "total": _int(0)},
    }  # fmt: skip


STRING: Json = {"type": "string"}
BINARY: Json = {"type": "string", "format": "binary"}
DATE: Json = {"type": "string", "pattern": r"^\d{4}\.\d{2}\.\d{2} \d{2}:\d{2}:\d{2}$"}
NULLABLE_DATE: Json = DATE | {"type": ["string", "null"]}
NULLABLE_STRING: Json = {"type": ["string", "null"]}

STATUS_ID = _param("statusId", "path", _int(1), "the import's statusId")
STATUS_ID_EITHER = _param("importTypeOrStatusId", "path", _int(1), "the import's statusId (a number)")
TYPE_EITHER = _param("importTypeOrStatusId", "path", _enum(ImportType), "the import type, e.g. PRODUCT")
IMPORT_TYPE = _param("importType", "path", _enum(ImportType), "the import type, e.g. PRODUCT")
SANDBOX_ID = _param("sandboxId", "path", _int(1), "the sandbox")
RECORD_KEY = _param("key", "path", {"type": "string", "minLength": 1}, "the record's key, e.g. a SKU Number")
SCOPE = (
    _param("catalogId", "query", _int(), "the catalog (default IMPORTER_DEFAULT_CATALOG_ID)"),
    _param("siteId", "query", _int(), "the site (default IMPORTER_DEFAULT_SITE_ID)"),
)
READ_SCOPE = (
    *SCOPE,
    _param("sandboxId", "query", _int(0), "read a sandbox's records over production (default 0: production); 404 "
           "for a sandbox this account may not see"),
)  # fmt: skip
PAGING = (
    _param("page", "query", _int(1), "the page, counted from 1"),
    _param("pageSize", "query", _int(1, MAX_PAGE_SIZE), "items per page (default 50)"),
)
HISTORY = (
    *PAGING,
    _param("status", "query", _enum(ImportState), "only imports in this state"),
    _param("importType", "query", _enum(ImportType), "only imports of this type"),
)
SUBMIT = (
    TYPE_EITHER,
    _param("importSpecification", "query", {"type": "string", "enum": sorted({spec.name for spec in SPECIFICATIONS})},
           "the specification (any case), e.g. DefaultProductImportSpecification", required=True),
    *SCOPE,
    _param("userId", "query", _int(), "recorded on the import"),
    _param("importToSandbox", "query", {"type": "boolean"}, "import into a sandbox rather than production"),
    _param("sandboxId", "query", _int(1), "with importToSandbox=true: an OPEN sandbox (default: a new one)"),
    _param("fileType", "query", _enum(FileType), "how to read the body (detected from its first bytes if not given)"),
    _param("onError", "query", _enum(OnError), "abort (the default: nothing is written) or skip invalid rows"),
    _param("maxErrors", "query", _int(0), "with onError=skip: fail the import past this many invalid rows"),
    _param("dryRun", "query", {"type": "boolean"}, "validate and count, write nothing"),
    _param("encoding", "query", {"type": "string", "enum": ["UTF-8", "Windows-1252", "ISO-8859-1"]},
           "a CSV's text encoding (any case; detected if not given)"),
    _param("delimiter", "query", {"type": "string", "enum": [",", ";", "\t", "|", "comma", "semicolon", "tab", "pipe"]},
           "a CSV's delimiter (detected from the header line if not given)"),
    _param("sheetName", "query", {"type": "string", "minLength": 1, "maxLength": 100},
           "the sheet of a workbook to read (default: the first)"),
    _param("Idempotency-Key", "header", {"type": "string", "minLength": 1, "maxLength": 255},
           "a submit repeated with the same key and body answers the first import"),
)  # fmt: skip
UPLOAD: Json = {
    "required": True,
    "description": "the file itself, or a multipart form whose file part is taken; either may be sent with "
    "Content-Encoding gzip or deflate",
    "content": {
        "text/csv": {"schema": STRING, "example": "SKU Number,Product Title,Retail Price\n2011,ProductB2011,3.99\n"},
        "application/octet-stream": {"schema": BINARY},
        XLSX: {"schema": BINARY},
        "multipart/form-data": {"schema": {"type": "object", "properties": {"file": BINARY}, "required": ["file"]}},
    },
}
FAILED_ROWS: Json = {
    "description": "the invalid rows with an Error column, as a file to fix and upload again, in the upload's own "
    "format (a ZIP upload's come as a ZIP of its files' failed rows)",
    "content": {
        "text/csv": {"schema": STRING},
        XLSX: {"schema": BINARY},
        "application/json": {"schema": STRING},
        "application/x-ndjson": {"schema": STRING},
        "application/zip": {"schema": BINARY},
    },
}
ASSET: Json = {
    "description": "the asset; a type that could run script comes as a sandboxed download",
    "content": {"*/*": {"schema": BINARY}},
}
TEMPLATE: Json = {
    "description": "the specification's header row and an example row",
    "content": {"text/csv": {"schema": STRING}, XLSX: {"schema": BINARY}},
}


@dataclass(frozen=True)
class Endpoint:
    method: str
    path: str
    operation_id: str
    summary: str
    ok: Json
    errors: tuple[int, ...] = ANY
    parameters: tuple[Json, ...] = ()
    body: Json | None = None
    public: bool = False
    status: str = "200"

    def operation(self, prefix_name: str = "") -> Json:
        name = prefix_name + self.operation_id[:1].upper() + self.operation_id[1:] if prefix_name else self.operation_id
        responses: Json = {self.status: self.ok}
        responses |= {str(code): _ref("responses", ERRORS[code][0]) for code in self.errors}
        found: Json = {"operationId": name, "summary": self.summary, "responses": responses}
        if self.parameters:
            found["parameters"] = list(self.parameters)
        if self.body is not None:
            found["requestBody"] = self.body
        if self.public:
            found["security"] = []
        return found


def _status(description: str) -> Json:
    return _json(_ref("schemas", "ImportStatus"), description)


# Paths relative to each of IMPORTER_PREFIXES.
IMPORTER_ENDPOINTS = (
    Endpoint("get", "", "listImports", "Imports, newest first; an importer sees its own",
             _json(_ref("schemas", "ImportStatusPage"), "a page of imports"), parameters=HISTORY),
    Endpoint("get", "/specifications", "listSpecifications", "Every import specification, column by column",
             _json(_ref("schemas", "SpecificationList"), "the specifications")),
    Endpoint("get", "/specifications/{name}/template", "specificationTemplate", "A file to fill for a specification",
             TEMPLATE, (*ANY, 404), (_param("name", "path", STRING, "the specification's name"),
                                     _param("fileType", "query", _enum(FileType), "CSV (the default) or XLSX"))),
    Endpoint("get", "/status/{statusId}", "importStatusByPath", "An import's status", _status("its status"),
             (*ANY, 404), (STATUS_ID,)),
    Endpoint("get", "/{importTypeOrStatusId}", "importStatus", "An import's status", _status("its status"),
             (*ANY, 404, 405), (STATUS_ID_EITHER,)),
    Endpoint("delete", "/{importTypeOrStatusId}", "cancelImportById", "Cancel an unfinished import",
             _status("CANCELLED"), (*ANY, 403, 404, 405, 409), (STATUS_ID_EITHER,)),
    Endpoint("post", "/{importTypeOrStatusId}", "submitImport", "Submit a file to import",
             _status("accepted: START_REQUESTED"), (*ANY, 403, 413, 415, 422, 503, 507), SUBMIT, UPLOAD),
    Endpoint("post", "/{statusId}/cancel", "cancelImport", "Cancel an unfinished import", _status("CANCELLED"),
             (*ANY, 403, 404, 409), (STATUS_ID,)),
    Endpoint("post", "/{statusId}/retry", "retryImport", "Import the upload of a FAILED or CANCELLED import again",
             _status("the new import"), (*ANY, 403, 404, 409, 507), (STATUS_ID,)),
    Endpoint("get", "/{statusId}/errors", "importErrors", "Every problem of an import, header problems first",
             _json(_ref("schemas", "ProblemPage"), "a page of problems"), (*ANY, 404), (STATUS_ID, *PAGING)),
    Endpoint("get", "/{statusId}/failed-rows", "failedRows", "The invalid rows of an import", FAILED_ROWS,
             (*ANY, 404, 409), (STATUS_ID,)),
)  # fmt: skip
OTHER_ENDPOINTS = (
    Endpoint("get", "/api/data/{importType}", "listRecords", "A page of imported records",
             _json(_ref("schemas", "RecordPage"), "a page of records"), (*ANY, 404),
             (IMPORT_TYPE, *READ_SCOPE, *PAGING)),
    Endpoint("get", "/api/data/{importType}/{key}", "readRecord", "One imported record",
             _json(_ref("schemas", "Record"), "the record"), (*ANY, 404), (IMPORT_TYPE, RECORD_KEY, *READ_SCOPE)),
    Endpoint("get", "/api/assets/{assetId}", "assetBytes", "The bytes of an imported asset, with their detected type",
             ASSET,
             (*ANY, 404), (_param("assetId", "path", _int(1), "the asset's id"),)),
    Endpoint("get", "/api/sandboxes", "listSandboxes", "Sandboxes, newest first",
             _json(_page(_ref("schemas", "Sandbox")), "a page of sandboxes"), parameters=PAGING),
    Endpoint("post", "/api/sandboxes", "createSandbox", "Open a sandbox for imports to land in before production",
             _json(_ref("schemas", "Sandbox"), "the new, OPEN sandbox"), (*ANY, 403, 413), status="201",
             body={"required": True, "content": {"application/json": {"schema": {
                 "type": "object", "required": ["name"], "properties": {"name": {"type": "string"}}}}}}),
    Endpoint("get", "/api/sandboxes/{sandboxId}", "getSandbox", "A sandbox and how many records it holds",
             _json(_ref("schemas", "Sandbox"), "the sandbox"), (*ANY, 404), (SANDBOX_ID,)),
    Endpoint("get", "/api/sandboxes/{sandboxId}/changes", "sandboxChanges", "What promoting the sandbox would change",
             _json(_page(_ref("schemas", "Change")), "a page of changes"), (*ANY, 404), (SANDBOX_ID, *PAGING)),
    Endpoint("post", "/api/sandboxes/{sandboxId}/promote", "promoteSandbox", "Merge a sandbox into production",
             _json(_ref("schemas", "Sandbox"), "PROMOTED, with recordsPromoted"), (*ANY, 403, 404, 409), (SANDBOX_ID,)),
    Endpoint("post", "/api/sandboxes/{sandboxId}/discard", "discardSandbox", "Delete a sandbox's records",
             _json(_ref("schemas", "Sandbox"), "DISCARDED, with recordsDiscarded"), (*ANY, 403, 404, 409),
             (SANDBOX_ID,)),
    Endpoint("get", "/api/audit", "listAudit", "Who imported, promoted and discarded what, newest first",
             _json(_page(_ref("schemas", "AuditEvent")), "a page of events"), parameters=PAGING),
    Endpoint("get", "/api/health", "health", "Whether the API answers", _json(_ref("schemas", "Health"), "it does"),
             (), public=True),
    Endpoint("get", OPENAPI_PATH, "openapi", "This document", _json({"type": "object"}, "the OpenAPI document"),
             (), public=True),
)  # fmt: skip


def _import_status() -> Json:
    counts = ("totalRecords", "recordsCreated", "recordsUpdated", "recordsSkipped", "recordsFailed", "problemCount")
    properties: Json = {
        "status": _enum(ImportState), "createdDate": DATE, "lastUpdateDate": DATE,
        "percentComplete": {"type": "number", "minimum": 0, "maximum": 100},
        "statusId": _int(1), "statusUrl": STRING, "details": {"type": "array", "items": _ref("schemas", "Detail")},
        "importType": STRING, "importSpecification": STRING, "fileType": STRING, "encoding": NULLABLE_STRING,
        "delimiter": NULLABLE_STRING, "sheetName": NULLABLE_STRING, "files": {"type": "array", "items": {
            "type": "object", "properties": {"name": STRING, "fileType": STRING, "totalRecords": _int(0)}}},
        "catalogId": _int(), "siteId": _int(), "sandboxId": _int(nullable=True), "userId": _int(nullable=True),
        "submittedBy": STRING, "onError": _enum(OnError), "dryRun": {"type": "boolean"},
        "maxErrors": _int(0, nullable=True), "startedDate": NULLABLE_DATE, "finishedDate": NULLABLE_DATE,
        "retryOf": _int(nullable=True), "retriedAs": _int(nullable=True),
    } | {name: _int(0) for name in counts}  # fmt: skip
    contract = ["status", "createdDate", "lastUpdateDate", "totalRecords", "percentComplete", "statusId", "statusUrl",
                "details"]  # fmt: skip
    return {"type": "object", "required": contract, "properties": properties}


def _schemas() -> Json:
    detail_types = ["status", "message", "headerValidation", "recordValidation"]
    problem: Json = {
        "type": "object",
        "required": ["message", "severity", "kind"],
        "properties": {"fieldName": NULLABLE_STRING, "fieldValue": NULLABLE_STRING, "rowNumber": _int(nullable=True),
                       "message": STRING, "column": NULLABLE_STRING, "severity": _enum(Severity),
                       "kind": _enum(ProblemKind)},
    }  # fmt: skip
    return {
        "ImportStatus": _import_status(),
        "Detail": {"type": "object", "required": ["type", "description"],
                   "properties": {"type": {"type": "string", "examples": detail_types}, "description": STRING}},
        "Problem": problem,
        "ProblemPage": _page(_ref("schemas", "Problem")),
        "ImportStatusPage": _page(_ref("schemas", "ImportStatus")),
        "Record": {"type": "object", "description": "the specification's fields in camelCase"},
        "Sandbox": {"type": "object", "required": ["sandboxId", "name", "state"], "properties": {
            "sandboxId": _int(1), "name": STRING, "state": _enum(SandboxState), "createdBy": STRING,
            "createdDate": NULLABLE_STRING, "closedBy": NULLABLE_STRING, "closedDate": NULLABLE_STRING,
            "records": _int(0), "recordsPromoted": _int(0), "recordsDiscarded": _int(0)}},
        "Change": {"type": "object", "required": ["type", "key", "change", "fields"], "properties": {
            "type": STRING, "key": {"type": "object"}, "change": {"type": "string", "enum": ["created", "updated"]},
            "fields": {"type": "array", "items": {"type": "object"}}}},
        "AuditEvent": {"type": "object", "required": ["id", "date", "account", "action"], "properties": {
            "id": _int(1), "date": STRING, "account": STRING, "userId": _int(nullable=True), "action": STRING,
            "statusId": _int(nullable=True), "sandboxId": _int(nullable=True), "detail": {"type": "object"}}},
        "SpecificationList": {"type": "object", "required": ["items"], "properties": {"items": {
            "type": "array", "items": {"type": "object", "required": ["name", "importType", "columns"],
                                       "properties": {"name": STRING, "importType": _enum(ImportType),
                                                      "columns": {"type": "array", "items": {"type": "object"}}}}}}},
        "RecordPage": _page(_ref("schemas", "Record")),
        "Error": {"type": "object", "required": ["error", "detail"], "additionalProperties": False,
                  "properties": {"error": STRING, "detail": STRING}},
        "Health": {"type": "object", "required": ["status"], "properties": {"status": {"const": "ok"}}},
    }  # fmt: skip


def _components() -> Json:
    responses = {name: _json(_ref("schemas", "Error"), f"{code}: {what}") for code, (name, what) in ERRORS.items()}
    responses["Unauthorized"]["headers"] = {"WWW-Authenticate": {"schema": STRING}}
    for waiting in ("TooManyRequests", "InsufficientStorage"):
        responses[waiting]["headers"] = {
            "Retry-After": {"description": "seconds to wait before trying again", "schema": _int(1)}
        }
    return {
        "schemas": _schemas(),
        "responses": responses,
        "securitySchemes": {
            "basicAuth": {"type": "http", "scheme": "basic", "description": "an account's name and password"},
            "bearerAuth": {"type": "http", "scheme": "bearer", "description": "a token from `importer tokens create`"},
        },
    }


def _paths() -> dict[str, Json]:
    paths: dict[str, Json] = {}
    for prefix, name in IMPORTER_PREFIXES.items():
        for endpoint in IMPORTER_ENDPOINTS:
            paths.setdefault(prefix + endpoint.path, {})[endpoint.method] = endpoint.operation(name)
    for endpoint in OTHER_ENDPOINTS:
        paths.setdefault(endpoint.path, {})[endpoint.method] = endpoint.operation()
    return paths


@cache
def openapi_document() -> Json:
    """The document every client and fuzzer reads; built once per process."""
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Importer",
            "version": "1",
            "description": "Bulk imports for a commerce back office, wire-compatible with Broadleaf Commerce's "
            'admin import API. Every error is JSON: {"error": "BadRequest", "detail": "..."}.',
        },
        "security": [{"basicAuth": []}, {"bearerAuth": []}],
        "paths": _paths(),
        "components": _components(),
    }


async def publish(request: Request) -> JSONResponse:
    return JSONResponse(openapi_document())
