"""The API's first publish on a new embedded broker file lands though a worker starting beside it makes the same
tables and queue row at the same moment; a channel kombu closed under a publish is retried, not None.client."""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, cast

import pytest
from amqp import RecoverableConnectionError
from celery import Celery
from kombu import Connection
from kombu.transport.sqlalchemy.models import metadata as kombu_metadata
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.exc import OperationalError

from app.settings import Settings
from workers import embedded_broker
from workers.celery_app import PLAN_TASK, QUEUE_NAME, CeleryJobQueue, make_celery

# kombu's models ask for lazy="noload", which SQLAlchemy 2.1 deprecates; the service's processes only warn of it.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings.from_env({"IMPORTER_DATA_DIR": str(tmp_path)})


@pytest.fixture
def api(settings: Settings) -> Iterator[Celery]:
    app = make_celery(settings)
    yield app
    app.close()


@pytest.fixture
def worker_engine(settings: Settings) -> Iterator[Engine]:
    """The worker's own connections to the broker file, as another process has them: no wait for a lock."""
    engine = create_engine(settings.broker_url, connect_args={"timeout": 0})
    yield engine
    engine.dispose()


@contextmanager
def before_the_apis(statement: str, worker: Engine, step: Callable[[], None]) -> Iterator[list[str]]:
    """Runs the worker's step once, just before the API's broker connection runs a statement starting so."""
    ran: list[str] = []

    def hook(connection: Any, _cursor: Any, sql: str, *_args: Any) -> None:
        if not ran and connection.engine is not worker and sql.lstrip().startswith(statement):
            ran.append(sql)
            step()

    event.listen(Engine, "before_cursor_execute", hook)
    try:
        yield ran
    finally:
        event.remove(Engine, "before_cursor_execute", hook)


def published_tasks(settings: Settings) -> list[tuple[str, str]]:
    """(queue, task) of every message in the broker file."""
    path = settings.broker_url.removeprefix("sqlite:///")
    with sqlite3.connect(path) as connection:
        rows = connection.execute(
            "SELECT q.name, m.payload FROM kombu_message m JOIN kombu_queue q ON q.id = m.queue_id"
        ).fetchall()
    connection.close()
    return [(queue, json.loads(payload)["headers"]["task"]) for queue, payload in rows]


def test_the_first_publish_lands_though_a_worker_makes_the_brokers_tables_between_the_apis_look_and_its_create(
    settings: Settings, api: Celery, worker_engine: Engine
) -> None:
    waited: list[str] = []

    def worker_makes_the_tables() -> None:
        try:
            kombu_metadata.create_all(worker_engine)
        except OperationalError as error:
            waited.append(str(error.orig))  # the API holds the write lock: the worker waits for it

    with before_the_apis("CREATE TABLE kombu_queue", worker_engine, worker_makes_the_tables) as ran:
        CeleryJobQueue(api).enqueue_plan(1)

    assert ran
    assert waited == ["database is locked"]
    kombu_metadata.create_all(worker_engine)  # once the lock is free, the worker finds them made
    assert published_tasks(settings) == [(QUEUE_NAME, PLAN_TASK)]


def test_the_first_publish_lands_though_a_worker_adds_the_queues_row_between_the_apis_look_and_its_insert(
    settings: Settings, api: Celery, worker_engine: Engine
) -> None:
    def worker_adds_the_queue() -> None:
        with worker_engine.begin() as connection:
            connection.exec_driver_sql("INSERT INTO kombu_queue (name) VALUES (?)", (QUEUE_NAME,))

    with before_the_apis("INSERT INTO kombu_queue", worker_engine, worker_adds_the_queue) as ran:
        CeleryJobQueue(api).enqueue_plan(1)

    assert ran
    assert published_tasks(settings) == [(QUEUE_NAME, PLAN_TASK)]


def test_a_closed_channel_says_its_connection_is_lost_so_that_kombu_retries_on_a_new_one(settings: Settings) -> None:
    with Connection(embedded_broker.broker_url(settings.broker_url)) as connection:
        channel = cast(embedded_broker.Channel, connection.channel())
        channel.close()  # as Connection.ensure does when a publish's queue declaration met a connection error

        with pytest.raises(RecoverableConnectionError) as raised:
            channel.basic_publish(channel.prepare_message("{}"), "", QUEUE_NAME)

        assert isinstance(raised.value, connection.recoverable_connection_errors)
