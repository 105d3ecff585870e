"""The `importer` command as a new user meets it: accounts from standard input, the first admin."""

from __future__ import annotations

import fcntl
import os
import select
import stat
import subprocess
import termios
import time
from pathlib import Path

from app.accounts import check_password, find_account
from app.db import Database
from tests.e2e.service import IMPORTER, free_port, run_cli


def clean_env(data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("IMPORTER_")}
    return env | {"IMPORTER_DATA_DIR": str(data_dir)}


def account_password_ok(data_dir: Path, name: str, password: str) -> bool:
    db = Database(f"sqlite:///{data_dir / 'importer.db'}")
    try:
        with db.read() as session:
            return check_password(find_account(session, name), password)
    finally:
        db.dispose()


def test_users_add_reads_the_password_from_the_first_line_of_standard_input(tmp_path: Path) -> None:
    result = run_cli(["users", "add", "ops", "--role", "importer"], clean_env(tmp_path), stdin="pass-word-9\nignored\n")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "account 'ops' created with role importer"
    assert account_password_ok(tmp_path, "ops", "pass-word-9")
    assert not account_password_ok(tmp_path, "ops", "ignored")


def test_the_data_folder_and_its_database_are_readable_by_their_owner_alone(tmp_path: Path) -> None:
    data_dir = tmp_path / ".importer"
    old_umask = os.umask(0o022)  # as most shells have it: new files readable by everyone
    try:
        result = run_cli(["users", "add", "ops", "--role", "admin"], clean_env(data_dir), stdin="pass-word-9\n")
    finally:
        os.umask(old_umask)

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700, "password hashes and customers' data are private"
    assert stat.S_IMODE((data_dir / "importer.db").stat().st_mode) & 0o077 == 0


def test_a_data_folder_left_open_to_others_by_an_earlier_version_is_closed_to_them(tmp_path: Path) -> None:
    data_dir = tmp_path / ".importer"
    data_dir.mkdir(mode=0o755)
    data_dir.chmod(0o755)

    result = run_cli(["users", "add", "ops", "--role", "admin"], clean_env(data_dir), stdin="pass-word-9\n")

    assert result.returncode == 0, result.stderr
    assert stat.S_IMODE(data_dir.stat().st_mode) == 0o700


