"""A delivery report that beats the provider's HTTP response is applied when the send settles."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from escalate import (
    Channel,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InboundMessage,
    OutboundMessage,
    Purpose,
    SendResult,
    UnknownOutcomeError,
    Workflow,
)
from escalate.store import Changes, OutboxItem, OutboxStatus, Store
from escalate.testing import (
    FakeClock,
    MemoryTransport,
    RecordingPublisher,
    Scenario,
    capture_events,
)
from escalate.webhooks import Applied, MemorySeen
from escalate.webhooks.sendgrid import SendGridWebhook
from escalate.webhooks.twilio import TwilioWebhook
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.webhooks.signing import PUBLIC_BASE, TWILIO_TOKEN, SendGridKey, twilio_request
from tests.workflow.test_delivery import PHONE, kinds

EMAIL = Identity.email("jane@example.com")
NIGHT = datetime(2026, 3, 11, 5, 0, tzinfo=UTC)  # 22:00 in San Francisco: quiet hours

#: What the provider does while our send call is in flight, given the message.
Callback = Callable[[OutboundMessage], object]


class FastProvider(MemoryTransport):
    """A memory transport whose provider calls back before its answer reaches us.

    A ``send`` takes the first queued callback for its recipient and runs it (a
    webhook applied to the escalator) once the message is accepted, or before
    a scripted failure is raised: either way while our row is still claimed.
    """

    def __init__(self) -> None:
        super().__init__(name="memory")
        self.callbacks: list[tuple[Identity | None, Callback]] = []

    def then(self, callback: Callback, *, to: Identity | None = None) -> None:
        """Queue ``callback`` for the next send (to ``to``, when given)."""
        self.callbacks.append((to, callback))

    def send(self, message: OutboundMessage) -> SendResult:
        callback = None
        for index, (to, _) in enumerate(self.callbacks):
            if to is None or to == message.to:
                callback = self.callbacks.pop(index)[1]
                break
        try:
            result = super().send(message)
        except Exception:
            if callback is not None:
                callback(message)
            raise
        if callback is not None:
            callback(message)
        return result


def build(store: Store, clock: FakeClock, sms: FastProvider, **kwargs: object) -> Escalator:
    return Escalator(
        store,
        transports=[sms],
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"),
        **kwargs,  # type: ignore[arg-type]
    )


@pytest.fixture
def sms() -> FastProvider:
    return FastProvider()


def provider(esc: Escalator) -> FastProvider:
    [transport] = esc.engine.transports
    assert isinstance(transport, FastProvider)
    return transport


def twilio_says(esc: Escalator, clock: FakeClock, status: str, **extra: str) -> Callback:
    """Twilio's signed status callback for the message, through the parser, applied to ``esc``."""
    hook = TwilioWebhook(TWILIO_TOKEN, clock=clock)

    def callback(message: OutboundMessage) -> object:
        params = {"MessageSid": "SM77", "MessageStatus": status, "To": PHONE.value, **extra}
        url = f"{PUBLIC_BASE}/twilio/status?escalate_id={message.id}"
        return esc.handle_webhook(hook.parse(*twilio_request(params, url=url)))

    return callback


def with_email_on_file(esc: Escalator, clock: FakeClock) -> None:
    """An earlier case gave the customer's email, so a failed SMS can fall back to it."""
    earlier = esc.open(make_thread(clock, thread_id="900"))
    esc.run_due()
    esc.contact_provided(earlier.id, EMAIL, consent=WEB_FORM_CONSENT)
    esc.run_due()
    esc.resolve(earlier.id)


def connect(esc: Escalator, clock: FakeClock) -> Handoff:
    handoff = esc.open(make_thread(clock))
    return esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)


def intro_row(esc: Escalator, handoff: Handoff) -> str:
    """The id of the handoff's first private message (its intro)."""
    rows = esc.store.outbox("default", handoff_id=handoff.id)
    return next(item.id for item in rows if item.command.kind == "send_message")


def test_an_undelivered_report_in_flight_fails_the_accepted_send(
    store: Store, clock: FakeClock, sms: FastProvider
) -> None:
    """Twilio's 'undelivered' beat the send's response: the row fails and the case hears it."""
    esc = build(store, clock, sms)
    provider(esc).then(twilio_says(esc, clock, "undelivered", ErrorCode="30003"))
    handoff = connect(esc, clock)
    row = esc.outbox.get(intro_row(esc, handoff))
    assert row.status is OutboxStatus.FAILED
    assert row.result is not None
    assert (row.result["delivery_status"], row.result["error_code"]) == ("failed", "30003")
    assert row.result["provider"] == "memory"
    history = kinds(esc, handoff)
    # The send's acceptance, then the report applied to it, as if it came after.
    assert history.index("message.sent") < history.index("message.undelivered")
    assert history.count("message.undelivered") == 1
    assert handoff.state is HandoffState.FAILED  # what the verb returned
    assert esc.handoffs.get(handoff.id).state is HandoffState.FAILED


