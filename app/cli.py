"""The `importer` command: serve, worker, users. The composition root of every process."""

from __future__ import annotations

import getpass
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime

import click
from sqlalchemy.engine import make_url
from sqlalchemy.exc import DBAPIError

from app.accounts import Role, add_account, count_accounts, set_password
from app.data_folder import keep_files_private, prepare_data_dir, unwritable
from app.db import Database
from app.errors import AccountError, ImporterError
from app.priority import lower_worker_priority
from app.settings import Settings
from app.specification_files import install_specifications
from app.tokens import create_token, list_tokens, revoke_token

logger = logging.getLogger("app.cli")

# Set by `importer serve` for its worker, which stops when serve is gone.
PARENT_PID_VARIABLE = "IMPORTER_SUPERVISOR_PID"


def _settings() -> Settings:
    try:
        return Settings.from_env()
    except ImporterError as error:
        raise click.ClickException(str(error)) from None


def _configure_logging(settings: Settings) -> None:
    logging.basicConfig(
        level=settings.log_level,
        format="%(asctime)s %(levelname)s %(process)d %(name)s %(message)s",
    )


def _prepare(settings: Settings, writes: bool = True) -> Database:
    """Folders, schema and the deployment's own specifications, before anything serves or works (or, unless it
    `writes`, only reads)."""
    try:
        if settings.uses_data_dir:
            prepare_data_dir(settings.data_dir)
    except OSError as error:
        raise click.ClickException(
            f"IMPORTER_DATA_DIR {settings.data_dir} cannot be created: {error.strerror}"
        ) from None
    # A folder mounted read-only, remounted so after a disk error, or another user's: a service started on it
    # answered every import with 500, and `users add` with a traceback.
    refused = unwritable(settings) if writes else None
    if refused is not None:
        raise click.ClickException(
            f"IMPORTER_DATA_DIR {settings.data_dir} cannot be written ({refused}): the embedded default keeps its "
            "database, broker and uploads there"
        )
    try:
        install_specifications(settings.specifications_dir)
    except ImporterError as error:
        raise click.ClickException(str(error)) from None
    db = Database(settings.database_url)
    try:
        db.create_schema()
    except DBAPIError as error:
        db.dispose()
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        reason = (str(error.orig).strip().splitlines() or [type(error.orig).__name__])[0]
        raise click.ClickException(f"the database at {shown} cannot be used: {reason}") from None
    return db


class PasswordsDiffer(click.ClickException):
    def __init__(self) -> None:
        super().__init__("the two passwords differ")


def _read_password(confirm: bool) -> str:
    """The first line of standard input; a terminal gets a hidden prompt and a confirmation."""
    if sys.stdin.isatty():
        password = getpass.getpass("Password: ")
        if confirm and getpass.getpass("Password (again): ") != password:
            raise PasswordsDiffer
        return password
    line = sys.stdin.readline()
    return line.rstrip("\r\n")


@click.group()
def main() -> None:
    """Importer: bulk imports for a commerce back office."""
    keep_files_private()


@main.group()
def users() -> None:
    """Manage accounts."""


@users.command("add")
@click.argument("name")
@click.option("--role", type=click.Choice([role.value for role in Role]), required=True)
@click.option("--types", "types", default="", help="Limit an importer to these import types, e.g. PRODUCT,CATEGORY.")
def users_add(name: str, role: str, types: str) -> None:
    """Create an account; the password is read from standard input."""
    settings = _settings()
    db = _prepare(settings)
    password = _read_password(confirm=True)
    import_types = frozenset(part.strip().upper() for part in types.split(",") if part.strip()) or None
    try:
        with db.write() as session:
            add_account(session, name, password, Role(role), import_types)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"account '{name.strip()}' created with role {role}")


@users.command("passwd")
@click.argument("name")
def users_passwd(name: str) -> None:
    """Give an account a new password, read from standard input; the old one stops working at once."""
    db = _prepare(_settings())
    password = _read_password(confirm=True)
    try:
        with db.write() as session:
            set_password(session, name, password)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"password of '{name.strip()}' changed")


@main.group()
def tokens() -> None:
    """Manage API tokens for scripts (sent as `Authorization: Bearer TOKEN`)."""


def _when(moment: datetime | None) -> str:
    return "never" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


