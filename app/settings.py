"""Settings: every knob of the service, read once from IMPORTER_* environment variables."""

from __future__ import annotations

import ipaddress
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from kombu.transport import TRANSPORT_ALIASES
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError

from app.errors import SettingsError

PREFIX = "IMPORTER_"
# The names logging and uvicorn both know (uvicorn has no WARN or FATAL).
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def _int(env: Mapping[str, str], name: str, default: int) -> int:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise SettingsError(f"{PREFIX}{name} must be a whole number, got {raw!r}") from None


def _float(env: Mapping[str, str], name: str, default: float) -> float:
    raw = env.get(PREFIX + name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise SettingsError(f"{PREFIX}{name} must be a number, got {raw!r}")
    return value


def _seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A period something waits or repeats by: zero or less would spin, or stop the thread that waits."""
    value = _float(env, name, default)
    if value <= 0:
        raise SettingsError(f"{PREFIX}{name} must be a number of seconds above 0, got {value:g}")
    return value


def _str(env: Mapping[str, str], name: str, default: str) -> str:
    raw = env.get(PREFIX + name)
    return default if raw is None or raw.strip() == "" else raw.strip()


def _port(env: Mapping[str, str]) -> int:
    port = _int(env, "PORT", 8000)
    if not 1 <= port <= 65535:
        raise SettingsError(f"{PREFIX}PORT must be a port number from 1 to 65535, got {port}")
    return port


def _log_level(env: Mapping[str, str]) -> str:
    level = _str(env, "LOG_LEVEL", "INFO").upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"{PREFIX}LOG_LEVEL must be one of {', '.join(LOG_LEVELS)}, got {level!r}")
    return level


def _database_url(env: Mapping[str, str], default: str) -> str:
    url = _str(env, "DATABASE_URL", default)
    try:
        backend = make_url(url).get_backend_name()
    except ArgumentError:
        backend = ""
    if backend not in ("sqlite", "postgresql"):
        raise SettingsError(
            f"{PREFIX}DATABASE_URL must be a PostgreSQL or SQLite URL, such as "
            f"postgresql+psycopg://user:password@host/database, got {_without_password(url)!r}"
        )
    return url


def _broker_url(env: Mapping[str, str], default: str) -> str:
    url = _str(env, "BROKER_URL", default)
    scheme = url.partition("://")[0].partition("+")[0]  # redis+socket:// is redis over a Unix socket
    if "://" not in url or (scheme != "sqlite" and scheme not in TRANSPORT_ALIASES):
        raise SettingsError(
            f"{PREFIX}BROKER_URL must be a Redis URL such as redis://host:6379/0 (or a SQLite file's, "
            f"sqlite:///path), got {_without_password(url)!r}"
        )
    return url


def _without_password(url: str) -> str:
    """A URL as it may be shown: a password in it (user:password@host) replaced by ***."""
    scheme, separator, rest = url.partition("://")
    credentials, at, host = rest.rpartition("@")
    if not separator or not at or ":" not in credentials:
        return url
    return f"{scheme}://{credentials.split(':', 1)[0]}:***@{host}"


def _retention_hours(env: Mapping[str, str]) -> int:
    # The reaper deletes uploads older than this, an upload still arriving or an import's still being read too.
    hours = _int(env, "UPLOAD_RETENTION_HOURS", 168)
    if hours < 1:
        raise SettingsError(f"{PREFIX}UPLOAD_RETENTION_HOURS must be a whole number of hours from 1, got {hours}")
    return hours


def _trusted_proxies(env: Mapping[str, str]) -> tuple[str, ...]:
    """Addresses or networks (comma-separated, or `*`) whose X-Forwarded-For is believed; none by default."""
    entries = tuple(part.strip() for part in _str(env, "TRUSTED_PROXIES", "").split(",") if part.strip())
    for entry in entries:
        try:
            if entry != "*":
                ipaddress.ip_network(entry, strict=False)
        except ValueError:
            raise SettingsError(
                f"{PREFIX}TRUSTED_PROXIES must be IP addresses or networks, comma-separated (or *), got {entry!r}"
            ) from None
    return entries


@dataclass(frozen=True)
class Settings:
    """The service's configuration; build it with `Settings.from_env()`."""

    data_dir: Path = Path(".importer")
    database_url: str = ""
    broker_url: str = ""
    upload_storage: str = ""
    host: str = "127.0.0.1"
    port: int = 8000
    worker_concurrency: int = 2
    worker_nice: int = 10
    # Each chunk costs about 50 ms of a worker's CPU whatever its size (the column path's polars plans, the
    # task, the chunk's statements): 1M product rows took the workers 16.5 CPU-s in 101 chunks of 10,000,
    # 21.3 in 201 of 5,000. A worker holds one chunk at a time (50-60 MB at 10,000 rows).
    chunk_rows: int = 10000
    # A sheet whose XML is at least this large is read by two workers at once (0: never; see sheet_split.py).
    sheet_split_bytes: int = 16 * 1024**2
    # An upload at least this large is merged on PostgreSQL while its chunks are staged (0: never; rolling_merge.py).
    rolling_merge_bytes: int = 16 * 1024**2
    max_upload_bytes: int = 1024**3
    max_field_bytes: int = 1024**2
    max_line_bytes: int = 16 * 1024**2
    max_rows: int = 20_000_000
    max_columns: int = 1000
    zip_max_entries: int = 10_000
    zip_max_bytes: int = 4 * 1024**3
    zip_max_ratio: int = 200
    specifications_dir: Path | None = None
    fetch_allow_hosts: frozenset[str] = frozenset()
    fetch_timeout_seconds: float = 10.0
    fetch_max_bytes: int = 20 * 1024**2
    upload_block_bytes: int = 1024**2
    upload_retention_hours: int = 168
    auth_cache_seconds: float = 60.0
    # A poller learns that a job finished at most this late: at 0.25 s, the XLSX benchmark's pollers saw
    # COMPLETED 0.15-0.3 s after it, at 0.1 s 0.0-0.12 s; 50 pollers' p99 stayed under 25 ms with either.
    status_cache_seconds: float = 0.1
    default_catalog_id: int = 1
    default_site_id: int = 1
    broker_poll_seconds: float = 0.1
    visibility_timeout_seconds: int = 3600
    lease_seconds: float = 120.0
    reap_seconds: float = 30.0
    max_attempts: int = 5
    log_level: str = "INFO"
    login_failures_before_throttle: int = 5
    login_failure_window_seconds: float = 300.0
    login_throttle_seconds: float = 60.0
    login_throttle_max_seconds: float = 3600.0
    login_checks_per_address: int = 4
    rate_limit_per_second: float = 20.0
    rate_limit_burst: int = 60
    max_running_imports: int = 10
    # Proxies whose X-Forwarded-For names the client (login lockouts are per address): none unless set.
    trusted_proxies: tuple[str, ...] = ()

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        data_dir = Path(_str(env, "DATA_DIR", ".importer")).resolve()
        database_url = _database_url(env, f"sqlite:///{data_dir / 'importer.db'}")
        broker_url = _broker_url(env, f"sqlite:///{data_dir / 'broker.db'}")
        default_storage = "database" if database_url.startswith("postgresql") else "local"
        storage = _str(env, "UPLOAD_STORAGE", default_storage)
        if storage not in ("local", "database"):
            raise SettingsError(f"{PREFIX}UPLOAD_STORAGE must be 'local' or 'database', got {storage!r}")
        return cls(
            data_dir=data_dir,
            database_url=database_url,
            broker_url=broker_url,
            upload_storage=storage,
            host=_str(env, "HOST", "127.0.0.1"),
            port=_port(env),
            worker_concurrency=max(1, _int(env, "WORKER_CONCURRENCY", os.cpu_count() or 2)),
            worker_nice=min(19, max(0, _int(env, "WORKER_NICE", 10))),
            chunk_rows=max(1, _int(env, "CHUNK_ROWS", 10000)),
            sheet_split_bytes=max(0, _int(env, "SHEET_SPLIT_BYTES", 16 * 1024**2)),
            rolling_merge_bytes=max(0, _int(env, "ROLLING_MERGE_BYTES", 16 * 1024**2)),
            max_upload_bytes=_int(env, "MAX_UPLOAD_BYTES", 1024**3),
            max_field_bytes=max(4096, _int(env, "MAX_FIELD_BYTES", 1024**2)),
            max_line_bytes=max(1024, _int(env, "MAX_LINE_BYTES", 16 * 1024**2)),
            max_rows=max(1, _int(env, "MAX_ROWS", 20_000_000)),
            max_columns=max(1, _int(env, "MAX_COLUMNS", 1000)),
            zip_max_entries=max(1, _int(env, "ZIP_MAX_ENTRIES", 10_000)),
            zip_max_bytes=max(1, _int(env, "ZIP_MAX_BYTES", 4 * 1024**3)),
            zip_max_ratio=max(1, _int(env, "ZIP_MAX_RATIO", 200)),
            specifications_dir=Path(_str(env, "SPECIFICATIONS_DIR", ""))
            if _str(env, "SPECIFICATIONS_DIR", "")
            else None,
            fetch_allow_hosts=frozenset(
                host.strip().lower() for host in _str(env, "FETCH_ALLOW_HOSTS", "").split(",") if host.strip()
            ),
            fetch_timeout_seconds=_seconds(env, "FETCH_TIMEOUT_SECONDS", 10.0),
            fetch_max_bytes=max(1, _int(env, "FETCH_MAX_BYTES", 20 * 1024**2)),
            upload_block_bytes=max(1024, _int(env, "UPLOAD_BLOCK_BYTES", 1024**2)),
            upload_retention_hours=_retention_hours(env),
            auth_cache_seconds=_float(env, "AUTH_CACHE_SECONDS", 60.0),
            status_cache_seconds=min(2.0, max(0.0, _float(env, "STATUS_CACHE_SECONDS", 0.1))),
            default_catalog_id=_int(env, "DEFAULT_CATALOG_ID", 1),
            default_site_id=_int(env, "DEFAULT_SITE_ID", 1),
            broker_poll_seconds=_seconds(env, "BROKER_POLL_SECONDS", 0.1),
            visibility_timeout_seconds=_int(env, "VISIBILITY_TIMEOUT_SECONDS", 3600),
            lease_seconds=_seconds(env, "LEASE_SECONDS", 120.0),
            reap_seconds=_seconds(env, "REAP_SECONDS", 30.0),
            max_attempts=max(1, _int(env, "MAX_ATTEMPTS", 5)),
            log_level=_log_level(env),
            login_failures_before_throttle=max(0, _int(env, "LOGIN_FAILURES_BEFORE_THROTTLE", 5)),
            login_failure_window_seconds=max(1.0, _float(env, "LOGIN_FAILURE_WINDOW_SECONDS", 300.0)),
            login_throttle_seconds=max(1.0, _float(env, "LOGIN_THROTTLE_SECONDS", 60.0)),
            login_throttle_max_seconds=max(1.0, _float(env, "LOGIN_THROTTLE_MAX_SECONDS", 3600.0)),
            login_checks_per_address=max(1, _int(env, "LOGIN_CHECKS_PER_ADDRESS", 4)),
            rate_limit_per_second=max(0.0, _float(env, "RATE_LIMIT_PER_SECOND", 20.0)),
            rate_limit_burst=max(1, _int(env, "RATE_LIMIT_BURST", 60)),
            max_running_imports=max(0, _int(env, "MAX_RUNNING_IMPORTS", 10)),
            trusted_proxies=_trusted_proxies(env),
        )

    @property
    def uses_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")

    @property
    def embedded_broker(self) -> bool:
        return self.broker_url.startswith("sqlite")

    @property
    def uses_data_dir(self) -> bool:
        """Whether anything is kept in `data_dir`: on PostgreSQL, Redis and database uploads nothing is, so a
        production process needs no writable folder (a container's working folder belongs to root)."""
        return self.uses_sqlite or self.embedded_broker or self.upload_storage == "local"

    @property
    def uploads_dir(self) -> Path:
        return self.data_dir / "uploads"
