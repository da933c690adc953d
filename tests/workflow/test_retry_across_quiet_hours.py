"""A retry quiet hours hold overnight keeps its retries: the hold is not time spent retrying."""

from __future__ import annotations

from datetime import UTC, datetime

from escalate import Escalator, HandoffState, Identity, RetryableTransportError
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT, make_thread

#: A New York mobile number: quiet from 21:00 to 08:00 Eastern.
PHONE = Identity.phone("+12125550100")
#: Tuesday 20:58 in New York (EST).
EVENING = datetime(2026, 1, 7, 1, 58, tzinfo=UTC)
#: Wednesday 08:00 in New York: the window opens.
MORNING = datetime(2026, 1, 7, 13, 0, tzinfo=UTC)
BUSY = RetryableTransportError("503", provider="memory", code="503")


def _intro_failing(times: int) -> tuple[Escalator, FakeClock, MemoryTransport, str]:
    """A case whose intro meets ``times`` retryable failures, the first at 20:58."""
    clock = FakeClock(EVENING)
    sms = MemoryTransport()
    sms.fail_next(BUSY, times)
    esc = Escalator("memory://", transports=[sms], clock=clock)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    return esc, clock, sms, handoff.id


def test_a_retry_held_overnight_is_retried_after_the_morning_failure() -> None:
    """A 503 at 20:58, the retry held until 08:00 and failing again, is retried, not failed."""
    esc, clock, sms, handoff_id = _intro_failing(2)
    assert len(sms.attempts) == 1  # 20:58: the first attempt failed
    clock.advance(minutes=3)  # 21:01: the retry is due, and held until 08:00
    esc.run_due()
    assert len(sms.attempts) == 1
    clock.set(MORNING)
    esc.run_due()  # the second attempt fails too: two attempts in two minutes of retrying
    assert len(sms.attempts) == 2
    clock.advance(minutes=1)
    esc.run_due()
    assert len(sms.sent) == 1
    assert esc.handoffs.get(handoff_id).state is HandoffState.CONNECTED


def test_a_hold_does_not_use_up_one_of_the_policy_attempts() -> None:
    """Held by quiet hours, then failing five times: the sixth attempt, the policy's last, goes."""
    clock = FakeClock(datetime(2026, 1, 7, 3, 0, tzinfo=UTC))  # 22:00 in New York
    sms = MemoryTransport()
    sms.fail_next(BUSY, 5)
    esc = Escalator("memory://", transports=[sms], clock=clock)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert sms.attempts == []  # held until 08:00
    clock.set(MORNING)
    for _ in range(10):
        esc.run_due()
        clock.advance(minutes=6)  # past the longest backoff (5 minutes and jitter)
    assert len(sms.attempts) == 6
    assert len(sms.sent) == 1