@tokens.command("create")
@click.argument("username")
@click.option("--name", "label", default=None, help="A label to recognise the token by, e.g. nightly-feed.")
def tokens_create(username: str, label: str | None) -> None:
    """Create a token acting as USERNAME; it is printed once, on standard output, and never again."""
    db = _prepare(_settings())
    try:
        with db.write() as session:
            row, token = create_token(session, username, label)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"token {row.id} created for '{username}'; it is shown only now, so keep it safe", err=True)
    click.echo(token)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.strftime("%Y-%m-%dT%H:%M:%SZ")


@tokens.command("list")
@click.argument("username", required=False)
@click.option("--json", "as_json", is_flag=True, help="A JSON array, for scripts (UTC times, ISO 8601; null: never).")
def tokens_list(username: str | None, as_json: bool) -> None:
    """List tokens (all, or USERNAME's): id, user, label, created, last used; never the token itself."""
    settings = _settings()
    db = _prepare(settings, writes=False)
    try:
        with db.read() as session:
            listed = list_tokens(session, username)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    if not listed:  # a mistyped IMPORTER_DATA_DIR reads a new, empty deployment: say which one was read
        shown = make_url(settings.database_url).render_as_string(hide_password=True)
        click.echo(f"no tokens in the database {shown}", err=True)
    if as_json:
        items = [
            {"id": t.id, "user": t.username, "label": t.label, "created": _iso(t.created_at),
             "lastUsed": _iso(t.last_used_at), "revoked": _iso(t.revoked_at)}
            for t in listed
        ]  # fmt: skip
        click.echo(json.dumps(items, ensure_ascii=False))
        return
    rows = [("ID", "USER", "LABEL", "CREATED (UTC)", "LAST USED (UTC)", "REVOKED (UTC)")]
    rows += [
        (str(t.id), t.username, t.label or "-", _when(t.created_at), _when(t.last_used_at), _when(t.revoked_at))
        for t in listed
    ]
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    for row in rows:
        click.echo("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())


@tokens.command("revoke")
@click.argument("token_id", metavar="ID", type=click.IntRange(1, 2**31 - 1))
def tokens_revoke(token_id: int) -> None:
    """Revoke a token at once: requests sending it get 401."""
    db = _prepare(_settings())
    try:
        with db.write() as session:
            revoke_token(session, token_id)
    except AccountError as error:
        raise click.ClickException(str(error)) from None
    click.echo(f"token {token_id} revoked")


def _first_admin(db: Database) -> None:
    """On a terminal, ask for the first admin; elsewhere, say how to create one."""
    with db.read() as session:
        if count_accounts(session) > 0:
            return
    if not sys.stdin.isatty():
        raise click.ClickException(
            "no account exists yet. Create the first admin, then start again:\n"
            "    importer users add NAME --role admin    (the password is read from standard input)"
        )
    click.echo("No account exists yet: create the first admin.")
    name = click.prompt("Admin username")
    while True:
        try:
            password = _read_password(confirm=True)
        except PasswordsDiffer as error:
            click.echo(f"Error: {error.message}; once more.")
            continue
        try:
            with db.write() as session:
                add_account(session, name, password, Role.ADMIN)
            break
        except AccountError as error:
            click.echo(f"Error: {error}")
            if "already exists" in str(error) or "username" in str(error):
                name = click.prompt("Admin username")
    click.echo(f"account '{name}' created with role admin")


class WorkerSupervisor:
    """Runs `importer worker` as a child process and starts it again if it dies."""

    def __init__(self, concurrency: int) -> None:
        self._command = [sys.executable, "-m", "app.cli", "worker", "--concurrency", str(concurrency)]
        self._process: subprocess.Popen[bytes] | None = None
        self._stopping = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="worker-supervisor", daemon=True)

    def _spawn(self) -> subprocess.Popen[bytes]:
        # In a session of its own: what a terminal sends its foreground job (Ctrl-C, the hang-up when it
        # closes) reaches serve alone, which stops the worker warmly. A hang-up that reached the worker's
        # pool processes while it was stopping killed them under it, and left it waiting for them forever.
        return subprocess.Popen(
            self._command, env={**os.environ, PARENT_PID_VARIABLE: str(os.getpid())}, start_new_session=True
        )

    def start(self) -> None:
        self._process = self._spawn()
        self._thread.start()

    def _watch(self) -> None:
        while not self._stopping.wait(1.0):
            process = self._process
            if process is not None and process.poll() is not None and not self._stopping.is_set():
                logger.warning("serve.worker_exited code=%s restarting", process.returncode)
                self._process = self._spawn()

    def stop(self) -> None:
        self._stopping.set()
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@main.command()
@click.option(
    "--port", type=click.IntRange(1, 65535), default=None, help="Port to listen on (default 8000, or IMPORTER_PORT)."
)
@click.option("--host", default=None, help="Address to bind (default 127.0.0.1, or IMPORTER_HOST).")
@click.option("--no-worker", is_flag=True, help="Start the API alone; run `importer worker` elsewhere.")
def serve(port: int | None, host: str | None, no_worker: bool) -> None:
    """Start the HTTP API, and (unless --no-worker) worker processes beside it."""
    import uvicorn

    from app.api.http_protocol import BoundedHeadProtocol
    from app.main import create_app
    from app.runtime import build_runtime
    from workers.celery_app import CeleryJobQueue, make_celery

    settings = _settings()
    _configure_logging(settings)
    _first_admin(_prepare(settings))
    runtime = build_runtime(settings, CeleryJobQueue(make_celery(settings)))
    supervisor = None if no_worker else WorkerSupervisor(settings.worker_concurrency)
    if supervisor is not None:
        supervisor.start()
    # uvicorn re-raises the signal that stopped it; make SIGTERM, and the hang-up of a closing terminal,
    # unwind so that the worker is stopped too.
    signal.signal(signal.SIGTERM, _exit_on_signal)
    signal.signal(signal.SIGHUP, _exit_on_signal)
    try:
        uvicorn.run(
            create_app(runtime),
            host=host or settings.host,
            port=port or settings.port,
            log_level=settings.log_level.lower(),
            timeout_graceful_shutdown=10,
            http=BoundedHeadProtocol,
            # uvicorn believes X-Forwarded-For from 127.0.0.1 unless told otherwise; with no proxy in front every
            # client of the embedded default is local, and could name a new address for each password guess.
            proxy_headers=bool(settings.trusted_proxies),
            forwarded_allow_ips=list(settings.trusted_proxies) or None,
        )
    finally:
        if supervisor is not None:
            supervisor.stop()


