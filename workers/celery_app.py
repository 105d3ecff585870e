"""make_celery(settings): the Celery app of API and worker processes, and the queue it offers."""

from __future__ import annotations

import threading

from celery import Celery
from kombu import Queue

from app.runtime import Runtime, build_runtime
from app.settings import Settings
from workers import embedded_broker

PLAN_TASK = "importer.plan"
CHUNK_TASK = "importer.chunk"
PIECE_TASK = "importer.sheet_piece"
REAP_TASK = "importer.reap"
# Two queues, so that a small import is not kept waiting behind a large one's chunks: plans, sheet pieces and
# each import's first chunks in QUEUE_NAME, the rest of a large import's chunks in BULK_QUEUE. A worker takes
# from BULK_QUEUE only when nothing waits in QUEUE_NAME (the names sort in that order; see make_celery and
# embedded_broker.py), so a new import waits for the chunks that workers are running, not for those queued.
QUEUE_NAME = "importer"
BULK_QUEUE = "importer.bulk"
# An import's chunks that go ahead of queued bulk chunks: all of a small import's (two chunks, 20,000 rows by
# default), and a large import's first, so that its progress shows at once.
FIRST_CHUNKS = 2


class CeleryJobQueue:
    """JobQueue over Celery: messages carry ids only."""

    def __init__(self, app: Celery) -> None:
        self._app = app

    def enqueue_plan(self, job_id: int) -> None:
        self._app.send_task(PLAN_TASK, args=[job_id], queue=QUEUE_NAME)

    def enqueue_chunk(self, job_id: int, chunk_no: int) -> None:
        queue = QUEUE_NAME if chunk_no < FIRST_CHUNKS else BULK_QUEUE
        self._app.send_task(CHUNK_TASK, args=[job_id, chunk_no], queue=queue)

    def enqueue_piece(self, job_id: int) -> None:
        self._app.send_task(PIECE_TASK, args=[job_id], queue=QUEUE_NAME)


class RuntimeHolder:
    """Builds a worker process's Runtime on first use, after the pool has forked."""

    def __init__(self, settings: Settings, app: Celery) -> None:
        self.settings = settings
        self._app = app
        self._runtime: Runtime | None = None
        self._lock = threading.Lock()

    def get(self) -> Runtime:
        with self._lock:
            if self._runtime is None:
                self._runtime = build_runtime(self.settings, CeleryJobQueue(self._app))
            return self._runtime

    def reset(self) -> None:
        """Forget a runtime inherited across fork (its connections belong to the parent)."""
        with self._lock:
            if self._runtime is not None:
                self._runtime.db.engine.dispose(close=False)
            self._runtime = None


def _broker(settings: Settings) -> tuple[str, dict[str, object]]:
    if settings.embedded_broker:
        settings.data_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        return embedded_broker.broker_url(settings.broker_url), {"polling_interval": settings.broker_poll_seconds}
    # "sorted": each poll asks for QUEUE_NAME before BULK_QUEUE (kombu's default takes turns between queues)
    options = {"visibility_timeout": settings.visibility_timeout_seconds, "queue_order_strategy": "sorted"}
    return settings.broker_url, options


def make_celery(settings: Settings) -> Celery:
    from workers.tasks import register_tasks

    url, transport_options = _broker(settings)
    app = Celery("importer", set_as_current=False)
    app.conf.update(
        broker_url=url,
        broker_transport_options=transport_options,
        broker_connection_retry_on_startup=True,
        task_default_queue=QUEUE_NAME,
        # What every worker consumes, each bound by its own name (a task is sent to a queue by name in any case).
        task_queues=(Queue(QUEUE_NAME, routing_key=QUEUE_NAME), Queue(BULK_QUEUE, routing_key=BULK_QUEUE)),
        task_serializer="json",
        accept_content=["json"],
        task_ignore_result=True,
        result_backend=None,
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        # The embedded broker is polled (every IMPORTER_BROKER_POLL_SECONDS): with one message per child a
        # child that finished a chunk waited for the next poll, a third of each 0.2 s cycle at 1M rows.
        # A second message in hand hides that; it is one worker node, so no other node is starved.
        worker_prefetch_multiplier=2 if settings.embedded_broker else 1,
        worker_lost_wait=1.0,
        # A pool process imports polars as it starts (workers/tasks.py), about a second on a quiet machine;
        # on a loaded one it took longer than Celery's 4 s wait for it, which killed it and started another.
        worker_proc_alive_timeout=30.0,
        worker_send_task_events=False,
        worker_hijack_root_logger=False,
        worker_redirect_stdouts=False,
    )
    register_tasks(app, RuntimeHolder(settings, app))
    return app