def test_a_second_account_with_the_same_name_is_refused(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    run_cli(["users", "add", "ops", "--role", "admin"], env, stdin="pass-word-9\n")

    again = run_cli(["users", "add", "ops", "--role", "admin"], env, stdin="pass-word-8\n")

    assert again.returncode != 0
    assert "an account named 'ops' already exists" in again.stderr
    assert account_password_ok(tmp_path, "ops", "pass-word-9")


def test_a_second_account_named_the_same_in_another_case_is_refused_saying_so(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    run_cli(["users", "add", "ops", "--role", "importer"], env, stdin="pass-word-9\n")

    again = run_cli(["users", "add", "Ops", "--role", "admin"], env, stdin="pass-word-8\n")

    assert again.returncode == 1
    assert again.stderr.strip() == (
        "Error: an account named 'ops' already exists; names that differ only in case are one name"
    )
    assert "Traceback" not in again.stderr and again.stdout == ""
    assert account_password_ok(tmp_path, "ops", "pass-word-9") and not account_password_ok(
        tmp_path, "Ops", "pass-word-8"
    )


def test_a_forgotten_or_leaked_password_is_replaced_and_the_old_one_stops_working(tmp_path: Path) -> None:
    env = clean_env(tmp_path)
    run_cli(["users", "add", "ops", "--role", "admin"], env, stdin="pass-word-9\n")

    changed = run_cli(["users", "passwd", "ops"], env, stdin="new-pass-word-1\n")
    unknown = run_cli(["users", "passwd", "nobody"], env, stdin="new-pass-word-1\n")
    too_short = run_cli(["users", "passwd", "ops"], env, stdin="short\n")

    assert changed.returncode == 0, changed.stderr
    assert changed.stdout.strip() == "password of 'ops' changed"
    assert (unknown.returncode, unknown.stderr) == (1, "Error: no account named 'nobody'\n")
    assert (too_short.returncode, too_short.stderr) == (1, "Error: a password needs at least 8 characters\n")
    assert account_password_ok(tmp_path, "ops", "new-pass-word-1")
    assert not account_password_ok(tmp_path, "ops", "pass-word-9")


def test_an_import_type_misspelt_in_types_is_refused_rather_than_making_an_importer_of_nothing(
    tmp_path: Path,
) -> None:
    env = clean_env(tmp_path)

    result = run_cli(
        ["users", "add", "feed", "--role", "importer", "--types", "product,CATEGORIES"], env, stdin="pass-word-9\n"
    )

    assert result.returncode == 1
    assert result.stderr == (
        "Error: unknown import type 'CATEGORIES'; "
        "valid import types are PRODUCT, CATEGORY, CUSTOMER, ADDRESS, ORDER, ASSET\n"
    )
    assert not account_password_ok(tmp_path, "feed", "pass-word-9")


def test_types_are_refused_for_an_admin_or_a_viewer_whom_they_would_not_limit_as_asked(tmp_path: Path) -> None:
    env = clean_env(tmp_path)

    admin = run_cli(["users", "add", "boss", "--role", "admin", "--types", "PRODUCT"], env, stdin="pass-word-9\n")
    viewer = run_cli(["users", "add", "peek", "--role", "viewer", "--types", "PRODUCT"], env, stdin="pass-word-9\n")

    assert (admin.returncode, viewer.returncode) == (1, 1)
    assert admin.stderr == "Error: --types limits an importer; an admin imports every type\n"
    assert viewer.stderr == "Error: --types limits an importer; a viewer imports nothing\n"
    assert not account_password_ok(tmp_path, "boss", "pass-word-9")


def test_serve_without_any_account_and_without_a_terminal_says_how_to_create_one(tmp_path: Path) -> None:
    result = run_cli(["serve", "--port", str(free_port())], clean_env(tmp_path))

    assert result.returncode != 0
    assert "no account exists yet" in result.stderr
    assert "importer users add NAME --role admin" in result.stderr


def _read_until(fd: int, text: str, timeout: float = 30) -> str:
    seen = b""
    deadline = time.monotonic() + timeout
    while text.encode() not in seen:
        if time.monotonic() > deadline:
            raise AssertionError(f"never saw {text!r}; saw {seen.decode(errors='replace')!r}")
        ready, _, _ = select.select([fd], [], [], 0.5)
        if ready:
            seen += os.read(fd, 4096)
    return seen.decode(errors="replace")


def _make_controlling_terminal() -> None:
    os.setsid()
    fcntl.ioctl(0, termios.TIOCSCTTY, 0)


def test_the_first_serve_on_a_terminal_asks_for_the_first_admin_and_starts(tmp_path: Path) -> None:
    primary, secondary = os.openpty()
    port = free_port()
    process = subprocess.Popen(
        [IMPORTER, "serve", "--port", str(port)],
        stdin=secondary, stdout=secondary, stderr=secondary, env=clean_env(tmp_path),
        preexec_fn=_make_controlling_terminal,
    )  # fmt: skip
    os.close(secondary)
    try:
        _read_until(primary, "Admin username")
        os.write(primary, b"first-admin\n")
        _read_until(primary, "Password:")
        os.write(primary, b"first-password-1\n")
        _read_until(primary, "Password (again):")
        os.write(primary, b"first-password-1\n")
        output = _read_until(primary, "Application startup complete")
    finally:
        process.terminate()
        process.wait(timeout=30)
        os.close(primary)

    assert "account 'first-admin' created with role admin" in output
    assert "first-password-1" not in output
    assert account_password_ok(tmp_path, "first-admin", "first-password-1")


def test_the_first_admins_password_typed_differently_twice_is_asked_again(tmp_path: Path) -> None:
    primary, secondary = os.openpty()
    process = subprocess.Popen(
        [IMPORTER, "serve", "--port", str(free_port())],
        stdin=secondary, stdout=secondary, stderr=secondary, env=clean_env(tmp_path),
        preexec_fn=_make_controlling_terminal,
    )  # fmt: skip
    os.close(secondary)
    output = ""
    try:
        _read_until(primary, "Admin username")
        os.write(primary, b"first-admin\n")
        for password, again in [(b"first-password-1", b"first-pasword-1"), (b"first-password-1", b"first-password-1")]:
            output += _read_until(primary, "Password:")
            os.write(primary, password + b"\n")
            output += _read_until(primary, "Password (again):")
            os.write(primary, again + b"\n")
        output += _read_until(primary, "Application startup complete")
    finally:
        process.terminate()
        process.wait(timeout=30)
        os.close(primary)

    assert "the two passwords differ; once more." in output
    assert account_password_ok(tmp_path, "first-admin", "first-password-1")


def test_serve_refuses_to_start_with_a_broken_specification_file(tmp_path: Path) -> None:
    folder = tmp_path / "specs"
    folder.mkdir()
    (folder / "feed.json").write_text(
        '{"name": "Feed", "importType": "PRODUCT", "columns": [{"header": "A", "field": "x"}]}'
    )
    env = clean_env(tmp_path) | {"IMPORTER_SPECIFICATIONS_DIR": str(folder)}

    result = run_cli(["serve", "--port", str(free_port())], env)

    assert result.returncode != 0
    assert "specification file feed.json: unknown field 'x'" in result.stderr


def test_serve_with_a_malformed_setting_says_which_in_one_line(tmp_path: Path) -> None:
    env = clean_env(tmp_path) | {"IMPORTER_LOG_LEVEL": "chatty"}
    run_cli(["users", "add", "ops", "--role", "admin"], env, stdin="pass-word-9\n")

    result = run_cli(["serve", "--port", str(free_port())], env)

    assert result.returncode == 1
    assert (
        result.stderr
        == "Error: IMPORTER_LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL, got 'CHATTY'\n"
    )


def test_a_database_that_cannot_be_reached_is_named_in_one_line(tmp_path: Path) -> None:
    nowhere = f"postgresql+psycopg://importer:secret-pw@127.0.0.1:{free_port()}/importer"
    env = clean_env(tmp_path) | {"IMPORTER_DATABASE_URL": nowhere}

    result = run_cli(["users", "add", "ops", "--role", "admin"], env, stdin="pass-word-9\n")

    assert result.returncode == 1
    assert result.stderr.startswith("Error: the database at postgresql+psycopg://importer:***@127.0.0.1:")
    assert "cannot be used: connection failed" in result.stderr
    assert len(result.stderr.splitlines()) == 1
    assert "secret-pw" not in result.stderr


def test_a_data_folder_that_cannot_be_created_is_named_in_one_line(tmp_path: Path) -> None:
    (tmp_path / "a-file").write_text("not a folder")
    env = clean_env(tmp_path / "a-file" / "data")

    result = run_cli(["users", "add", "ops", "--role", "admin"], env, stdin="pass-word-9\n")

    assert result.returncode == 1
    assert (
        result.stderr == f"Error: IMPORTER_DATA_DIR {tmp_path / 'a-file' / 'data'} cannot be created: Not a directory\n"
    )


def test_production_needs_no_writable_data_folder(tmp_path: Path, pg_url: str) -> None:
    # As in the image, whose working folder belongs to root: nothing of PostgreSQL + Redis lives in ./.importer.
    (tmp_path / "a-file").write_text("not a folder")
    production = {"IMPORTER_DATABASE_URL": pg_url, "IMPORTER_BROKER_URL": "redis://redis:6379/0"}
    env = clean_env(tmp_path / "a-file" / ".importer") | production

    result = run_cli(["users", "add", "ops", "--role", "admin"], env, stdin="pass-word-9\n")

    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "account 'ops' created with role admin"


def test_a_worker_count_or_port_out_of_range_is_refused_before_anything_starts(tmp_path: Path) -> None:
    env = clean_env(tmp_path)

    workers = run_cli(["worker", "--concurrency", "-3"], env)
    port = run_cli(["serve", "--port", "99999"], env)

    assert workers.returncode == 2
    assert "Invalid value for '--concurrency': -3 is not in the range x>=1." in workers.stderr
    assert port.returncode == 2
    assert "Invalid value for '--port': 99999 is not in the range 1<=x<=65535." in port.stderr


def read_only(folder: Path, args: list[str]) -> list[str]:
    """The command `importer ARGS`, run where `folder` cannot be written: made read-only for a user, and for root,
    whom permissions do not stop, mounted read-only in a mount namespace of the command's own."""
    if os.geteuid() != 0:
        for path in [folder, *folder.rglob("*")]:
            path.chmod(path.stat().st_mode & ~0o222)
        return [IMPORTER, *args]
    mount = 'mount --bind "$0" "$0" && mount -o remount,ro,bind "$0" && exec "$@"'
    return ["unshare", "--mount", "--propagation", "private", "sh", "-c", mount, str(folder), IMPORTER, *args]


def test_a_data_folder_that_cannot_be_written_is_refused_in_one_line_before_anything_starts(tmp_path: Path) -> None:
    # A volume mounted read-only, a disk the kernel remounted read-only after an error, or a folder of another user.
    data = tmp_path / "data"
    env = clean_env(data)
    assert run_cli(["users", "add", "ops", "--role", "admin"], env, stdin="pass-word-9\n").returncode == 0

    def run(*args: str) -> subprocess.CompletedProcess[str]:
        command = read_only(data, list(args))
        return subprocess.run(command, input="pass-word-9\n", env=env, capture_output=True, text=True, timeout=30)

    refused = [run("serve", "--port", str(free_port())), run("worker"), run("users", "add", "eve", "--role", "viewer")]

    for result in refused:
        assert result.returncode == 1, result.stderr[-2000:]
        assert result.stderr.startswith(f"Error: IMPORTER_DATA_DIR {data} cannot be written ("), result.stderr
        assert len(result.stderr.splitlines()) == 1, result.stderr
