"""API tokens for scripts: made on the command line, sent as `Authorization: Bearer`, revoked at once."""

from __future__ import annotations

import json
import re
import time

import httpx

from tests.e2e.service import Service, run_cli, wait_for_end
from tests.factories import contract_csv

SUBMIT = "/api/importer/PRODUCT?importSpecification=DefaultProductImportSpecification&catalogId=901"
TOKEN = re.compile(r"^imp_[A-Za-z0-9_-]{40,}$")


def create_token(service: Service, user: str, *label: str) -> str:
    result = run_cli(["tokens", "create", user, *(["--name", *label] if label else [])], service.env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip()


def bearer(service: Service, token: str) -> httpx.Client:
    return httpx.Client(base_url=service.base_url, headers={"Authorization": f"Bearer {token}"}, timeout=30)


def test_a_token_is_printed_once_and_imports_as_its_account(service: Service) -> None:
    service.add_user("feed", "feed-password-1", role="importer", types="PRODUCT")

    token = create_token(service, "feed", "nightly feed")
    with bearer(service, token) as script:
        accepted = script.post(SUBMIT, content=contract_csv(), headers={"Content-Type": "text/csv"})
        final = wait_for_end(script, accepted.json()["statusUrl"])[-1]
        history = script.get("/api/importer")

    assert TOKEN.match(token), token
    assert accepted.status_code == 200
    assert (final["status"], final["submittedBy"]) == ("COMPLETED", "feed")
    assert [item["submittedBy"] for item in history.json()["items"]] == ["feed"]


def test_tokens_list_shows_id_user_label_and_last_use_but_never_the_token(service: Service) -> None:
    service.add_user("lister", "lister-password-1", role="viewer")
    token = create_token(service, "lister", "dashboard")
    unused = create_token(service, "lister")
    with bearer(service, token) as script:
        assert script.get("/api/importer").status_code == 200

    listed = run_cli(["tokens", "list", "lister"], service.env)

    assert listed.returncode == 0, listed.stderr
    header, used_row, unused_row = listed.stdout.strip().splitlines()
    assert header.split()[:3] == ["ID", "USER", "LABEL"] and "LAST USED" in header
    assert used_row.split()[1:3] == ["lister", "dashboard"]
    assert unused_row.split()[1:3] == ["lister", "-"]
    assert (used_row.count("never"), unused_row.count("never")) == (1, 2), "last used is recorded; neither is revoked"
    assert token not in listed.stdout and unused not in listed.stdout
    assert token[4:12] not in listed.stdout


def test_a_script_reads_the_tokens_as_json_and_an_empty_list_names_the_deployment_read(service: Service) -> None:
    service.add_user("scripted", "scripted-password-1", role="viewer")
    token = create_token(service, "scripted", "tab\u00e9 feed")

    # and an operator who mistyped the data folder, on an embedded deployment
    mistyped = {name: value for name, value in service.env.items() if "_URL" not in name}
    mistyped["IMPORTER_DATA_DIR"] = str(service.data_dir / "typo")

    listed = run_cli(["tokens", "list", "scripted", "--json"], service.env)
    nobody = run_cli(["tokens", "list", "--json"], mistyped)
    none = run_cli(["tokens", "list"], mistyped)

    assert listed.returncode == 0, listed.stderr
    (item,) = json.loads(listed.stdout)
    assert (item["user"], item["label"]) == ("scripted", "tab\u00e9 feed")
    assert (item["lastUsed"], item["revoked"]) == (None, None)
    assert isinstance(item["id"], int) and re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", item["created"])
    assert token not in listed.stdout
    assert (nobody.returncode, json.loads(nobody.stdout)) == (0, [])
    assert none.returncode == 0 and none.stdout.strip().splitlines()[1:] == []
    assert none.stderr.strip() == f"no tokens in the database sqlite:///{service.data_dir / 'typo' / 'importer.db'}"


def test_a_revoked_token_gets_401_at_once(service: Service) -> None:
    service.add_user("leaky", "leaky-password-1", role="viewer")
    token = create_token(service, "leaky")
    token_id = run_cli(["tokens", "list", "leaky"], service.env).stdout.splitlines()[1].split()[0]

    with bearer(service, token) as script:
        before = script.get("/api/importer")
        revoked = run_cli(["tokens", "revoke", token_id], service.env)
        after = script.get("/api/importer")

    assert before.status_code == 200
    assert revoked.returncode == 0 and revoked.stdout.strip() == f"token {token_id} revoked"
    assert after.status_code == 401
    assert after.json() == {
        "error": "Unauthorized",
        "detail": "the API token is not valid: it is unknown or was revoked",
    }


def test_a_token_in_the_query_string_is_refused_with_400_naming_the_header(service: Service) -> None:
    service.add_user("urly", "urly-password-1", role="viewer")
    token = create_token(service, "urly")

    with httpx.Client(base_url=service.base_url, timeout=30) as anonymous, bearer(service, token) as script:
        answers = [
            anonymous.get("/api/importer", params={name: token}) for name in ("token", "access_token", "api_key")
        ]
        even_with_header = script.get("/api/importer", params={"token": token})

    for answer in [*answers, even_with_header]:
        assert answer.status_code == 400
        assert answer.json()["error"] == "BadRequest"
        assert "Authorization: Bearer" in answer.json()["detail"]
        assert token not in answer.text


def test_a_token_sent_in_the_query_string_by_mistake_never_reaches_the_log(service: Service) -> None:
    service.add_user("careless", "careless-password-1", role="viewer")
    token = create_token(service, "careless")

    with httpx.Client(base_url=service.base_url, timeout=30) as anonymous:
        answers = [
            anonymous.get("/api/importer", params={"status": "FAILED", name: token})
            for name in ("token", "access_token", "api_key")
        ]
        answers.append(anonymous.get("/api/importer?%74oken=" + token))  # the name percent-encoded
        answers.append(anonymous.get("/api/importer", params={"note": token}))  # under another name
    time.sleep(0.5)

    assert [answer.status_code for answer in answers] == [400, 400, 400, 400, 401]
    log = service.log("serve.log")
    assert "GET /api/importer?status=FAILED&token=[redacted]" in log, "the access log keeps the request, not the token"
    assert token[4:] not in log


def test_a_token_has_its_accounts_role_and_an_unknown_token_gets_401(service: Service) -> None:
    service.add_user("reader", "reader-password-1", role="viewer")
    token = create_token(service, "reader")

    with bearer(service, token) as viewer, bearer(service, "imp_" + "x" * 43) as stranger:
        submitted = viewer.post(SUBMIT, content=contract_csv(), headers={"Content-Type": "text/csv"})
        reading = viewer.get("/api/data/PRODUCT", params={"catalogId": -2})
        unknown = stranger.get("/api/importer")

    assert submitted.status_code == 403
    assert submitted.json()["detail"] == "account 'reader' may not submit PRODUCT imports"
    assert reading.status_code == 200
    assert unknown.status_code == 401


def test_a_token_for_an_unknown_account_is_not_created(service: Service) -> None:
    result = run_cli(["tokens", "create", "nobody-here"], service.env)

    assert result.returncode != 0
    assert "no account named 'nobody-here'" in result.stderr
    assert result.stdout == ""