def _exit_on_signal(signum: int, _frame: object) -> None:
    raise SystemExit(128 + signum)


def _stop_when_orphaned(parent: int) -> None:
    """A worker started by `importer serve` stops (warmly) when serve is gone, even if it was killed."""
    while os.getppid() == parent:
        time.sleep(1.0)
    logger.warning("worker.supervisor_gone parent=%s stopping", parent)
    os.kill(os.getpid(), signal.SIGTERM)


def _say_which_code_is_compiled() -> None:
    from app.importing import normalized
    from app.importing.readers import sheet_rows

    if sheet_rows.COMPILED and normalized.COMPILED:
        logger.info("worker.sheet_rows reader=compiled records=compiled")
    else:
        logger.warning(
            "worker.sheet_rows reader=%s records=%s: the compiled modules were not built when the package was "
            "installed (no C compiler?), so XLSX sheets are read several times slower and the records of sheets "
            "and JSON written slower; reinstall with gcc or cc present",
            "compiled" if sheet_rows.COMPILED else "python",
            "compiled" if normalized.COMPILED else "python",
        )


@main.command()
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Worker processes (default: IMPORTER_WORKER_CONCURRENCY).",
)
def worker(concurrency: int | None) -> None:
    """Start a Celery worker that runs imports; start as many as you like, on any machine."""
    from workers.celery_app import make_celery
    from workers.reap_clock import start_reap_clock

    settings = _settings()
    _configure_logging(settings)
    _prepare(settings).dispose()
    # Workers on other machines are started with their own settings: name the ones that must be the API's.
    logger.info(
        "worker.settings database=%s specifications_dir=%s chunk_rows=%s",
        make_url(settings.database_url).render_as_string(hide_password=True),
        settings.specifications_dir or "unset",
        settings.chunk_rows,
    )
    # Imports are batch work and status polls are interactive: on a shared machine the API goes first.
    lower_worker_priority(settings.worker_nice)
    _say_which_code_is_compiled()
    app = make_celery(settings)
    start_reap_clock(app, settings.reap_seconds)
    parent = os.environ.get(PARENT_PID_VARIABLE, "")
    if parent.isdigit():
        threading.Thread(target=_stop_when_orphaned, args=(int(parent),), name="orphan-watch", daemon=True).start()
    app.worker_main(
        [
            "worker",
            f"--loglevel={settings.log_level}",
            "--pool=prefork",
            f"--concurrency={concurrency or settings.worker_concurrency}",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            f"--hostname=importer-{os.getpid()}@%h",
        ]
    )


if __name__ == "__main__":
    main()
