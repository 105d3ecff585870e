"""A worker's pool child forked while the reap clock publishes is forked only once the publish is done, so that
it never starts with the broker client's locks held by a thread it does not have."""

from __future__ import annotations

import os
import threading
import time

from workers.reap_clock import publish_between_forks


def forked_child_saw(flag: threading.Event) -> bool:
    """Fork; whether the flag was set in the child, as it started."""
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: say what it found, and leave without running the parent's exit handlers
        os.write(write, b"1" if flag.is_set() else b"0")
        os._exit(0)
    os.close(write)
    _, status = os.waitpid(pid, 0)
    seen = os.read(read, 1)
    os.close(read)
    assert os.waitstatus_to_exitcode(status) == 0
    return seen == b"1"


def test_a_fork_during_a_publish_waits_for_the_publish_to_end() -> None:
    started, published = threading.Event(), threading.Event()

    def slow_publish() -> None:
        started.set()
        time.sleep(0.3)
        published.set()

    clock = threading.Thread(target=publish_between_forks, args=(slow_publish,))
    clock.start()
    assert started.wait(5)
    forked_at = time.monotonic()
    assert forked_child_saw(published), "the child was forked in the middle of the publish"
    assert time.monotonic() - forked_at > 0.1  # the fork did wait
    clock.join(5)
