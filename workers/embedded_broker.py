"""A Celery broker on a SQLite file of its own, so that the embedded default needs no server.

It is kombu's SQLAlchemy transport with these defects mended:
- kombu makes its tables and a queue's row by looking first and adding what it did not find, which is safe
  between the threads of one process only: the API and a worker starting beside it on a new file both added
  them, and the loser's first publish failed (see _create_tables and Channel._get_or_create);
- after a worker child dies, kombu re-queues its message from a second thread over the same
  database session, which can kill the worker and lose the message: every use of the channel's
  session is serialised with a lock;
- a `polling_interval` transport option is passed on to `create_engine`, which refuses it: only
  engine options reach the engine, and the file runs in WAL mode with a long busy timeout.
Delivered messages are never deleted by kombu; they are purged here after a while. And where kombu takes turns
between a worker's queues, the queues are asked in name order, as the Redis transport is told to (see
celery_app.QUEUE_NAME): a small import's tasks go ahead of a large one's queued chunks.

No broker of this kind survives a whole-worker SIGKILL with its message: the job tables are the
record of what is left to do, and workers sweep them (see app.importing.reaper).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime, timedelta
from queue import Empty
from typing import Any

from amqp import RecoverableConnectionError
from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import sqlalchemy as kombu_sqlalchemy
from kombu.transport.sqlalchemy.models import metadata as kombu_metadata
from kombu.utils.scheduling import FairCycle
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import IntegrityError, OperationalError

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

    _create_tables(engine)
    return engine


def _create_tables(engine: Any) -> None:
    """Make kombu's tables holding SQLite's write lock from the first look to the last CREATE TABLE.

    kombu's own create_all looks for each table, then creates the missing ones, outside any transaction: a worker
    starting beside the API on a new file created kombu_queue between the API's look and its CREATE TABLE, which
    failed ("table kombu_queue already exists"). kombu took that for a lost connection and closed the channel its
    publish held, and the publish then failed on the closed channel. Here the second process waits for the lock and
    finds the tables made; kombu's create_all after this one finds them too."""
    with engine.connect() as connection:
        connection.exec_driver_sql("BEGIN IMMEDIATE")
        kombu_metadata.create_all(connection)
        connection.commit()


class _InNameOrder(FairCycle):
    """Asks the queues for a message in the order of their names every time, where kombu's FairCycle takes
    turns: "importer" (plans, first chunks) before "importer.bulk" (see celery_app.QUEUE_NAME)."""

    def get(self, callback: Any, **kwargs: Any) -> Any:
        for queue in sorted(self.resources):
            try:
                return self.fun(queue, callback, **kwargs)
            except self.predicate:
                continue
        raise self.predicate()


class Channel(kombu_sqlalchemy.Channel):
    _engines: dict[str, Any] = {}

    def __init__(self, connection: Any, **kwargs: Any) -> None:
        self._session_lock = threading.RLock()
        self._last_purge = time.monotonic()
        super().__init__(connection, **kwargs)

    def _reset_cycle(self) -> None:
        self._cycle = _InNameOrder(self._get_and_deliver, self._active_queues, Empty)

    def _engine_from_config(self) -> Any:
        client: Any = self.connection.client
        return _sqlite_engine(str(client.hostname), dict(client.transport_options))

    def _open(self) -> Any:
        """A channel kombu has closed has no connection to read its settings from. Producer._publish holds its
        channel across declaring the queue, and that declaration's retry closes it on a connection error: the
        publish then opened the closed channel's first session and failed with AttributeError, which nothing
        retries. Said as a lost connection, it makes the publish's own retry take a new channel."""
        if self.connection is None:
            raise RecoverableConnectionError("channel disconnected")
        return super()._open()

    def _get_or_create(self, queue: str) -> Any:
        """kombu looks for the queue's row, then adds it: another process adding it between the two (the worker
        beside the API, each publishing or consuming first) made the loser's insert fail on the unique name.
        That row is the one wanted, so it is read again."""
        get_or_create = super()._get_or_create  # type: ignore[misc]  # not in kombu's type stubs
        with self._session_lock:
            try:
                return get_or_create(queue)
            except IntegrityError:
                self.session.rollback()
                return get_or_create(queue)

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
    # kombu.common's word for a closed channel is retried as a lost connection (the stubs allow SQLAlchemy's only).
    connection_errors = (OperationalError, RecoverableConnectionError)  # type: ignore[assignment]
