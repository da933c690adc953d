"""A text that waits for its pacing slot across 21:00 is held for the morning, not sent.

Pacing lets a send wait for its sender's slot up to half its row's lease (a
minute by default). A wait that starts at 20:59:30 in the recipient's zone ends
in quiet hours: the text must be held until 08:00 as any other, with its retry
budget intact, whichever provider of the channel's chain sends it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from tenacity import stop_after_attempt

from escalate import (
    Channel,
    Escalator,
    HandoffState,
    Identity,
    Pacer,
    PermanentTransportError,
    RetryableTransportError,
    RetryPolicy,
    Workflow,
)
from escalate.store import OutboxItem, OutboxStatus, Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from tests.conftest import WEB_FORM_CONSENT, make_thread

#: A New York mobile number: quiet from 21:00 to 08:00 Eastern.
PHONE = Identity.phone("+12125550100")
#: Tuesday 20:59:30 in New York (EST).
EVENING = datetime(2026, 1, 7, 1, 59, 30, tzinfo=UTC)
#: Wednesday 08:00 in New York: the window opens.
MORNING = datetime(2026, 1, 7, 13, 0, tzinfo=UTC)
SUSPENDED = PermanentTransportError("account suspended", provider="a", code="20003")


def pacer_on(clock: FakeClock, rates: dict[str, float]) -> Pacer:
    """A pacer whose waits pass on the escalator's clock, as they do on a real one."""

    def sleep(seconds: float) -> None:
        clock.advance(timedelta(seconds=seconds))

    return Pacer(rates, margin=0, clock=lambda: clock.now().timestamp(), sleep=sleep)


def escalator(
    store: Store, clock: FakeClock, *transports: MemoryTransport, **kw: object
) -> Escalator:
    return Escalator(
        store,
        transports=transports,
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"),
        notifier=lambda *_: None,
        **kw,  # type: ignore[arg-type]
    )


def intro_row(esc: Escalator) -> OutboxItem:
    [row] = [i for i in esc.store.outbox("default") if i.command.kind == "send_message"]
    return row


def open_case(esc: Escalator, clock: FakeClock) -> str:
    handoff = esc.open(make_thread(clock))
    return esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT).id


def test_a_wait_for_the_first_providers_slot_is_checked_after_it(
    store: Store, clock: FakeClock
) -> None:
    """One provider, its slot a minute off at 20:59:30: the text is held until 08:00.

    Already so before this change (consent is read after the first slot); kept
    as the reference for the chain's case below.
    """
    clock.set(EVENING)
    sms = MemoryTransport([Channel.SMS], name="a")
    pacer = pacer_on(clock, {"a": 1 / 60})
    assert pacer.acquire("a")  # a's next slot: 21:00:30
    esc = escalator(store, clock, sms, pacer=pacer)
    handoff_id = open_case(esc, clock)
    assert sms.attempts == []
    row = intro_row(esc)
    assert (row.status, row.due_at) == (OutboxStatus.PENDING, MORNING)
    clock.set(MORNING)
    esc.run_due()
    assert len(sms.sent) == 1
    assert esc.handoffs.get(handoff_id).state is HandoffState.CONNECTED


def test_a_wait_for_a_later_providers_slot_is_checked_after_it(
    store: Store, clock: FakeClock
) -> None:
    """a fails for good at 20:59:30 and b's slot is a minute off: held until 08:00, not sent
    at 21:00:30; in the morning it goes, the hold spending none of its retries."""
    clock.set(EVENING)
    a = MemoryTransport([Channel.SMS], name="a")
    b = MemoryTransport([Channel.SMS], name="b")
    pacer = pacer_on(clock, {"b": 1 / 60})
    assert pacer.acquire("b")  # b's next slot: 21:00:30
    esc = escalator(store, clock, a, b, pacer=pacer, retry=RetryPolicy(stop=stop_after_attempt(2)))
    a.fail_next(SUSPENDED, times=3)
    handoff_id = open_case(esc, clock)
    assert (len(a.attempts), b.attempts) == (1, [])
    row = intro_row(esc)
    assert (row.status, row.due_at) == (OutboxStatus.PENDING, MORNING)
    [deferred] = [e for e in esc.history(handoff_id) if e.kind == "message.deferred"]
    assert deferred.data["reason"] == "quiet_hours"
    # Morning: a fails again, b meets a 503, and the retry (the policy's second
    # and last attempt, the held claim not counted) goes through b.
    clock.set(MORNING)
    b.fail_next(RetryableTransportError("busy", provider="b", code="503"))
    esc.run_due()
    assert b.sent == []
    clock.advance(minutes=10)
    esc.run_due()
    assert [m.to for m in b.sent] == [PHONE]
    assert esc.handoffs.get(handoff_id).state is HandoffState.CONNECTED


@pytest.mark.parametrize("rate", [None, 1 / 30])
def test_a_later_provider_sends_at_once_when_the_window_is_open(
    store: Store, clock: FakeClock, rate: float | None
) -> None:
    """In the day the check after a's failure changes nothing: b sends (after its slot)."""
    a = MemoryTransport([Channel.SMS], name="a")
    b = MemoryTransport([Channel.SMS], name="b")
    pacer = pacer_on(clock, {"b": rate}) if rate else None
    if pacer is not None:
        assert pacer.acquire("b")
    esc = escalator(store, clock, a, b, pacer=pacer)
    a.fail_next(SUSPENDED)
    handoff_id = open_case(esc, clock)
    assert [m.to for m in b.sent] == [PHONE]
    assert "message.deferred" not in [e.kind for e in esc.history(handoff_id)]