def test_the_fallback_intro_goes_out_in_the_same_call(
    store: Store, clock: FakeClock, sms: FastProvider
) -> None:
    """A failed SMS reported in flight falls back to the email on file within the verb."""
    esc = build(store, clock, sms)
    with_email_on_file(esc, clock)
    sms.clear()
    provider(esc).then(twilio_says(esc, clock, "failed", ErrorCode="30005"))
    handoff = connect(esc, clock)
    assert [message.to for message in sms.sent] == [PHONE, EMAIL]
    assert handoff.channel is not None
    assert handoff.channel.value == "email"
    assert esc.handoffs.get(handoff.id).state is HandoffState.CONNECTED


def test_a_carrier_opt_out_in_flight_is_kept_and_declines_the_case(
    store: Store, clock: FakeClock, sms: FastProvider
) -> None:
    """21610 reported in flight: the opt-out is recorded at once, and the case ends declined."""
    esc = build(store, clock, sms)
    provider(esc).then(twilio_says(esc, clock, "undelivered", ErrorCode="21610"))
    handoff = connect(esc, clock)
    assert not esc.consent.decide(PHONE, Purpose.TRANSACTIONAL).allowed
    assert esc.outbox.get(intro_row(esc, handoff)).status is OutboxStatus.FAILED
    assert esc.handoffs.get(handoff.id).state is HandoffState.DECLINED


def test_a_report_through_reconcile_in_flight_counts_too(
    store: Store, clock: FakeClock, sms: FastProvider
) -> None:
    """esc.outbox.reconcile(failed) on a claimed row keeps the report there until it settles."""
    esc = build(store, clock, sms)
    seen = []

    def reconcile(message: OutboundMessage) -> object:
        row = esc.outbox.reconcile(message.id, "failed", error_code="30003", actor="twilio")
        seen.append(row)
        return row

    provider(esc).then(reconcile)
    with capture_events(esc) as events:
        handoff = connect(esc, clock)
    [claimed] = seen
    assert claimed.status is OutboxStatus.CLAIMED
    assert claimed.reported is not None
    assert claimed.reported["delivery_status"] == "failed"
    assert [e.kind for e in events.of_kind("message.status")] == ["message.status"]
    (undelivered,) = events.of_kind("message.undelivered")
    assert undelivered.actor == "twilio"
    assert undelivered.data["error_code"] == "30003"
    assert esc.handoffs.get(handoff.id).state is HandoffState.FAILED


def test_a_delivered_report_in_flight_settles_an_unknown_outcome_as_sent(
    store: Store, clock: FakeClock, sms: FastProvider
) -> None:
    """'delivered' arrived, then the send timed out: the row is reconciled, not held."""
    esc = build(store, clock, sms)
    sms.fail_next(UnknownOutcomeError("read timeout after send", provider="twilio"))
    provider(esc).then(twilio_says(esc, clock, "delivered"))
    handoff = connect(esc, clock)
    row = esc.outbox.get(intro_row(esc, handoff))
    assert row.status is OutboxStatus.DONE
    assert row.result is not None
    assert (row.result["delivery_status"], row.result["provider_message_id"]) == (
        "delivered",
        "SM77",
    )
    assert esc.outbox.held() == []
    sent = [e for e in esc.history(handoff.id) if e.kind == "message.sent"]
    assert [e.data.get("reconciled") for e in sent] == [True]
    assert kinds(esc, handoff).index("message.held") < kinds(esc, handoff).index("message.sent")
    clock.advance(hours=1)
    esc.run_due()
    assert len(sms.attempts) == 1  # never resent


def test_a_help_answer_settled_by_a_report_in_flight_is_no_private_handoff(
    store: Store, sms: FastProvider
) -> None:
    """The reconciled message.sent names its template, so reporting skips a HELP answer.

    The case's intro waits for the morning; the customer texts HELP, whose answer
    times out after 'delivered' came in: the case was not handed off by it.
    """
    clock = FakeClock(NIGHT)
    esc = build(store, clock, sms)
    handoff = connect(esc, clock)
    assert sms.sent == []  # the intro is held by quiet hours
    sms.fail_next(UnknownOutcomeError("read timeout after send", provider="twilio"))
    provider(esc).then(twilio_says(esc, clock, "delivered"))
    esc.inbound(
        InboundMessage(channel=Channel.SMS, sender=PHONE, body="HELP", received_at=clock.now())
    )
    [sent] = [e for e in esc.history(handoff.id) if e.kind == "message.sent"]
    assert (sent.data["reconciled"], sent.data["template"]) == (True, "consent.help")
    assert esc.report().private_handoff.count == 0


