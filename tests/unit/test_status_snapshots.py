"""Status snapshots: shared by a job's pollers, never older than their time to live, renewed before it ends."""

from __future__ import annotations

from app.accounts import Principal, Role
from app.api.snapshots import StatusSnapshots

ADMIN = Principal(account_id=1, username="admin", role=Role.ADMIN, import_types=None)
OWNER = Principal(account_id=2, username="owner", role=Role.IMPORTER, import_types=None)
STRANGER = Principal(account_id=3, username="stranger", role=Role.IMPORTER, import_types=None)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_snapshot_is_served_until_its_time_to_live_from_the_read_is_over() -> None:
    clock = Clock()
    snapshots = StatusSnapshots(0.25, clock)
    snapshots.put(7, OWNER.account_id, {"status": "IN_PROCESS"}, read_at=100.0)

    clock.now = 100.25
    assert snapshots.get(7, OWNER) == {"status": "IN_PROCESS"}
    assert snapshots.get(7, STRANGER) is None  # an importer sees only their own jobs
    clock.now = 100.26
    assert snapshots.get(7, ADMIN) is None


def test_one_poller_renews_a_snapshot_once_most_of_its_life_is_over() -> None:
    clock = Clock()
    snapshots = StatusSnapshots(0.25, clock)
    snapshots.put(7, OWNER.account_id, {"percentComplete": 10.0})

    clock.now = 100.05
    assert not snapshots.claim_renewal(7)  # young: nobody renews it
    clock.now = 100.16
    assert snapshots.claim_renewal(7)
    assert not snapshots.claim_renewal(7)  # one renewal at a time
    assert snapshots.get(7, OWNER) == {"percentComplete": 10.0}  # still served while it is renewed

    snapshots.put(7, OWNER.account_id, {"percentComplete": 20.0}, read_at=100.16)
    clock.now = 100.3
    assert snapshots.get(7, OWNER) == {"percentComplete": 20.0}
    assert not snapshots.claim_renewal(7)
    clock.now = 100.32
    assert snapshots.claim_renewal(7)


def test_a_failed_renewal_lets_the_next_poller_try_and_an_expired_snapshot_is_not_renewed_but_read() -> None:
    clock = Clock()
    snapshots = StatusSnapshots(0.25, clock)
    snapshots.put(7, OWNER.account_id, {"status": "IN_PROCESS"})

    clock.now = 100.2
    assert snapshots.claim_renewal(7)
    snapshots.renewal_failed(7)
    assert snapshots.claim_renewal(7)
    snapshots.renewal_failed(7)

    clock.now = 100.3
    assert not snapshots.claim_renewal(7)
    assert snapshots.get(7, OWNER) is None


def test_without_a_time_to_live_nothing_is_kept() -> None:
    snapshots = StatusSnapshots(0.0, Clock())
    snapshots.put(7, OWNER.account_id, {"status": "IN_PROCESS"})

    assert snapshots.get(7, ADMIN) is None
    assert not snapshots.claim_renewal(7)


def test_after_a_change_the_snapshot_is_gone_and_a_renewal_read_before_it_is_not_kept() -> None:
    clock = Clock()
    snapshots = StatusSnapshots(0.25, clock)
    snapshots.put(7, OWNER.account_id, {"status": "IN_PROCESS"}, read_at=100.0)
    clock.now = 100.2
    assert snapshots.claim_renewal(7)  # a renewal reads the job, still IN_PROCESS ...

    clock.now = 100.21
    snapshots.forget(7)  # ... while a cancel commits
    snapshots.put(7, OWNER.account_id, {"status": "IN_PROCESS"}, read_at=100.2)

    assert snapshots.get(7, ADMIN) is None
    assert not snapshots.claim_renewal(7)
    snapshots.put(7, OWNER.account_id, {"status": "CANCELLED"}, read_at=100.22)
    assert snapshots.get(7, ADMIN) == {"status": "CANCELLED"}
    snapshots.put(7, OWNER.account_id, {"status": "IN_PROCESS"}, read_at=100.21)
    assert snapshots.get(7, ADMIN) == {"status": "CANCELLED"}, "never replaced by an earlier read"
