"""Delivery: retries per policy, permanent failures, held unknown outcomes, opt-outs, segments."""

from __future__ import annotations

from tenacity import stop_after_attempt, stop_before_delay, wait_fixed

from escalate import (
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InvalidRecipient,
    RecipientOptedOut,
    RetryableTransportError,
    RetryPolicy,
    UnknownOutcomeError,
    Workflow,
)
from escalate.store import OutboxStatus, Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from tests.conftest import WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("(415) 555-0100", region="US")


def escalator(store: Store, clock: FakeClock, sms: MemoryTransport, **kwargs: object) -> Escalator:
    return Escalator(
        store,
        transports=[sms],
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"),
        **kwargs,  # type: ignore[arg-type]
    )


def connect(esc: Escalator, clock: FakeClock) -> Handoff:
    """Open a thread and give a phone with consent: the welcome SMS is sent at once."""
    handoff = esc.open(make_thread(clock))
    return esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)


def sms_rows(esc: Escalator) -> list[object]:
    return [i for i in esc.store.outbox("default") if i.command.kind == "send_message"]


def kinds(esc: Escalator, handoff: Handoff) -> list[str]:
    return [event.kind for event in esc.history(handoff.id)]


def test_retryable_errors_are_retried_per_policy(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Two 503s then success: retried at the policy's 30 s steps, sent exactly once."""
    esc = escalator(store, clock, sms, retry=RetryPolicy(stop_after_attempt(5), wait_fixed(30)))
    sms.fail_next(RetryableTransportError("503", provider="memory", code="503"), times=2)
    handoff = connect(esc, clock)
    assert len(sms.attempts) == 1
    assert sms.sent == []
    clock.advance(seconds=29)
    esc.run_due()
    assert len(sms.attempts) == 1  # not due yet
    clock.advance(seconds=1)
    esc.run_due()
    clock.advance(seconds=30)
    esc.run_due()
    assert len(sms.attempts) == 3
    assert len(sms.sent) == 1
    assert kinds(esc, handoff).count("message.retry_scheduled") == 2
    assert kinds(esc, handoff).count("message.sent") == 1


def test_retries_exhausted_fail_the_send(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """When the policy stops, the row fails and the workflow hears about it."""
    esc = escalator(store, clock, sms, retry=RetryPolicy(stop_after_attempt(2), wait_fixed(10)))
    sms.fail_next(RetryableTransportError("503"), times=5)
    handoff = connect(esc, clock)
    clock.advance(seconds=10)
    esc.run_due()
    clock.advance(hours=1)
    esc.run_due()
    assert len(sms.attempts) == 2
    assert sms_rows(esc)[0].status is OutboxStatus.FAILED  # type: ignore[attr-defined]
    assert esc.handoffs.get(handoff.id).state is HandoffState.FAILED


def test_retry_after_is_honoured(store: Store, clock: FakeClock, sms: MemoryTransport) -> None:
    """A 429 with Retry-After 120 s is not retried before 120 s, though the backoff says 5 s."""
    esc = escalator(store, clock, sms, retry=RetryPolicy(stop_after_attempt(5), wait_fixed(5)))
    sms.fail_next(RetryableTransportError("429", code="20429", retry_after=120))
    connect(esc, clock)
    clock.advance(seconds=60)
    esc.run_due()
    assert len(sms.attempts) == 1
    clock.advance(seconds=60)
    esc.run_due()
    assert len(sms.sent) == 1


def test_deadline_is_respected(store: Store, clock: FakeClock, sms: MemoryTransport) -> None:
    """With a 60 s deadline and 40 s steps, the second failure is the last attempt."""
    esc = escalator(store, clock, sms, retry=RetryPolicy(stop_before_delay(60), wait_fixed(40)))
    sms.fail_next(RetryableTransportError("503"), times=10)
    connect(esc, clock)
    for _ in range(5):
        clock.advance(seconds=40)
        esc.run_due()
    assert len(sms.attempts) == 2
    assert sms_rows(esc)[0].status is OutboxStatus.FAILED  # type: ignore[attr-defined]


def test_permanent_errors_are_not_retried(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """An invalid recipient fails at once, once, and moves the handoff to failed."""
    esc = escalator(store, clock, sms)
    sms.fail_next(InvalidRecipient("21211 invalid To", provider="memory", code="21211"))
    handoff = connect(esc, clock)
    clock.advance(days=1)
    esc.run_due()
    assert len(sms.attempts) == 1
    assert esc.handoffs.get(handoff.id).state is HandoffState.FAILED


def test_opt_out_from_the_provider_revokes_consent_in_the_same_commit(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Twilio 21610 fails the row and records a provider_event revoke for every purpose."""
    esc = escalator(store, clock, sms)
    sms.fail_next(RecipientOptedOut("21610 unsubscribed", provider="twilio", code="21610"))
    handoff = connect(esc, clock)
    [revoke] = [r for r in esc.consent.records(PHONE) if r.action.value == "revoke"]
    assert revoke.source.value == "provider_event"
    assert revoke.all_purposes
    assert not esc.consent.decide(PHONE, "transactional").allowed
    assert not esc.consent.decide(PHONE, "marketing").allowed
    history = esc.history(handoff.id)
    failed = next(i for i, e in enumerate(history) if e.kind == "message.failed")
    # The revoke's event sits right after the settlement: one commit wrote both.
    assert history[failed + 1].kind == "consent.recorded"
    assert history[failed + 1].data["source"] == "provider_event"


def test_unknown_outcome_is_held_and_never_resent(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A timeout after send is held: days of run_due never send it again."""
    esc = escalator(store, clock, sms)
    sms.fail_next(UnknownOutcomeError("read timeout", provider="memory"))
    handoff = connect(esc, clock)
    [held] = esc.outbox.held()
    for _ in range(3):
        clock.advance(days=1)
        esc.run_due()
    # The workflow's reminder may follow; the held intro itself is never tried again.
    assert [message.id for message in sms.attempts].count(held.id) == 1
    assert esc.outbox.held() == [esc.outbox.get(held.id)]
    held = esc.outbox.get(held.id)
    assert held.handoff_id == handoff.id
    assert held.attempts == 1
    assert "message.held" in kinds(esc, handoff)


def test_crashed_workers_claim_is_held_not_resent(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A claim whose lease expired (the worker died mid-send) is held by the next worker."""
    esc = escalator(store, clock, sms, dispatch_immediately=False)
    handoff = esc.open(make_thread(clock))
    esc.run_due()  # posts the public reply
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    claimed = store.claim_outbox(clock.now(), worker="crashed", lease=esc.engine.lease)
    assert [i.command.kind for i in claimed] == ["send_message"]
    esc.run_due()
    assert sms.attempts == []  # still leased to the crashed worker
    clock.advance(esc.engine.lease)
    esc.run_due()
    assert sms.attempts == []
    assert [i.id for i in esc.outbox.held()] == [claimed[0].id]


def test_sms_segments_are_recorded_on_every_send(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """message.sent and the row's result carry the SMS encoding and segment count."""
    esc = escalator(store, clock, sms)
    handoff = connect(esc, clock)
    sent = next(e for e in esc.history(handoff.id) if e.kind == "message.sent")
    assert sent.data["encoding"] == "GSM-7"
    assert sent.data["segments"] >= 1
    assert sent.data["units"] == len(sms.sent[0].body)
    row = sms_rows(esc)[0]
    assert row.result["segments"] == sent.data["segments"]  # type: ignore[attr-defined]


def test_paced_row_too_far_off_is_put_back_then_sent(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A send whose pacing slot lies beyond half the lease is rescheduled, not slept on."""
    from escalate import Pacer
    from tests.test_pacing import FakeTime

    time = FakeTime()
    pacer = Pacer({"memory": 0.01}, margin=0, clock=time.clock, sleep=time.sleep)  # 1 per 100 s
    esc = escalator(store, clock, sms, pacer=pacer)
    first = connect(esc, clock)
    second = esc.open(make_thread(clock, thread_id="2002", user_id="43"))
    other = Identity.phone("(415) 555-0101", region="US")
    esc.contact_provided(second.id, other, consent=WEB_FORM_CONSENT)
    assert [m.to for m in sms.sent] == [PHONE]
    assert "message.paced" in kinds(esc, esc.handoffs.get(second.id))
    assert time.now == 100.0  # nobody slept 100 s holding a lease
    time.now += 100
    clock.advance(minutes=1)
    esc.run_due()
    assert [m.to for m in sms.sent] == [PHONE, other]
    assert esc.handoffs.get(first.id).state is HandoffState.CONNECTED
