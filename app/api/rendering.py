"""The wire shapes: the contract's ImportStatus JSON and records read back, in camelCase."""

from __future__ import annotations

import json
from datetime import datetime

from app.jobs import ImportProblem, ImportState, ImportStatus, as_utc
from app.service import StatusView

CONTRACT_DATE = "%Y.%m.%d %H:%M:%S"


def contract_date(moment: datetime | None) -> str | None:
    return None if moment is None else as_utc(moment).strftime(CONTRACT_DATE)


def iso_date(moment: datetime | None) -> str | None:
    return None if moment is None else as_utc(moment).isoformat().replace("+00:00", "Z")


def status_url(status_id: int) -> str:
    return f"/admin/api/importer/status/{status_id}"


def files_of(job: ImportStatus) -> list[dict[str, object]]:
    return list(json.loads(job.files)) if job.files else []


def locate(files: list[dict[str, object]], row: int | None) -> tuple[str | None, int | None]:
    """A row of a ZIP import as its file and the row that file's user sees."""
    if row is None or not files:
        return None, row
    holder = files[0]
    for file in files:
        if int(str(file["offset"])) < row:
            holder = file
    return str(holder["name"]), row - int(str(holder["offset"]))


def problem_json(problem: ImportProblem, files: list[dict[str, object]] | None = None) -> dict[str, object]:
    file, row = locate(files or [], problem.row_number)
    rendered: dict[str, object] = {
        "fieldName": problem.field_name,
        "fieldValue": problem.field_value,
        "rowNumber": row,
        "message": problem.message,
        "column": problem.column,
        "severity": problem.severity,
    }
    if file is not None:
        rendered["file"] = file
    return rendered


def problem_item(problem: ImportProblem, files: list[dict[str, object]] | None = None) -> dict[str, object]:
    return problem_json(problem, files) | {"kind": problem.kind}


def contract_json(problems: list[dict[str, object]]) -> str:
    """Problems as the contract writes them inside a detail's description: compact, `[{"fieldName":"..."}]`."""
    return json.dumps(problems, ensure_ascii=False, separators=(",", ":"))


def _details(view: StatusView) -> list[dict[str, str]]:
    job = view.job
    files = files_of(job)
    header = contract_json([problem_json(p, files) for p in view.header_problems])
    records = contract_json([problem_json(p, files) for p in view.record_problems])
    if job.state == ImportState.FAILED:
        return [
            {"type": "status", "description": "error"},
            {"type": "message", "description": job.message or "the import failed"},
            {"type": "headerValidation", "description": header},
            {"type": "recordValidation", "description": records},
        ]
    if job.state == ImportState.CANCELLED:
        return [
            {"type": "status", "description": "cancelled"},
            {"type": "message", "description": job.message or "the import was cancelled"},
        ]
    details = [{"type": "sandbox", "description": f"imported into sandbox {job.sandbox_id}"}] if job.sandbox_id else []
    # What holds it up: its staged rows lost, or the broker it waits for.
    if job.state in (ImportState.START_REQUESTED, ImportState.IN_PROCESS) and job.message:
        details.append({"type": "message", "description": job.message})
    if view.record_problems:
        details.append({"type": "recordValidation", "description": records})
    return details


def _records_failed(job: ImportStatus) -> int:
    """The rows that failed: counted by the finalize once an import ends, and until then (or when it was
    cancelled) the rows its validated chunks found with an error so far."""
    if job.import_state in (ImportState.COMPLETED, ImportState.FAILED):
        return job.records_failed
    return job.error_count


def render_status(view: StatusView) -> dict[str, object]:
    job = view.job
    assert job.id is not None
    return {
        "status": job.state,
        "createdDate": contract_date(job.created_at),
        "lastUpdateDate": contract_date(job.updated_at),
        "totalRecords": job.total_records,
        "percentComplete": float(job.percent_complete),
        "statusId": job.id,
        "statusUrl": status_url(job.id),
        "details": _details(view),
        "importType": job.import_type,
        "importSpecification": job.specification,
        "fileType": job.file_type,
        "encoding": job.encoding,
        "delimiter": job.delimiter,
        "sheetName": job.sheet_name,
        "catalogId": job.catalog_id,
        "siteId": job.site_id,
        "sandboxId": job.sandbox_id or None,
        "userId": job.user_id,
        "submittedBy": job.submitted_by,
        "recordsCreated": job.records_created,
        "recordsUpdated": job.records_updated,
        "recordsSkipped": job.records_skipped,
        "recordsFailed": _records_failed(job),
        "problemCount": job.problem_count,
        "onError": job.on_error,
        "dryRun": job.dry_run,
        "startedDate": contract_date(job.started_at),
        "finishedDate": contract_date(job.finished_at),
        "maxErrors": job.max_errors,
        "retryOf": job.retry_of,
        "retriedAs": job.retried_as,
        "files": [
            {"name": file["name"], "fileType": file["fileType"], "totalRecords": file["totalRecords"]}
            for file in files_of(job)
        ],
    }


def camel(name: str) -> str:
    head, *rest = name.split("_")
    return head + "".join(part[:1].upper() + part[1:] for part in rest)


def render_record(data: dict[str, object]) -> dict[str, object]:
    """Field names in camelCase, times in ISO 8601 UTC; attribute and option names kept as given."""
    out: dict[str, object] = {}
    for name, value in data.items():
        if isinstance(value, datetime):
            value = iso_date(value)
        elif name == "translations" and isinstance(value, dict):
            value = {camel(field): locales for field, locales in value.items()}
        elif name in ("skus", "items") and isinstance(value, list):
            value = [render_record(item) for item in value]
        out[camel(name)] = value
    return out
