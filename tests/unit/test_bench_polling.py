"""The benchmark tells when its slow status polls came: together (something held them all) or apart."""

from bench.polling import slow_bursts


def test_slow_polls_that_began_together_are_one_burst_and_fast_ones_are_left_out() -> None:
    timeline = [(1.0, 0.004), (12.5, 0.104), (12.6, 0.080), (12.7, 0.147), (12.8, 0.020), (18.0, 0.061)]

    described = slow_bursts(timeline)

    assert described == (
        "4 polls over 50 ms, in 2 bursts: +12.5 s for 0.20 s (max 147 ms), +18.0 s for 0.00 s (max 61 ms)"
    )


def test_a_run_without_slow_polls_says_so() -> None:
    assert slow_bursts([(0.5, 0.003), (0.7, 0.049)]) == "no poll over 50 ms"
