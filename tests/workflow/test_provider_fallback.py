"""Several configured transports for one channel: provider fallback, in the configured order."""

from __future__ import annotations

import pytest
from tenacity import stop_after_attempt, wait_fixed

from escalate import (
    Channel,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InvalidRecipient,
    Pacer,
    PermanentTransportError,
    RecipientOptedOut,
    RetryableTransportError,
    RetryPolicy,
    UnknownOutcomeError,
    Workflow,
)
from escalate.store import OutboxItem, OutboxStatus, Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.test_pacing import FakeTime

PHONE = Identity.phone("(415) 555-0100", region="US")


def pair() -> tuple[MemoryTransport, MemoryTransport]:
    """Two SMS providers, ``a`` preferred."""
    return MemoryTransport([Channel.SMS], name="a"), MemoryTransport([Channel.SMS], name="b")


def escalator(
    store: Store, clock: FakeClock, *transports: MemoryTransport, **kwargs: object
) -> Escalator:
    return Escalator(
        store,
        transports=transports,
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"),
        **kwargs,  # type: ignore[arg-type]
    )


def connect(esc: Escalator, clock: FakeClock, thread_id: str = "1001") -> Handoff:
    """Open a thread and give a phone with consent: the welcome SMS goes at once."""
    handoff = esc.open(make_thread(clock, thread_id=thread_id, user_id=thread_id))
    return esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)


def sms_row(esc: Escalator) -> OutboxItem:
    [row] = [i for i in esc.store.outbox("default") if i.command.kind == "send_message"]
    return row


def kinds(esc: Escalator, handoff: Handoff) -> list[str]:
    return [event.kind for event in esc.history(handoff.id)]


def test_provider_failure_moves_to_the_next_configured_provider(
    store: Store, clock: FakeClock
) -> None:
    """A's permanent failure of its own (a suspended account) sends through b, once."""
    a, b = pair()
    esc = escalator(store, clock, a, b)
    a.fail_next(PermanentTransportError("account suspended", provider="a", code="20003"))
    handoff = connect(esc, clock)
    assert handoff.state is HandoffState.CONNECTED
    assert (len(a.attempts), a.sent, len(b.sent)) == (1, [], 1)
    row = sms_row(esc)
    assert row.status is OutboxStatus.DONE
    assert row.result is not None
    assert (row.result["provider"], row.result["provider_message_id"]) == ("b", "b-1")
    [sent] = [e for e in esc.history(handoff.id) if e.kind == "message.sent"]
    assert sent.data["provider"] == "b"
    assert "message.failed" not in kinds(esc, handoff)


def test_an_agents_message_a_provider_fails_goes_through_the_next_with_its_text(
    store: Store, clock: FakeClock
) -> None:
    """A's own permanent failure on an agent's text: b sends that same text, once, on SMS."""
    a, b = pair()
    esc = escalator(store, clock, a, b)
    handoff = connect(esc, clock)
    a.fail_next(PermanentTransportError("account suspended", provider="a", code="20003"))
    handoff = esc.send_message(handoff.id, "Your refund is on its way.")
    [attempt] = a.attempts[1:]
    [sent] = b.sent
    assert (
        sent.body == attempt.body == f"Acme: Your refund is on its way. (case {handoff.reference})"
    )
    assert (handoff.state, handoff.channel, handoff.failed_channels) == (
        HandoffState.CONNECTED,
        Channel.SMS,
        (),
    )
    assert "message.failed" not in kinds(esc, handoff)


def test_the_configured_order_is_kept_per_channel(store: Store, clock: FakeClock) -> None:
    """An email-only transport between the SMS ones changes nothing; a healthy first one sends."""
    a, b = pair()
    email = MemoryTransport([Channel.EMAIL], name="mail")
    esc = escalator(store, clock, email, a, b)
    connect(esc, clock)
    assert (len(a.sent), b.attempts, email.attempts) == (1, [], [])