def test_a_failed_report_in_flight_fails_an_unknown_outcome(
    store: Store, clock: FakeClock, sms: FastProvider
) -> None:
    """'failed' arrived, then the send timed out: the row fails instead of waiting as held."""
    esc = build(store, clock, sms)
    sms.fail_next(UnknownOutcomeError("read timeout after send", provider="twilio"))
    provider(esc).then(twilio_says(esc, clock, "failed", ErrorCode="30003"))
    handoff = connect(esc, clock)
    assert esc.outbox.get(intro_row(esc, handoff)).status is OutboxStatus.FAILED
    assert esc.outbox.held() == []
    assert esc.handoffs.get(handoff.id).state is HandoffState.FAILED


def test_an_accepted_report_in_flight_leaves_the_send_done_and_known(
    store: Store, clock: FakeClock, sms: FastProvider
) -> None:
    """'delivered' in flight: done, with the status known, so its repeat is a duplicate."""
    esc = build(store, clock, sms)
    provider(esc).then(twilio_says(esc, clock, "delivered"))
    handoff = connect(esc, clock)
    row = esc.outbox.get(intro_row(esc, handoff))
    assert row.status is OutboxStatus.DONE
    assert row.result is not None
    assert row.result["delivery_status"] == "delivered"
    assert esc.handoffs.get(handoff.id).state is HandoffState.CONNECTED
    events = len(esc.history(handoff.id))
    hook = TwilioWebhook(TWILIO_TOKEN, clock=clock)
    params = {"MessageSid": "SM77", "MessageStatus": "delivered", "To": PHONE.value}
    url = f"{PUBLIC_BASE}/twilio/status?escalate_id={row.id}"
    repeat = hook.parse(*twilio_request(params, url=url))
    assert esc.handle_webhook(repeat, seen=MemorySeen()) == [Applied.DUPLICATE]
    assert len(esc.history(handoff.id)) == events


def test_a_sendgrid_bounce_in_flight_fails_the_email(
    store: Store, clock: FakeClock, sms: FastProvider
) -> None:
    """SendGrid's bounce beat the API's answer: suppressed, the row failed, the case failed."""
    esc = build(store, clock, sms)
    key = SendGridKey()
    hook = SendGridWebhook(key.public, clock=clock)

    def bounce(message: OutboundMessage) -> object:
        event = {
            "email": EMAIL.value,
            "timestamp": int(clock.now().timestamp()),
            "event": "bounce",
            "type": "bounce",
            "status": "5.1.1",
            "escalate_id": message.id,
            "sg_message_id": "sg1.filter",
        }
        return esc.handle_webhook(hook.parse(*key.request([event], clock.now())))

    provider(esc).then(bounce)
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, EMAIL, consent=WEB_FORM_CONSENT)
    assert esc.outbox.get(intro_row(esc, handoff)).status is OutboxStatus.FAILED
    assert not esc.consent.decide(EMAIL, Purpose.TRANSACTIONAL).allowed
    # As for a bounce reported after the send settled: undelivered, no other channel.
    assert esc.handoffs.get(handoff.id).state is HandoffState.FAILED


def test_a_crashed_workers_send_is_settled_by_the_report_it_got(
    store: Store, clock: FakeClock, sms: FastProvider
) -> None:
    """A worker died after sending; 'delivered' came meanwhile: the expired claim is not held."""
    esc = build(store, clock, sms, dispatch_immediately=False)
    handoff = esc.open(make_thread(clock))
    esc.run_due()  # the public reply
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    row_id = intro_row(esc, handoff)
    [claimed] = esc.store.claim_outbox(
        clock.now(), worker="crashed", lease=timedelta(minutes=2), handoff_id=handoff.id
    )
    assert claimed.id == row_id
    esc.outbox.reconcile(row_id, "delivered", provider_message_id="SM5", actor="twilio")
    clock.advance(minutes=3)
    report = esc.run_due()
    row = esc.outbox.get(row_id)
    assert row.status is OutboxStatus.DONE
    assert row.result == {"delivery_status": "delivered", "provider_message_id": "SM5"}
    assert (report.sent, report.held) == (1, 0)
    assert sms.attempts == []  # the crashed worker's send was the only one


