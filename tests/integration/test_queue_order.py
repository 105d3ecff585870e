"""A small import is not kept waiting behind a large one's queued chunks: plans and each import's first chunks
are taken before the later chunks queued before them, on the embedded broker and on Redis, as a worker takes
them (the Celery app's own queues and broker settings, over real connections)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from celery import Celery

from app.settings import Settings
from tests.conftest import RedisDatabase
from workers.celery_app import BULK_QUEUE, CHUNK_TASK, PLAN_TASK, QUEUE_NAME, CeleryJobQueue, make_celery

# kombu's models ask for lazy="noload", which SQLAlchemy 2.1 deprecates; the service's processes only warn of it.
pytestmark = pytest.mark.filterwarnings("ignore:The ``noload`` loader strategy is deprecated")


@pytest.fixture(params=["embedded", "redis"])
def app(request: pytest.FixtureRequest, tmp_path: Path, redis_db: RedisDatabase) -> Iterator[Celery]:
    environment = {"IMPORTER_DATA_DIR": str(tmp_path)}
    if request.param == "redis":
        environment["IMPORTER_BROKER_URL"] = redis_db.url
    made = make_celery(Settings.from_env(environment))
    yield made
    made.close()


def taken(app: Celery, count: int) -> list[tuple[str, list[int], str]]:
    """(task, arguments, queue) of the next `count` messages, taken one at a time from every queue a worker
    consumes, as a worker takes them."""
    received: list[tuple[str, list[int], str]] = []

    def on_message(message: Any) -> None:
        arguments, _keywords, _embed = message.decode()
        received.append((message.headers["task"], arguments, message.delivery_info["routing_key"]))
        message.ack()

    with app.connection_for_read() as connection:
        queues = [queue(connection.default_channel) for queue in app.amqp.queues.values()]
        with connection.Consumer(queues, on_message=on_message, prefetch_count=1):
            while len(received) < count:
                connection.drain_events(timeout=10)
    return received


def test_a_plan_and_first_chunks_are_taken_before_a_large_imports_later_chunks_queued_before_them(app: Celery) -> None:
    jobs = CeleryJobQueue(app)
    for chunk_no in range(5):  # a large import's chunks, all queued
        jobs.enqueue_chunk(1, chunk_no)
    jobs.enqueue_plan(2)  # then a small import: its plan, and later its one chunk
    jobs.enqueue_chunk(2, 0)

    order = taken(app, 7)

    assert [(task, arguments) for task, arguments, _ in order] == [
        (CHUNK_TASK, [1, 0]),
        (CHUNK_TASK, [1, 1]),
        (PLAN_TASK, [2]),
        (CHUNK_TASK, [2, 0]),
        (CHUNK_TASK, [1, 2]),
        (CHUNK_TASK, [1, 3]),
        (CHUNK_TASK, [1, 4]),
    ]
    assert [queue for _, _, queue in order] == [QUEUE_NAME] * 4 + [BULK_QUEUE] * 3
