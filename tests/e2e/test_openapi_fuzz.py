"""schemathesis reads the running service's own OpenAPI document and throws generated requests at every operation.

Whatever it sends (valid or deliberately invalid), the service answers with a documented status and body, and
never with a server error. The limits are switched off here so that every request reaches the endpoint it aims at
instead of stopping at a 429.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import hypothesis
import hypothesis.errors
import pytest
import schemathesis
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import Failure, FailureGroup
from schemathesis.core.result import Ok
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from app.api.openapi import OPENAPI_PATH, XLSX
from tests.conftest import RedisDatabase
from tests.depth import examples
from tests.e2e.conftest import ADMIN, TEST_SETTINGS, deployed
from tests.e2e.service import Service

EXAMPLES_PER_OPERATION = examples(15)
UNLIMITED = {
    "IMPORTER_RATE_LIMIT_PER_SECOND": "0",
    "IMPORTER_MAX_RUNNING_IMPORTS": "0",
    "IMPORTER_LOGIN_FAILURES_BEFORE_THROTTLE": "0",
}
# Headers that frame the HTTP message itself, written by the client library, not by a caller of the API: a
# generated "content-length: attachment" is refused by the HTTP server (uvicorn's parser) with its own
# 400 text/plain before any endpoint could answer.
FRAMING_HEADERS = {"content-length", "transfer-encoding", "host", "connection"}
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

# A spreadsheet upload is bytes on the wire, like application/octet-stream.
schemathesis.serializer.alias(XLSX, "application/octet-stream")


@pytest.fixture(scope="module", params=["embedded", "production"])
def fuzzed_service(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory, redis_db: RedisDatabase
) -> Iterator[Service]:
    data_dir = tmp_path_factory.mktemp(f"fuzz-{request.param}")
    with deployed(request.param, data_dir, TEST_SETTINGS | UNLIMITED, redis_db, split_workers=1) as running:
        yield running


def published_schema(service: Service) -> schemathesis.BaseSchema:
    config = schemathesis.Config.from_dict(
        {"base-url": service.base_url, "generation": {"max-examples": EXAMPLES_PER_OPERATION, "database": "none"}}
    )
    return schemathesis.openapi.from_url(service.base_url + OPENAPI_PATH, config=config)


Operation = schemathesis.APIOperation[Any, Any, Any, Any]


def fuzz(operation: Operation, mode: schemathesis.GenerationMode) -> list[str]:
    """Every failed check of generated requests to one operation, each with a curl command that repeats it."""
    failures: list[str] = []

    @hypothesis.given(case=operation.as_strategy(generation_mode=mode))
    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        deadline=None,
        database=None,
        phases=[hypothesis.Phase.explicit, hypothesis.Phase.generate],
        suppress_health_check=list(hypothesis.HealthCheck),
    )
    def send(case: schemathesis.Case[Operation]) -> None:
        for name in [name for name in case.headers or {} if name.lower() in FRAMING_HEADERS]:
            del case.headers[name]
        response = case.call(auth=ADMIN, timeout=30)
        try:
            case.validate_response(response, checks=CHECKS)
        except (Failure, FailureGroup) as failure:
            found = failure.exceptions if isinstance(failure, FailureGroup) else (failure,)
            checks = "; ".join(f"{each.title}: {each.message.strip()[:300]}" for each in found)
            failures.append(f"{case.as_curl_command()} --user {ADMIN[0]}\n  -> {response.status_code}: {checks}")

    try:
        send()
    except hypothesis.errors.Unsatisfiable:
        # An operation that takes no input (health, this document) has no invalid request to make.
        assert mode is schemathesis.GenerationMode.NEGATIVE
    return failures


def test_no_generated_request_gets_a_server_error_or_an_undocumented_answer(fuzzed_service: Service) -> None:
    loaded = list(published_schema(fuzzed_service).get_all_operations())
    operations = [result.ok() for result in loaded if isinstance(result, Ok)]
    assert len(operations) == len(loaded), "every operation of the document loads"

    failures = [failure for operation in operations for mode in schemathesis.GenerationMode
                for failure in fuzz(operation, mode)]  # fmt: skip

    assert not failures, f"{len(failures)} generated requests failed a check:\n\n" + "\n\n".join(failures[:20])
