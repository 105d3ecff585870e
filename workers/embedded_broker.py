"""A Celery broker on a SQLite file of its own, so that the embedded default needs no server.

It is kombu's SQLAlchemy transport with two defects mended:
- after a worker child dies, kombu re-queues its message from a second thread over the same
  database session, which can kill the worker and lose the message: every use of the channel's
  session is serialised with a lock;
- a `polling_interval` transport option is passed on to `create_engine`, which refuses it: only
  engine options reach the engine, and the file runs in WAL mode with a long busy timeout.
Delivered messages are never deleted by kombu; they are purged here after a while.

No broker of this kind survives a whole-worker SIGKILL with its message: the job tables are the
record of what is left to do, and workers sweep them (see app.importing.reaper).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqlalchemy
from sqlalchemy import create_engine, event, text

ALIAS = "importer-sqlite"
PURGE_EVERY_SECONDS = 60.0
KEEP_DELIVERED = timedelta(minutes=10)
_ENGINE_OPTIONS = ("pool_size", "max_overflow", "pool_recycle", "pool_timeout", "echo")


def broker_url(sqlite_url: str) -> str:
    """The kombu URL for a `sqlite:///path` broker setting."""
    TRANSPORT_ALIASES[ALIAS] = f"{__name__}:Transport"
    return f"{ALIAS}+{sqlite_url}"


def _sqlite_engine(url: str, options: dict[str, Any]) -> Any:
    engine = create_engine(
        url,
        connect_args={"timeout": 60, "check_same_thread": False},
        **{name: value for name, value in options.items() if name in _ENGINE_OPTIONS},
    )

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection: Any, _record: Any) -> None:
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA busy_timeout=60000")
        cursor.close()

    return engine


class Channel(kombu_sqlalchemy.Channel):
    _engines: dict[str, Any] = {}

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        self._session_lock = threading.RLock()
        self._last_purge = time.monotonic()
        super().__init__(connection, **kwargs)

    def _engine_from_config(self) -> Any:
        client: Any = self.connection.client
        return _sqlite_engine(str(client.hostname), dict(client.transport_options))

    def _get(self, queue: str, timeout: float | None = None) -> Any:
        with self._session_lock:
            if time.monotonic() - self._last_purge > PURGE_EVERY_SECONDS:
                self._purge_delivered()
            return super()._get(queue)

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        with self._session_lock:
            super()._put(queue, payload, **kwargs)

    def _purge(self, queue: str) -> int:
        with self._session_lock:
            return int(super()._purge(queue))

    def _size(self, queue: str) -> int:
        with self._session_lock:
            return int(super()._size(queue))

    def _purge_delivered(self) -> None:
        self._last_purge = time.monotonic()
        cutoff = datetime.now() - KEEP_DELIVERED  # kombu stamps messages in local time
        table = self.message_cls.__table__.name
        try:
            self.session.execute(
                text(f"DELETE FROM {table} WHERE visible = 0 AND timestamp < :cutoff"),
                {"cutoff": cutoff},
            )
            self.session.commit()
        except Exception:
            self.session.rollback()


class Transport(kombu_sqlalchemy.Transport):
    Channel = Channel