@pytest.mark.parametrize(
    ("error", "state"),
    [(InvalidRecipient, HandoffState.FAILED), (RecipientOptedOut, HandoffState.DECLINED)],
)
def test_address_failure_is_not_tried_on_the_next_provider(
    store: Store, clock: FakeClock, error: type[PermanentTransportError], state: HandoffState
) -> None:
    """An address failure ends the send at once: b is never tried, the handoff ends as before."""
    a, b = pair()
    esc = escalator(store, clock, a, b)
    a.fail_next(error("not a mobile number", provider="a", code="21614"))
    handoff = connect(esc, clock)
    assert b.attempts == []
    assert handoff.state is state
    assert sms_row(esc).status is OutboxStatus.FAILED
    # The same path a single provider takes.
    alone = MemoryTransport([Channel.SMS], name="a")
    alone.fail_next(error("not a mobile number", provider="a", code="21614"))
    single = connect(escalator(store, clock, alone), clock, thread_id="3003")
    assert (single.state, single.close_reason) == (handoff.state, handoff.close_reason)


def test_address_failure_falls_back_to_the_contacts_other_channel(
    store: Store, clock: FakeClock
) -> None:
    """The workflow's channel fallback still follows an address failure on the first provider."""
    a, b = pair()
    email = MemoryTransport([Channel.EMAIL], name="mail")
    esc = escalator(store, clock, a, b, email)
    earlier = esc.open(make_thread(clock, thread_id="900"))
    esc.contact_provided(earlier.id, Identity.email("jane@example.com"), consent=WEB_FORM_CONSENT)
    esc.resolve(earlier.id)
    email.clear()
    handoff = esc.open(make_thread(clock))
    a.fail_next(InvalidRecipient("landline", provider="a", code="21614"))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.state is HandoffState.CONNECTED
    assert handoff.channel is Channel.EMAIL
    assert handoff.failed_channels == (Channel.SMS,)
    assert b.attempts == []
    assert [m.to.value for m in email.sent] == ["jane@example.com"]


def test_every_provider_failing_fails_the_send_with_the_last_error(
    store: Store, clock: FakeClock
) -> None:
    """When b refuses too, the row fails once, naming b's error, and nothing is retried."""
    a, b = pair()
    esc = escalator(store, clock, a, b)
    a.fail_next(PermanentTransportError("suspended", provider="a"))
    b.fail_next(PermanentTransportError("auth failed", provider="b", code="401"))
    handoff = connect(esc, clock)
    clock.advance(days=1)
    esc.run_due()
    assert (len(a.attempts), len(b.attempts)) == (1, 1)
    assert handoff.state is HandoffState.FAILED
    [failed] = [e for e in esc.history(handoff.id) if e.kind == "message.failed"]
    assert (failed.data["provider"], failed.data["code"]) == ("b", "401")


def test_retryable_error_retries_the_preferred_provider_later(
    store: Store, clock: FakeClock
) -> None:
    """A 503 from a is not handed to b in the same attempt; the retry sends it, once."""
    a, b = pair()
    retry = RetryPolicy(stop_after_attempt(5), wait_fixed(30))
    esc = escalator(store, clock, a, b, retry=retry)
    a.fail_next(RetryableTransportError("503", provider="a", code="503"))
    handoff = connect(esc, clock)
    assert (len(a.attempts), b.attempts) == (1, [])
    assert sms_row(esc).status is OutboxStatus.PENDING
    clock.advance(seconds=30)
    esc.run_due()
    assert (len(a.sent), b.attempts) == (1, [])
    assert kinds(esc, handoff).count("message.sent") == 1


