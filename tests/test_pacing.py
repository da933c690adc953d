"""Pacer: per-sender spacing with a jitter margin, on a fake clock."""

from __future__ import annotations

import pytest

from escalate import InvalidInput, Pacer


class FakeTime:
    """A monotonic clock whose sleep moves it forward."""

    def __init__(self) -> None:
        self.now = 100.0

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.now += seconds


def max_in_window(times: list[float], window: float = 1.0) -> int:
    """The largest count of timestamps in any half-open window of ``window`` seconds."""
    times = sorted(times)
    return max(sum(1 for t in times[i:] if t < start + window) for i, start in enumerate(times))


def test_sends_are_spaced_and_never_exceed_the_rate_in_any_second() -> None:
    """At 10/s, 100 sends never put more than 10 in any 1-second window."""
    time = FakeTime()
    pacer = Pacer({"twilio": 10}, clock=time.clock, sleep=time.sleep)
    stamps = []
    for _ in range(100):
        assert pacer.acquire("twilio", "+14155550100")
        stamps.append(time.now)
    assert max_in_window(stamps) == 10
    # The margin leaves room for 50 ms of jitter: 11 sends span at least 1.05 s.
    assert min(b - a for a, b in zip(stamps, stamps[10:], strict=False)) >= 1.05 - 1e-9


def test_each_sender_has_its_own_bucket_and_rate() -> None:
    """Two numbers of one transport are paced apart; a per-number rate overrides the default."""
    time = FakeTime()
    pacer = Pacer({"twilio": 10, ("twilio", "+1B"): 1}, clock=time.clock, sleep=time.sleep)
    assert pacer.acquire("twilio", "+1A")
    assert pacer.acquire("twilio", "+1B")
    assert time.now == 100.0  # first slot of each bucket is immediate
    assert pacer.acquire("twilio", "+1B")
    assert time.now == pytest.approx(101.05)
    assert pacer.acquire("sendgrid", "x@example.com")  # not paced at all
    assert time.now == pytest.approx(101.05)


def test_a_slot_too_far_off_is_refused_without_taking_it() -> None:
    """acquire(max_wait=...) returns False, and the refused slot stays free."""
    time = FakeTime()
    pacer = Pacer({"twilio": 1}, margin=0, clock=time.clock, sleep=time.sleep)
    assert pacer.acquire("twilio")
    assert not pacer.acquire("twilio", max_wait=0.5)
    assert time.now == 100.0
    assert pacer.acquire("twilio", max_wait=1.0)
    assert time.now == pytest.approx(101.0)


@pytest.mark.parametrize("rate", [0, -1, float("inf"), float("nan")])
def test_bad_rates_are_refused(rate: float) -> None:
    """A rate that is not a positive finite number raises InvalidInput."""
    with pytest.raises(InvalidInput):
        Pacer({"twilio": rate})
