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


def test_pacing_put_backs_do_not_use_up_the_policy_attempts() -> None:
    """Put back by pacing seven times, then a 503: retried, not failed as out of attempts.

    A burst that waits its turn for the sender's rate limit must not leave its
    rows one transient error from failing their cases.
    """
    from escalate import Pacer
    from tests.test_pacing import FakeTime

    time = FakeTime()
    clock = FakeClock(MORNING)
    sms = MemoryTransport(name="memory")
    pacer = Pacer({"memory": 0.01}, margin=0, clock=time.clock, sleep=time.sleep)  # 1 per 100 s
    esc = Escalator("memory://", transports=[sms], clock=clock, pacer=pacer)
    first = esc.open(make_thread(clock))
    esc.contact_provided(first.id, PHONE, consent=WEB_FORM_CONSENT)  # takes the slot
    second = esc.open(make_thread(clock, thread_id="2002", user_id="43"))
    esc.contact_provided(second.id, Identity.phone("+12125550101"), consent=WEB_FORM_CONSENT)
    for _ in range(6):  # the sender's clock stands still: every claim is put back
        clock.advance(minutes=5)
        esc.run_due()
    paced = [e for e in esc.history(second.id) if e.kind == "message.paced"]
    assert len(paced) == 7
    time.now += 1_000
    sms.fail_next(BUSY, 1)
    clock.advance(minutes=5)
    esc.run_due()
    assert len(sms.attempts) == 2  # the first case's intro, then the 503
    time.now += 1_000
    clock.advance(minutes=6)
    esc.run_due()
    assert len(sms.sent) == 2
    assert esc.handoffs.get(second.id).state is HandoffState.CONNECTED
