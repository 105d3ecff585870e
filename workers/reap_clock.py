"""The worker's reap clock: a thread of the worker's main process that queues a reap task every reap_seconds.

The main process forks its pool's children, at start and whenever one is replaced. A fork copies into the
child every lock that another thread holds at that instant, still held and with no thread left to release
it. kombu keeps one lock per lazily made attribute of a channel class, shared by every channel of the
process; a child forked while the clock was publishing waited on its first publish for ever (a plan that
never queued its sheet's piece, and never ended). So the clock publishes under a lock that every fork of
the process takes first: a fork waits for a publish under way, and no publish starts during a fork.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable

from celery import Celery

from workers.celery_app import REAP_TASK

logger = logging.getLogger(__name__)

_PUBLISHING = threading.Lock()
os.register_at_fork(before=_PUBLISHING.acquire, after_in_parent=_PUBLISHING.release, after_in_child=_PUBLISHING.release)


def publish_between_forks(publish: Callable[[], object]) -> None:
    """Run `publish` so that no fork of this process happens while it runs."""
    with _PUBLISHING:
        publish()


def _tick(app: Celery, seconds: float) -> None:
    while True:
        time.sleep(seconds)
        try:
            publish_between_forks(lambda: app.send_task(REAP_TASK))
        except Exception:
            logger.exception("worker.reap_enqueue_failed")


def start_reap_clock(app: Celery, seconds: float) -> threading.Thread:
    """Queue a reap task every `seconds`, for as long as the process lives."""
    thread = threading.Thread(target=_tick, args=(app, seconds), name="reap-clock", daemon=True)
    thread.start()
    return thread
