"""RetryPolicy: tenacity strategies as they are, Retry-After as a floor, attempts and deadline."""

from __future__ import annotations

import pytest
from tenacity import stop_after_attempt, stop_after_delay, stop_before_delay, wait_fixed

from escalate import (
    PermanentTransportError,
    RetryableTransportError,
    RetryPolicy,
    UnknownOutcomeError,
)

RETRYABLE = RetryableTransportError("busy", provider="twilio", code="503")


def test_accepts_tenacity_objects_and_stops_after_attempts() -> None:
    """stop_after_attempt(3) | stop_after_delay(60) is taken as is: two retries, then stop."""
    policy = RetryPolicy(stop=stop_after_attempt(3) | stop_after_delay(60), wait=wait_fixed(5))
    assert policy.next_delay(attempt=1, elapsed=0, error=RETRYABLE) == 5
    assert policy.next_delay(attempt=2, elapsed=5, error=RETRYABLE) == 5
    assert policy.next_delay(attempt=3, elapsed=10, error=RETRYABLE) is None


def test_deadline_stops_retries() -> None:
    """Past the deadline there is no further attempt, whatever the attempt count."""
    policy = RetryPolicy(stop=stop_after_attempt(100) | stop_after_delay(60), wait=wait_fixed(5))
    assert policy.next_delay(attempt=2, elapsed=59, error=RETRYABLE) == 5
    assert policy.next_delay(attempt=2, elapsed=61, error=RETRYABLE) is None


def test_stop_before_delay_refuses_an_attempt_past_the_deadline() -> None:
    """stop_before_delay sees the upcoming sleep: no attempt is scheduled beyond the deadline."""
    policy = RetryPolicy(stop=stop_before_delay(60), wait=wait_fixed(10))
    assert policy.next_delay(attempt=1, elapsed=49, error=RETRYABLE) == 10
    assert policy.next_delay(attempt=1, elapsed=51, error=RETRYABLE) is None


def test_retry_after_is_a_floor_not_a_ceiling() -> None:
    """A longer Retry-After wins over the backoff; a shorter one does not shorten it."""
    policy = RetryPolicy(stop=stop_after_attempt(5), wait=wait_fixed(5))
    slow = RetryableTransportError("429", retry_after=30)
    fast = RetryableTransportError("429", retry_after=1)
    assert policy.next_delay(attempt=1, elapsed=0, error=slow) == 30
    assert policy.next_delay(attempt=1, elapsed=0, error=fast) == 5


def test_default_backoff_grows_with_jitter() -> None:
    """The default waits grow exponentially, with at most 2 s of jitter on top."""
    policy = RetryPolicy()
    delays = [policy.next_delay(attempt=n, elapsed=0, error=RETRYABLE) for n in (1, 2, 3, 4)]
    assert all(d is not None for d in delays)
    for n, delay in zip((1, 2, 3, 4), delays, strict=True):
        assert delay is not None
        assert 2 * 2 ** (n - 1) <= delay <= 2 * 2 ** (n - 1) + 2
    assert policy.next_delay(attempt=6, elapsed=0, error=RETRYABLE) is None


@pytest.mark.parametrize(
    "error",
    [PermanentTransportError("no"), UnknownOutcomeError("timeout"), ValueError("bug")],
)
def test_only_retryable_errors_are_retried(error: Exception) -> None:
    """A permanent, unknown-outcome or foreign error is never retried."""
    assert RetryPolicy().next_delay(attempt=1, elapsed=0, error=error) is None


def test_in_process_retrying_uses_the_policy_and_injected_sleep() -> None:
    """policy.retrying() retries RetryableTransportError, honours Retry-After, sleeps the fake."""
    slept: list[float] = []
    calls = 0

    def flaky() -> str:
        nonlocal calls
        calls += 1
        if calls < 3:
            raise RetryableTransportError("429", retry_after=7)
        return "ok"

    policy = RetryPolicy(stop=stop_after_attempt(5), wait=wait_fixed(1))
    assert policy.retrying(sleep=slept.append)(flaky) == "ok"
    assert slept == [7, 7]


def test_in_process_retrying_reraises_permanent_errors_at_once() -> None:
    """A permanent error escapes on the first attempt, unwrapped."""
    calls = 0

    def refused() -> None:
        nonlocal calls
        calls += 1
        raise PermanentTransportError("bad key")

    with pytest.raises(PermanentTransportError):
        RetryPolicy().retrying(sleep=lambda _: None)(refused)
    assert calls == 1


@pytest.mark.parametrize("retry_after", [1e12, float("inf"), 400 * 86400.0])
def test_a_retry_after_beyond_a_year_gives_up(retry_after: float) -> None:
    """A wait no provider means (Retry-After in ms, a gateway's junk) ends the retries."""
    policy = RetryPolicy(stop=stop_after_attempt(5), wait=wait_fixed(30))
    error = RetryableTransportError("429", retry_after=retry_after)
    assert policy.next_delay(attempt=1, elapsed=0, error=error) is None
    slept: list[float] = []

    def limited() -> None:
        raise error

    with pytest.raises(RetryableTransportError):
        policy.retrying(sleep=slept.append)(limited)
    assert slept == []
    a_day = RetryableTransportError("429", retry_after=86400)
    assert policy.next_delay(attempt=1, elapsed=0, error=a_day) == 86400


def test_a_send_told_to_wait_for_ever_fails_instead_of_crashing() -> None:
    """The engine settles the row failed (nothing was sent), not a raw OverflowError."""
    from escalate.store import MemoryStore, OutboxStatus
    from escalate.testing import FakeClock, MemoryTransport
    from tests.conftest import TEST_START
    from tests.workflow.test_delivery import connect, escalator, sms_rows

    clock = FakeClock(TEST_START)
    sms = MemoryTransport()
    policy = RetryPolicy(stop=stop_after_attempt(5), wait=wait_fixed(30))
    esc = escalator(MemoryStore(), clock, sms, retry=policy)
    sms.fail_next(RetryableTransportError("429", provider="memory", retry_after=1e12))
    connect(esc, clock)
    [row] = sms_rows(esc)
    assert row.status is OutboxStatus.FAILED  # type: ignore[attr-defined]
