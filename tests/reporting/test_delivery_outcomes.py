"""What the report counts as a private handoff and a public response, when delivery goes wrong.

Each case is driven through a real ``Escalator`` (both stores): a text the carrier
reported undelivered, a fallback to email, a send whose outcome was unknown until
its status callback, and a Meta private reply posted while the public one failed.
"""

from __future__ import annotations

from datetime import timedelta

from escalate import (
    Escalator,
    Handoff,
    Identity,
    PermanentTransportError,
    RetryableTransportError,
    Thread,
    UnknownOutcomeError,
    Workflow,
)
from escalate.store import OutboxItem, Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from tests.conftest import EMAIL_CONSENT, WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")
M = timedelta(minutes=1)


def intro_sent_then(esc: Escalator, clock: FakeClock, sms: MemoryTransport) -> str:
    """Open a case, give a phone 5 minutes later (the intro goes out then); its message id."""
    handoff = esc.open(make_thread(clock))
    clock.advance(minutes=5)
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    return sms.sent[-1].id


def test_a_text_reported_undelivered_is_no_private_handoff(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The only text never arrived and the case failed: it did not go private at minute 5."""
    intro = intro_sent_then(esc, clock, sms)
    clock.advance(minutes=40)
    esc.outbox.reconcile(intro, "failed", error_code="30006")  # no other channel: failed
    clock.advance(days=2)
    report = esc.report()
    assert report.private_handoff.samples == ()
    assert report.private_handoff.missing == 1
    assert (report.closed, report.abandoned) == (1, 0)


def test_a_fallback_is_timed_at_the_message_that_arrived(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The SMS bounced 40 minutes on and the email it fell back to went then: 45 minutes."""
    earlier = esc.open(make_thread(clock, thread_id="900"))  # an earlier case gave an email
    esc.contact_provided(earlier.id, EMAIL, consent=EMAIL_CONSENT)
    esc.resolve(earlier.id)
    clock.advance(hours=1)
    start = clock.now()
    intro = intro_sent_then(esc, clock, sms)
    clock.advance(minutes=40)
    esc.outbox.reconcile(intro, "failed", error_code="30006")
    assert [m.to for m in sms.sent[-2:]] == [PHONE, EMAIL]
    assert esc.report(since=start).private_handoff.samples == (45 * 60.0,)


def test_a_text_delivered_then_reported_failed_still_arrived(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Carriers say delivered, then failed: the customer had it, as the engine assumes."""
    intro = intro_sent_then(esc, clock, sms)
    clock.advance(minutes=1)
    esc.outbox.reconcile(intro, "delivered")
    clock.advance(minutes=1)
    esc.outbox.reconcile(intro, "failed", error_code="30003")
    assert esc.report().private_handoff.samples == (300.0,)


def held_intro(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> tuple[Handoff, OutboxItem]:
    """A case whose intro, sent at minute 5, timed out: held for reconciliation."""
    handoff = esc.open(make_thread(clock))
    clock.advance(minutes=5)
    sms.fail_next(UnknownOutcomeError("read timeout after send", provider="memory"))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    [held] = esc.outbox.held()
    return handoff, held


def test_a_send_held_until_its_callback_is_timed_at_the_send(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A timeout held the intro; the carrier confirmed it 2 hours on: it went at minute 5."""
    _, held = held_intro(esc, clock, sms)
    clock.advance(hours=2)
    esc.outbox.reconcile(held.id, "delivered", provider_message_id="SM1")
    assert esc.report().private_handoff.samples == (300.0,)


def test_a_held_send_confirmed_after_the_case_closed_still_counts(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The agent resolved the case before the operator marked the held intro sent."""
    handoff, held = held_intro(esc, clock, sms)
    clock.advance(hours=1)
    esc.resolve(handoff.id)
    clock.advance(hours=1)
    esc.outbox.mark_sent(held.id)
    assert esc.report().private_handoff.samples == (300.0,)


class FlakyPublisher(RecordingPublisher):
    """Public replies fail the first ``fails`` times with ``error``; private replies work."""

    def __init__(self, error: Exception, fails: int = 1) -> None:
        super().__init__()
        self.error, self.fails = error, fails

    def reply(self, thread: Thread, text: str) -> object:  # type: ignore[override]
        if self.fails:
            self.fails -= 1
            raise self.error
        return super().reply(thread, text)


def meta_case(store: Store, clock: FakeClock, publisher: RecordingPublisher) -> Escalator:
    esc = Escalator(
        store,
        transports=[MemoryTransport()],
        clock=clock,
        publisher=publisher,
        workflow=Workflow.default(brand="Acme", meta_private_replies=True),
    )
    comment = Thread(
        platform="facebook",
        thread_id="c-1",
        author=Identity.social("facebook", "42"),
        text="my order never arrived",
        posted_at=clock.now(),
    )
    esc.open(comment)
    for _ in range(5):
        clock.advance(minutes=1)
        esc.run_due()
    return esc


def test_a_meta_private_reply_is_no_public_response(store: Store, clock: FakeClock) -> None:
    """The public reply failed once and went a minute later; the private one went at once."""
    publisher = FlakyPublisher(RetryableTransportError("503", provider="meta"))
    esc = meta_case(store, clock, publisher)
    assert [len(publisher.replies), len(publisher.private_replies)] == [1, 1]
    assert esc.report().first_public_response.samples == (60.0,)


def test_a_case_with_only_a_private_reply_has_no_public_response(
    store: Store, clock: FakeClock
) -> None:
    """The public reply failed for good: the private reply does not stand in for it."""
    publisher = FlakyPublisher(PermanentTransportError("gone", provider="meta"))
    esc = meta_case(store, clock, publisher)
    assert [len(publisher.replies), len(publisher.private_replies)] == [0, 1]
    report = esc.report()
    assert report.first_public_response.samples == ()
    assert report.first_public_response.missing == 1
