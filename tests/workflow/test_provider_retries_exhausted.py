"""A provider that stays busy past the retry policy hands the message to the next one.

A 429 or a 503 proves the provider did not take the message, so once the policy
gives up on the preferred provider, the next configured one for the channel may
send it without any risk of a second copy; only when the last provider gives up
too does the row fail and the case leave the channel.
"""

from __future__ import annotations

from tenacity import stop_after_attempt, wait_fixed

from escalate import (
    Channel,
    Escalator,
    HandoffState,
    Identity,
    RetryableTransportError,
    RetryPolicy,
    Workflow,
)
from escalate.store import OutboxStatus, Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from tests.conftest import WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("(415) 555-0100", region="US")
RETRY = RetryPolicy(stop_after_attempt(3), wait_fixed(30))


def busy(name: str) -> RetryableTransportError:
    return RetryableTransportError("503", provider=name, code="503", retry_after=30)


def escalator(store: Store, clock: FakeClock, *transports: MemoryTransport) -> Escalator:
    return Escalator(
        store,
        transports=transports,
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"),
        retry=RETRY,
    )


def run(esc: Escalator, clock: FakeClock, times: int = 10) -> None:
    for _ in range(times):
        clock.advance(seconds=30)
        esc.run_due()


def test_the_next_provider_sends_once_the_preferred_one_ran_out_of_retries(
    store: Store, clock: FakeClock
) -> None:
    """a answers 503 to every try the policy allows: b sends the intro, once; still on SMS."""
    a = MemoryTransport([Channel.SMS], name="a")
    b = MemoryTransport([Channel.SMS], name="b")
    esc = escalator(store, clock, a, b)
    a.fail_next(busy("a"), times=100)
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    run(esc, clock)
    handoff = esc.handoffs.get(handoff.id)
    assert (handoff.state, handoff.channel, handoff.failed_channels) == (
        HandoffState.CONNECTED,
        Channel.SMS,
        (),
    )
    assert len(a.attempts) == 3  # the policy's three, no more
    [sent] = b.sent
    row = esc.outbox.get(sent.id)
    assert row.status is OutboxStatus.DONE
    assert row.result is not None
    assert row.result["provider"] == "b"
    assert [e.kind for e in esc.history(handoff.id)].count("message.sent") == 1


def test_the_next_provider_gets_the_policys_tries_of_its_own(
    store: Store, clock: FakeClock
) -> None:
    """b busy too: it gets three tries of its own, then the row fails (retries_exhausted)."""
    a = MemoryTransport([Channel.SMS], name="a")
    b = MemoryTransport([Channel.SMS], name="b")
    esc = escalator(store, clock, a, b)
    a.fail_next(busy("a"), times=100)
    b.fail_next(busy("b"), times=100)
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    run(esc, clock)
    assert (len(a.attempts), len(b.attempts)) == (3, 3)
    assert (a.sent, b.sent) == ([], [])
    handoff = esc.handoffs.get(handoff.id)
    assert handoff.state is HandoffState.FAILED
    [failed] = [e for e in esc.history(handoff.id) if e.kind == "message.failed"]
    assert failed.data["reason"] == "retries_exhausted"


def test_a_retry_after_past_a_year_hands_the_row_to_the_next_provider(
    store: Store, clock: FakeClock
) -> None:
    """docs/delivery.md: a wait over a year ends the retries on that provider, not the row."""
    a = MemoryTransport([Channel.SMS], name="a")
    b = MemoryTransport([Channel.SMS], name="b")
    esc = escalator(store, clock, a, b)
    two_years = 2 * 366 * 24 * 3600.0
    a.fail_next(RetryableTransportError("429", provider="a", code="429", retry_after=two_years))
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    run(esc, clock, times=2)
    assert len(a.attempts) == 1
    [sent] = b.sent
    assert esc.outbox.get(sent.id).status is OutboxStatus.DONE
    handoff = esc.handoffs.get(handoff.id)
    assert (handoff.state, handoff.channel) == (HandoffState.CONNECTED, Channel.SMS)