@pytest.mark.parametrize("settler", ["prompt", "slow"])
def test_the_pool_applies_a_report_in_flight_and_falls_back_in_the_same_run(
    store: Store,
    clock: FakeClock,
    sms: FastProvider,
    settler: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On a worker pool the accepted send settles behind the pool: the report still wins,
    and its fallback goes in the same run_due, even when it is settled after the last claim."""
    if settler == "slow":
        commit = store.commit

        def slow_behind(changes: Changes) -> list[OutboxItem]:
            if threading.current_thread().name == "escalate-settler":
                time.sleep(0.2)  # long after the pool's workers finished and claimed again
            return commit(changes)

        monkeypatch.setattr(store, "commit", slow_behind)
    esc = build(store, clock, sms, concurrency=4, dispatch_immediately=False)
    with_email_on_file(esc, clock)
    others = [
        esc.open(make_thread(clock, thread_id=str(2000 + n), user_id=str(70 + n))) for n in range(3)
    ]
    customer = esc.open(make_thread(clock))
    esc.run_due()  # the public replies
    for n, other in enumerate(others):
        esc.contact_provided(other.id, Identity.phone(f"+1415555020{n}"), consent=WEB_FORM_CONSENT)
    esc.contact_provided(customer.id, PHONE, consent=WEB_FORM_CONSENT)
    sms.clear()
    provider(esc).then(twilio_says(esc, clock, "undelivered", ErrorCode="30003"), to=PHONE)
    report = esc.run_due()
    assert esc.outbox.get(intro_row(esc, customer)).status is OutboxStatus.FAILED
    assert [message.to for message in sms.sent_to(PHONE.value)] == [PHONE]
    assert [message.to for message in sms.sent_to(EMAIL.value)] == [EMAIL]
    fallen_back = esc.handoffs.get(customer.id)
    assert fallen_back.channel is not None
    assert fallen_back.channel.value == "email"
    assert (report.failed, report.sent) == (1, 4)
    assert all(esc.handoffs.get(o.id).state is HandoffState.CONNECTED for o in others)
    esc.close()


def test_a_verb_on_a_pooled_escalator_falls_back_before_it_returns(
    store: Store, clock: FakeClock, sms: FastProvider
) -> None:
    """Once the pool exists a verb's own send settles behind it too: the fallback still goes."""
    esc = build(store, clock, sms, concurrency=4)
    with_email_on_file(esc, clock)  # its run_due() starts the pool and its settler
    sms.clear()
    provider(esc).then(twilio_says(esc, clock, "undelivered", ErrorCode="30003"))
    handoff = connect(esc, clock)
    assert [message.to for message in sms.sent] == [PHONE, EMAIL]
    assert handoff.channel is not None
    assert handoff.channel.value == "email"
    assert esc.outbox.get(intro_row(esc, handoff)).status is OutboxStatus.FAILED
    esc.close()


def test_a_scenario_sees_the_fallback_of_a_failure_reported_in_flight() -> None:
    """With the testing kit: the intro SMS failed in flight, so the email on file got one."""
    fast = FastProvider()
    with Scenario(Workflow.default(brand="Acme"), transports=[fast]) as s:
        s.post_publicly("@acme where is my order", thread_id="500")
        s.customer_provides(email=EMAIL.value)
        s.assert_sent(1, channel="email")
        s.agent_resolves("answered by email")
        s.advance(days=2)
        s.post_publicly("@acme it broke again", thread_id="501")
        fast.then(twilio_says(s.esc, s.clock, "undelivered", ErrorCode="30003"))
        s.customer_provides(phone=PHONE.value)
        s.assert_sent(1, channel="sms", to=PHONE, containing=s.reference)
        s.assert_sent(1, channel="email", to=EMAIL, containing=s.reference)
        assert s.handoff.channel is not None
        assert s.handoff.channel.value == "email"
        assert [e.kind for e in s.history].count("message.undelivered") == 1


def test_closing_during_a_run_leaves_the_fallback_pending_not_claimed(
    store: Store, clock: FakeClock
) -> None:
    """close() while run_due's send is in flight and then failed by a report: the run ends
    cleanly, and the fallback's intro waits pending (it was claimed, then orphaned: held)."""
    in_flight, closing = threading.Event(), threading.Event()

    class Blocking(MemoryTransport):
        def send(self, message: OutboundMessage) -> SendResult:
            result = super().send(message)
            if message.to == PHONE:
                in_flight.set()
                assert closing.wait(10)
            return result

    sms = Blocking(name="twilio")
    esc = Escalator(
        store, transports=[sms], clock=clock, publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"), concurrency=4, dispatch_immediately=False,
    )  # fmt: skip
    with_email_on_file(esc, clock)
    handoff = esc.open(make_thread(clock))
    esc.run_due()
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    outcome: list[object] = []

    def run() -> None:
        try:
            outcome.append(esc.run_due())
        except Exception as exc:  # noqa: BLE001 - the test asserts there is none
            outcome.append(exc)

    runner = threading.Thread(target=run)
    runner.start()
    assert in_flight.wait(10)
    esc.outbox.reconcile(intro_row(esc, handoff), "failed", error_code="30003", actor="twilio")
    closer = threading.Thread(target=esc.engine.close)
    closer.start()
    engine = esc.engine
    with engine._calls:  # close() has begun: it waits for the run
        assert engine._calls.wait_for(lambda: engine._closing, timeout=10)
    closing.set()
    runner.join(10)
    closer.join(10)
    [report] = outcome
    assert not isinstance(report, Exception), report
    rows = esc.store.outbox("default", handoff_id=handoff.id)
    assert [(row.command.kind, row.status) for row in rows] == [
        ("post_public_reply", OutboxStatus.DONE),
        ("send_message", OutboxStatus.FAILED),
        ("send_message", OutboxStatus.PENDING),  # the email intro, for the next run
    ]
    assert esc.run_due().sent == 1
    assert [message.to for message in sms.sent_to(EMAIL.value)][-1:] == [EMAIL]
    esc.close()


def test_a_failure_report_outraced_by_its_siblings_and_the_settlement_still_fails_the_send(
    store: Store, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Twilio's queued, sent and undelivered callbacks on three webhook threads, the send
    settling meanwhile: the undelivered one, refused three times, is applied all the same."""
    in_flight, answer = threading.Event(), threading.Event()

    class Slow(MemoryTransport):
        def send(self, message: OutboundMessage) -> SendResult:
            result = super().send(message)
            if message.to == PHONE:
                in_flight.set()
                assert answer.wait(10)
            return result

    sms = Slow(name="twilio")
    esc = Escalator(
        store, transports=[sms], clock=clock, publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"), concurrency=4, dispatch_immediately=False,
    )  # fmt: skip
    webhook = Escalator(store, transports=[MemoryTransport(name="twilio")], clock=clock)
    with_email_on_file(esc, clock)
    handoff = esc.open(make_thread(clock))
    esc.run_due()
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    row_id = intro_row(esc, handoff)
    runner = threading.Thread(target=esc.run_due)
    runner.start()
    assert in_flight.wait(10)
    read = webhook.outbox.get
    reads = 0

    def outraced(item_id: str) -> OutboxItem:
        """Between each read of the undelivered report and its write, another writer wins."""
        nonlocal reads
        found = read(item_id)
        reads += 1
        if reads == 1:
            esc.outbox.reconcile(row_id, "queued", actor="twilio")
        elif reads == 2:
            esc.outbox.reconcile(row_id, "sent", actor="twilio")
        elif reads == 3:
            answer.set()  # the provider's answer: the send settles, with "sent" on it
            runner.join(10)
        return found

    monkeypatch.setattr(webhook.outbox, "get", outraced)
    webhook.outbox.reconcile(row_id, "failed", error_code="30003", actor="twilio")
    runner.join(10)
    row = esc.outbox.get(row_id)
    assert row.status is OutboxStatus.FAILED
    assert row.result is not None
    assert row.result["delivery_status"] == "failed"
    esc.run_due()  # the fallback's intro (the webhook's escalator runs nothing of ours)
    assert [message.to for message in sms.sent_to(EMAIL.value)][-1:] == [EMAIL]
    assert esc.handoffs.get(handoff.id).channel is Channel.EMAIL
    esc.close()


def test_close_from_one_of_its_own_dispatch_workers_raises_instead_of_waiting_forever(
    store: Store, clock: FakeClock
) -> None:
    """A transport that closes its escalator would wait for the run it is part of."""
    errors: list[BaseException] = []

    class Closing(MemoryTransport):
        def send(self, message: OutboundMessage) -> SendResult:
            try:
                esc.engine.close()
            except RuntimeError as exc:
                errors.append(exc)
            return super().send(message)

    esc = Escalator(
        store, transports=[Closing(name="twilio")], clock=clock, publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"), concurrency=2, dispatch_immediately=False,
    )  # fmt: skip
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    runner = threading.Thread(target=esc.run_due, daemon=True)
    runner.start()
    runner.join(10)
    assert not runner.is_alive()
    assert [str(e) for e in errors] == ["close() called from one of its own dispatch workers"]
    esc.close()
