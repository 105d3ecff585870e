"""A worker's CPU priority: imports are batch work, status polls are interactive.

`nice` alone does not reach across sessions on Linux. With autogroup scheduling (the default on most
distributions), the kernel first shares the CPU fairly between sessions, and only then by nice within
each one. A worker started as a service (systemd, `setsid`, a supervisor) leads a session of its own,
so its nice 10 weighed nothing against the API in another session: both got an equal share.

A worker that leads its own session therefore also sets its session's autogroup nice (an unprivileged
process may lower its own priority); the one `importer serve` starts leads a session of its own too
(app.cli.WorkerSupervisor). A worker inside another process's session leaves the session alone, since
that would lower the other process's priority with it; there plain nice works, both being in one group.

Autogroups share the CPU only among processes of the root CPU cgroup. Where a cgroup's CPU controller
stands between API and worker (a container; a systemd unit given CPUWeight=), its weights decide:
docker-compose.yml gives workers `cpu_shares`, and a systemd unit would give them a lower CPUWeight.
"""

from __future__ import annotations

import contextlib
import logging
import os
import time
from pathlib import Path

AUTOGROUP = Path("/proc/self/autogroup")
logger = logging.getLogger(__name__)


def leads_its_session() -> bool:
    return os.getsid(0) == os.getpid()


# Without CAP_SYS_ADMIN the kernel takes one autogroup change per 100 ms on the whole machine, and
# answers EAGAIN to the next: workers started together take turns.
_AUTOGROUP_TRIES = 20
_AUTOGROUP_WAIT_SECONDS = 0.1


def _set_autogroup_nice(nice: int) -> None:
    for _ in range(_AUTOGROUP_TRIES):
        try:
            AUTOGROUP.write_text(f"{nice}\n")
            return
        except BlockingIOError:
            time.sleep(_AUTOGROUP_WAIT_SECONDS)
        except OSError:  # no autogroup in this kernel, or not allowed: plain nice is what there is
            return
    logger.warning("worker.autogroup_busy nice=%s: the session keeps its CPU share", nice)


def lower_worker_priority(nice: int) -> None:
    """Give up `nice` steps of CPU priority, in this process and, when it leads its session, in its
    session's autogroup. Where either is not possible (another OS, a kernel without autogroup) the
    worker runs at the priority it has."""
    if nice <= 0:
        return
    with contextlib.suppress(OSError):
        os.nice(nice)
    if leads_its_session():
        _set_autogroup_nice(nice)
