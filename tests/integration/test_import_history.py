"""The history of imports, as an ops script reads it: each listed import says what its own status says."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.api.rendering import render_status
from app.db import Database
from app.errors import BadRequest
from app.jobs import ImportState
from app.service import job_status, list_jobs
from tests.factories import make_csv, product_row
from tests.integration.pipeline_driver import drain, job, make_principal, make_runtime, submit


def test_a_failed_import_listed_in_the_history_shows_the_problems_its_status_shows(
    database: Database, tmp_path: Path
) -> None:
    runtime, queue = make_runtime(database, tmp_path)
    principal = make_principal(database)
    job_id = submit(runtime, principal, make_csv([product_row("1"), product_row("2", price="x"), product_row("3")]))
    drain(runtime, queue)
    assert job(runtime, job_id).state == ImportState.FAILED

    views, total = list_jobs(runtime, principal, "FAILED", None, 1, 50)

    assert total == 1
    listed = render_status(views[0])
    status = render_status(job_status(runtime, principal, job_id))
    assert listed == status
    assert isinstance(listed["details"], list)
    assert listed["details"][3]["type"] == "recordValidation"
    assert "Retail Price must be a decimal number" in listed["details"][3]["description"]


def test_an_unknown_import_type_in_the_history_filter_is_refused_naming_the_valid_ones(
    database: Database, tmp_path: Path
) -> None:
    runtime, _ = make_runtime(database, tmp_path)
    principal = make_principal(database)

    with pytest.raises(BadRequest) as refused:
        list_jobs(runtime, principal, None, "PRODUCTS", 1, 50)

    assert refused.value.detail == (
        "unknown importType 'PRODUCTS'; valid import types are PRODUCT, CATEGORY, CUSTOMER, ADDRESS, ORDER, ASSET"
    )