def test_retry_after_a_provider_failure_is_sent_once_by_the_next(
    store: Store, clock: FakeClock
) -> None:
    """503, then a's account is suspended: the retry goes to b, and the text goes once."""
    a, b = pair()
    retry = RetryPolicy(stop_after_attempt(5), wait_fixed(30))
    esc = escalator(store, clock, a, b, retry=retry)
    a.fail_next(RetryableTransportError("503", provider="a"))
    a.fail_next(PermanentTransportError("suspended", provider="a"))
    handoff = connect(esc, clock)
    for _ in range(3):
        clock.advance(seconds=30)
        esc.run_due()
    row = sms_row(esc)
    assert (a.sent, [m.id for m in b.sent]) == ([], [row.id])
    assert row.result is not None
    assert row.result["provider"] == "b"
    assert esc.handoffs.get(handoff.id).state is HandoffState.CONNECTED


def test_unknown_outcome_is_held_and_never_sent_by_the_next_provider(
    store: Store, clock: FakeClock
) -> None:
    """A timeout after a's request may have sent it: held, and b never tries."""
    a, b = pair()
    esc = escalator(store, clock, a, b)
    a.fail_next(UnknownOutcomeError("read timeout", provider="a"))
    connect(esc, clock)
    [held] = esc.outbox.held()
    assert b.attempts == []
    clock.advance(days=1)
    esc.run_due()
    # The workflow's reminder may follow; the held intro is never tried again, anywhere.
    assert [m.id for m in [*a.attempts, *b.attempts]].count(held.id) == 1
    assert esc.outbox.get(held.id).status is OutboxStatus.HELD


def test_each_provider_is_paced_under_its_own_name(store: Store, clock: FakeClock) -> None:
    """b takes its own slot when reached; one too far off puts the row back, then b sends it."""
    time = FakeTime()
    pacer = Pacer({"a": 100, "b": 0.01}, margin=0, clock=time.clock, sleep=time.sleep)
    a, b = pair()
    esc = escalator(store, clock, a, b, pacer=pacer)
    assert pacer.acquire("b")  # b's next slot is 100 s away: beyond half the lease
    a.fail_next(PermanentTransportError("suspended", provider="a"), times=2)
    handoff = connect(esc, clock)
    assert (len(a.attempts), b.attempts) == (1, [])
    assert time.now == 100.0  # nobody slept 100 s holding a lease
    [paced] = [e for e in esc.history(handoff.id) if e.kind == "message.paced"]
    assert paced.data["provider"] == "b"
    assert sms_row(esc).status is OutboxStatus.PENDING
    time.now += 100
    clock.advance(minutes=1)
    esc.run_due()
    assert (len(a.attempts), len(b.sent)) == (2, 1)
    assert esc.handoffs.get(handoff.id).state is HandoffState.CONNECTED


def test_many_handoffs_on_a_pool_are_each_sent_once(store: Store, clock: FakeClock) -> None:
    """On four threads, with a failing, every message goes through b exactly once."""
    a, b = pair()
    esc = escalator(store, clock, a, b, concurrency=4, dispatch_immediately=False)
    a.fail_next(PermanentTransportError("suspended", provider="a"), times=100)
    for n in range(12):
        connect(esc, clock, thread_id=str(2000 + n))
    esc.run_due()
    esc.run_due()
    ids = [m.id for m in b.sent]
    assert len(ids) == len(set(ids)) == 12
    assert a.sent == []
    esc.engine.close()  # the pool; the store is the fixture's


class CountingTransport(MemoryTransport):
    """Counts ``close`` calls."""

    def __init__(self, name: str) -> None:
        super().__init__([Channel.SMS], name=name)
        self.closes = 0

    def close(self) -> None:
        self.closes += 1


def test_close_closes_each_configured_transport_once(store: Store, clock: FakeClock) -> None:
    """After a fallback send, closing the escalator closes a and b once each."""
    a, b = CountingTransport("a"), CountingTransport("b")
    esc = escalator(store, clock, a, b)
    a.fail_next(PermanentTransportError("suspended", provider="a"))
    connect(esc, clock)
    esc.close()
    assert (a.closes, b.closes) == (1, 1)
