"""The login throttle and the request rate, on a clock the test moves by hand."""

from __future__ import annotations

from dataclasses import dataclass

from app.api.limits import LoginThrottle, RequestRate
from app.settings import Settings

ADDRESS = "203.0.113.7"


@dataclass
class Clock:
    now: float = 1000.0

    def __call__(self) -> float:
        return self.now


def throttle(clock: Clock, failures: int = 3) -> LoginThrottle:
    return LoginThrottle(failures=failures, window=300, lockout=60, max_lockout=200, clock=clock)


def fail(limiter: LoginThrottle, times: int, user: str = "ops", address: str = ADDRESS) -> list[float | None]:
    """Start `times` attempts that never succeed; what each start answered."""
    return [limiter.begin(user, address) for _ in range(times)]


def test_an_address_is_locked_out_of_an_account_after_the_set_number_of_failures() -> None:
    clock = Clock()
    limiter = throttle(clock)

    answers = fail(limiter, 4)

    assert answers[:3] == [None, None, None]
    assert answers[3] == 60
    clock.now += 59.5
    assert limiter.begin("ops", ADDRESS) == 0.5
    clock.now += 0.5
    assert limiter.begin("ops", ADDRESS) is None


def test_each_lockout_lasts_twice_as_long_as_the_last_up_to_the_cap() -> None:
    clock = Clock()
    limiter = throttle(clock)
    lockouts = []

    for _ in range(4):
        fail(limiter, 3)
        lockouts.append(limiter.locked_for("ops", ADDRESS))
        clock.now += lockouts[-1]

    assert lockouts == [60, 120, 200, 200]


def test_failures_older_than_the_window_are_forgotten() -> None:
    clock = Clock()
    limiter = throttle(clock)

    fail(limiter, 2)
    clock.now += 301
    fail(limiter, 2)

    assert limiter.locked_for("ops", ADDRESS) == 0


def test_a_success_forgets_the_failures_and_the_lockouts() -> None:
    clock = Clock()
    limiter = throttle(clock)
    fail(limiter, 3)
    clock.now += 60

    limiter.begin("ops", ADDRESS)
    limiter.succeeded("ops", ADDRESS)
    fail(limiter, 2)

    assert limiter.locked_for("ops", ADDRESS) == 0
    fail(limiter, 1)
    assert limiter.locked_for("ops", ADDRESS) == 60


def test_other_accounts_and_other_addresses_are_not_locked() -> None:
    limiter = throttle(Clock())

    fail(limiter, 3)

    assert limiter.begin("ops", ADDRESS) is not None
    assert limiter.begin("other", ADDRESS) is None
    assert limiter.begin("ops", "198.51.100.2") is None


def test_attempts_started_at_once_count_before_their_passwords_are_checked() -> None:
    limiter = throttle(Clock())

    started = [limiter.begin("ops", ADDRESS) for _ in range(10)]

    assert started.count(None) == 3


def test_zero_failures_turns_the_throttle_off() -> None:
    limiter = throttle(Clock(), failures=0)

    assert fail(limiter, 50) == [None] * 50


def test_the_request_rate_allows_a_burst_then_refills_at_the_set_rate() -> None:
    clock = Clock()
    rate = RequestRate(per_second=4, burst=3, clock=clock)

    burst = [rate.take(1) for _ in range(4)]

    assert burst[:3] == [None, None, None]
    assert burst[3] == 0.25
    assert rate.take(2) is None
    clock.now += 0.25
    assert rate.take(1) is None
    assert rate.take(1) == 0.25


def test_a_rate_of_zero_turns_the_request_limit_off() -> None:
    rate = RequestRate(per_second=0, burst=1, clock=Clock())

    assert [rate.take(1) for _ in range(100)] == [None] * 100


def test_the_limits_are_read_from_importer_variables_with_safe_defaults() -> None:
    defaults = Settings.from_env({})
    custom = Settings.from_env(
        {
            "IMPORTER_LOGIN_FAILURES_BEFORE_THROTTLE": "3",
            "IMPORTER_LOGIN_FAILURE_WINDOW_SECONDS": "120",
            "IMPORTER_LOGIN_THROTTLE_SECONDS": "30",
            "IMPORTER_LOGIN_THROTTLE_MAX_SECONDS": "600",
            "IMPORTER_RATE_LIMIT_PER_SECOND": "0",
            "IMPORTER_RATE_LIMIT_BURST": "5",
            "IMPORTER_MAX_RUNNING_IMPORTS": "2",
        }
    )

    assert (defaults.login_failures_before_throttle, defaults.login_throttle_seconds) == (5, 60)
    assert (defaults.rate_limit_per_second, defaults.rate_limit_burst, defaults.max_running_imports) == (20, 60, 10)
    assert (custom.login_failures_before_throttle, custom.login_failure_window_seconds) == (3, 120)
    assert (custom.login_throttle_seconds, custom.login_throttle_max_seconds) == (30, 600)
    assert (custom.rate_limit_per_second, custom.rate_limit_burst, custom.max_running_imports) == (0, 5, 2)
