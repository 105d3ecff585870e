"""Use cases called by the HTTP API and the command line."""

from app.service.control import cancel_job, retry_job
from app.service.records import asset_content, key_parts, list_records, read_record
from app.service.sandboxes import check_import_sandbox
from app.service.status import STATUS_PROBLEM_LIMIT, StatusView, failed_rows, job_status, list_jobs, list_problems
from app.service.submit import (
    Submission,
    Upload,
    authorise_submission,
    check_reading,
    check_submission,
    create_job,
    parse_import_type,
)

__all__ = [
    "STATUS_PROBLEM_LIMIT",
    "StatusView",
    "Submission",
    "Upload",
    "asset_content",
    "authorise_submission",
    "cancel_job",
    "check_import_sandbox",
    "check_reading",
    "check_submission",
    "create_job",
    "failed_rows",
    "job_status",
    "key_parts",
    "list_jobs",
    "list_problems",
    "list_records",
    "parse_import_type",
    "read_record",
    "retry_job",
]
