"""End to end: verified webhooks move the escalator, and duplicates or late ones change nothing."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from escalate import Escalator, Identity, InvalidInput, Purpose
from escalate.store import OutboxStatus, Store
from escalate.testing import FakeClock, MemoryTransport
from escalate.webhooks import Applied, MemorySeen, apply_webhook
from escalate.webhooks.sendgrid import SendGridWebhook
from escalate.webhooks.twilio import TwilioWebhook
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.webhooks.signing import PUBLIC_BASE, TWILIO_TOKEN, SendGridKey, twilio_request
from tests.workflow.test_delivery import PHONE, connect, escalator, kinds, sms_rows
from tests.workflow.test_reconcile import held_row

EMAIL = Identity.email("jane@example.com")


def status_request(message_id: str, status: str, **extra: str) -> tuple[str, dict[str, str], bytes]:
    params = {"MessageSid": "SM77", "MessageStatus": status, "To": PHONE.value, **extra}
    return twilio_request(params, url=f"{PUBLIC_BASE}/twilio/status?escalate_id={message_id}")


def test_inbound_stop_revokes_once(store: Store, clock: FakeClock, sms: MemoryTransport) -> None:
    """A signed STOP webhook revokes the number; Twilio's retry of it changes nothing."""
    esc = escalator(store, clock, sms)
    connect(esc, clock)
    hook = TwilioWebhook(TWILIO_TOKEN, clock=clock)
    request = twilio_request({"From": PHONE.value, "Body": " stop ", "MessageSid": "SMin1"})
    assert esc.handle_webhook(hook.parse(*request)) == [Applied.APPLIED]
    assert not esc.consent.decide(PHONE, Purpose.TRANSACTIONAL).allowed
    records, sent = len(esc.consent.records(PHONE)), len(sms.sent)
    assert esc.handle_webhook(hook.parse(*request)) == [Applied.DUPLICATE]
    assert (len(esc.consent.records(PHONE)), len(sms.sent)) == (records, sent)


def test_a_delivery_that_failed_to_apply_is_applied_on_the_retry(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The store was busy: the app answered 5xx, and Twilio's retry of the STOP still counts."""
    esc = escalator(store, clock, sms)
    connect(esc, clock)
    hook = TwilioWebhook(TWILIO_TOKEN, clock=clock)
    request = twilio_request({"From": PHONE.value, "Body": "STOP", "MessageSid": "SMbusy"})
    commit = esc.store.commit

    def busy(changes: object) -> object:
        raise sqlite3.OperationalError("database is locked")

    esc.store.commit = busy  # type: ignore[method-assign,assignment]
    with pytest.raises(sqlite3.OperationalError):
        esc.handle_webhook(hook.parse(*request))
    esc.store.commit = commit  # type: ignore[method-assign]
    assert esc.handle_webhook(hook.parse(*request)) == [Applied.APPLIED]
    assert esc.consent.decide(PHONE, Purpose.TRANSACTIONAL).reason == "revoked"


def test_a_parser_gives_replies_its_tenant(store: Store, clock: FakeClock) -> None:
    """TwilioWebhook(tenant=...) for an escalator of another tenant than the default."""
    esc = Escalator(store, tenant="acme", clock=clock)
    hook = TwilioWebhook(TWILIO_TOKEN, clock=clock, tenant="acme")
    request = twilio_request({"From": PHONE.value, "Body": "hello", "MessageSid": "SMacme"})
    message = hook.parse(*request)
    assert message.tenant == "acme"
    assert esc.handle_webhook(message) == [Applied.APPLIED]


@pytest.mark.parametrize("parser", [TwilioWebhook, SendGridWebhook])
@pytest.mark.parametrize("tenant", ["", "  ", "\t\n"])
def test_a_parser_refuses_a_blank_tenant(parser: type[TwilioWebhook], tenant: str) -> None:
    """No escalator has a blank tenant, so every reply such a parser made would be refused."""
    with pytest.raises(InvalidInput, match="tenant must be a non-empty string"):
        parser(TWILIO_TOKEN, tenant=tenant)


def test_a_seen_shared_by_two_tenants_keeps_their_records_apart(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """One provider account, one shared Seen: a report the first tenant had no use for
    (unknown_message) was a duplicate to the tenant that sent the message, and a
    STOP both were given (one email to two brands) counted for the first only."""
    seen = MemorySeen()
    acme = escalator(store, clock, sms, tenant="acme")
    other = escalator(store, clock, MemoryTransport(name="memory"), tenant="other")
    connect(acme, clock)
    [row] = [i for i in store.outbox("acme") if i.command.kind == "send_message"]
    report = TwilioWebhook(TWILIO_TOKEN, clock=clock).parse(*status_request(row.id, "delivered"))
    assert other.handle_webhook(report, seen=seen) == [Applied.UNKNOWN_MESSAGE]
    assert acme.handle_webhook(report, seen=seen) == [Applied.APPLIED]
    assert acme.handle_webhook(report, seen=seen) == [Applied.DUPLICATE]
    stop = {"From": PHONE.value, "Body": "STOP", "MessageSid": "SMboth"}
    for esc in (acme, other):
        hook = TwilioWebhook(TWILIO_TOKEN, clock=clock, tenant=esc.tenant)
        assert esc.handle_webhook(hook.parse(*twilio_request(stop)), seen=seen) == [Applied.APPLIED]
        assert esc.consent.decide(PHONE, Purpose.TRANSACTIONAL).reason == "revoked"


def test_status_callback_reconciles_a_held_row_forward_only(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """delivered settles the held row; a duplicate, then a late 'sent', change nothing."""
    esc = escalator(store, clock, sms)
    held = held_row(esc, clock, sms)
    hook = TwilioWebhook(TWILIO_TOKEN, public_base_url=PUBLIC_BASE, clock=clock)
    path = f"/twilio/status?escalate_id={held.id}"
    _, headers, body = status_request(held.id, "delivered")
    assert esc.handle_webhook(hook.parse(path, headers, body)) == [Applied.APPLIED]
    row = esc.outbox.get(held.id)
    assert row.status is OutboxStatus.DONE
    assert row.result is not None
    assert row.result["provider_message_id"] == "SM77"
    events = len(esc.store.events("default"))
    # A fresh Seen (another process): the outbox's forward-only guard still holds.
    for late in ("delivered", "sent", "queued", "failed"):
        report = hook.parse_status(*status_request(held.id, late))
        assert esc.handle_webhook(report, seen=MemorySeen()) == [Applied.DUPLICATE]
    assert esc.outbox.get(held.id).result == row.result
    assert len(esc.store.events("default")) == events
    clock.advance(hours=1)
    esc.run_due()
    assert len(sms.attempts) == 1  # never resent


def test_undelivered_21610_fails_the_row_and_revokes(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """An undelivered report with 21610 fails our row and records the carrier's opt-out."""
    esc = escalator(store, clock, sms)
    handoff = connect(esc, clock)
    [row] = [i for i in esc.store.outbox("default") if i.command.kind == "send_message"]
    hook = TwilioWebhook(TWILIO_TOKEN, clock=clock)
    request = status_request(row.id, "undelivered", ErrorCode="21610")
    assert esc.handle_webhook(hook.parse(*request)) == [Applied.APPLIED]
    assert esc.outbox.get(row.id).status is OutboxStatus.FAILED
    assert not esc.consent.decide(PHONE, Purpose.TRANSACTIONAL).allowed
    records = len(esc.consent.records(PHONE))
    clock.advance(minutes=1)
    assert esc.handle_webhook(hook.parse(*request), seen=MemorySeen()) == [Applied.DUPLICATE]
    assert len(esc.consent.records(PHONE)) == records
    assert kinds(esc, handoff).count("message.undelivered") == 1
    # The carrier's opt-out is the customer's: with no other channel, declined.
    assert esc.handoffs.get(handoff.id).state.value == "declined"


def test_an_undelivered_intro_falls_back_to_email_at_once(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The callback's fallback intro goes out in the webhook call, not at the next run_due."""
    esc = escalator(store, clock, sms)
    earlier = esc.open(make_thread(clock, thread_id="900"))
    esc.contact_provided(earlier.id, EMAIL, consent=WEB_FORM_CONSENT)
    esc.resolve(earlier.id)
    handoff = connect(esc, clock)
    row = [i for i in sms_rows(esc) if i.handoff_id == handoff.id][-1]
    sms.clear()
    hook = TwilioWebhook(TWILIO_TOKEN, clock=clock)
    request = status_request(row.id, "undelivered", ErrorCode="30003")
    assert esc.handle_webhook(hook.parse(*request)) == [Applied.APPLIED]
    assert [m.to for m in sms.sent] == [EMAIL]
    assert esc.handoffs.get(handoff.id).channel.value == "email"


def test_reports_for_other_messages_are_answered_not_applied(esc: Escalator) -> None:
    """No escalate_id: ignored; an id this tenant lacks: unknown_message; nothing written."""
    hook = TwilioWebhook(TWILIO_TOKEN)
    no_id = hook.parse(*twilio_request({"MessageSid": "SM1", "MessageStatus": "sent"}))
    unknown = hook.parse(*status_request("msg_nope", "delivered"))
    assert esc.handle_webhook([no_id, unknown]) == [Applied.IGNORED, Applied.UNKNOWN_MESSAGE]
    assert esc.store.events("default") == []


def test_sendgrid_unsubscribe_and_bounce(store: Store, clock: FakeClock) -> None:
    """Unsubscribe revokes, hard bounce suppresses; a retry with a new sg_event_id adds nothing."""
    esc = Escalator(store, clock=clock)
    key = SendGridKey()
    hook = SendGridWebhook(key.public, clock=clock)
    stamp = int(clock.now().timestamp())
    events = [
        {"email": EMAIL.value, "timestamp": stamp, "event": "open", "sg_event_id": "e0"},
        {
            "email": EMAIL.value,
            "timestamp": stamp,
            "event": "unsubscribe",
            "sg_event_id": "e1",
            "sg_message_id": "sg1.filter",
        },
    ]
    applied = esc.handle_webhook(hook.parse(*key.request(events, clock.now())))
    assert applied == [Applied.IGNORED, Applied.APPLIED]
    assert not esc.consent.decide(EMAIL, Purpose.TRANSACTIONAL).allowed
    [revoke] = esc.consent.records(EMAIL)
    assert revoke.evidence.rule == "sendgrid:unsubscribe"
    clock.advance(seconds=30)
    retry = [{**events[1], "sg_event_id": "e1-retry"}]
    again = hook.parse(*key.request(retry, clock.now()))
    assert esc.handle_webhook(again, seen=MemorySeen()) == [Applied.DUPLICATE]
    assert esc.handle_webhook(again) == [Applied.DUPLICATE]
    assert len(esc.consent.records(EMAIL)) == 1
    bounce = [
        {
            "email": "bob@example.com",
            "timestamp": stamp,
            "event": "bounce",
            "type": "bounce",
            "status": "5.1.1",
            "escalate_id": "msg_gone",
        }
    ]
    # Naming a message this tenant never sent, it is another tenant's fact: not here.
    report, event = hook.parse(*key.request(bounce, clock.now()))
    assert esc.handle_webhook([report, event]) == [Applied.UNKNOWN_MESSAGE] * 2
    assert esc.consent.records(Identity.email("bob@example.com")) == []
    # Naming none (sent outside escalate), it is the address's fact.
    unnamed = [{k: v for k, v in bounce[0].items() if k != "escalate_id"}]
    report, event = hook.parse(*key.request(unnamed, clock.now()))
    assert esc.handle_webhook([report, event]) == [Applied.IGNORED, Applied.APPLIED]
    [suppress] = esc.consent.records(Identity.email("bob@example.com"))
    assert suppress.action.value == "suppress"


def test_memory_seen_forgets_the_oldest() -> None:
    """MemorySeen is bounded: past maxsize the oldest key is forgotten."""
    seen = MemorySeen(maxsize=2)
    assert [seen.first_time(k) for k in ("a", "b", "a", "c", "b", "a")] == [
        True,
        True,
        False,
        True,
        True,
        True,
    ]


def test_duplicates_within_the_signed_window(store: Store, clock: FakeClock) -> None:
    """A captured SendGrid request replayed within max_skew is applied only once."""
    esc = Escalator(store, clock=clock)
    key = SendGridKey()
    hook = SendGridWebhook(key.public, clock=clock, max_skew=timedelta(minutes=5))
    stamp = int(clock.now().timestamp())
    request = key.request(
        [{"email": EMAIL.value, "timestamp": stamp, "event": "spamreport"}], clock.now()
    )
    assert esc.handle_webhook(hook.parse(*request)) == [Applied.APPLIED]
    clock.advance(minutes=4)
    assert esc.handle_webhook(hook.parse(*request), seen=MemorySeen()) == [Applied.DUPLICATE]


def test_apply_webhook_drops_a_retried_reply_as_handle_webhook_does(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """apply_webhook(esc, record) without seen= uses esc.webhook_seen: a retry reaches no case."""
    esc = escalator(store, clock, sms)
    handoff = connect(esc, clock)
    hook = TwilioWebhook(TWILIO_TOKEN, clock=clock)
    request = twilio_request({"From": PHONE.value, "Body": "still broken", "MessageSid": "SMre1"})
    assert apply_webhook(esc, hook.parse(*request)) is Applied.APPLIED
    version = esc.handoffs.get(handoff.id).version
    assert apply_webhook(esc, hook.parse(*request)) is Applied.DUPLICATE
    assert esc.handoffs.get(handoff.id).version == version
    assert kinds(esc, handoff).count("reply.received") == 1


def test_sendgrid_events_of_two_addresses_alike_when_redacted_both_count(
    store: Store, clock: FakeClock
) -> None:
    """Unsubscribes from jane@ and john@ (both j***@) in one second, no message ids: both count."""
    esc = Escalator(store, clock=clock)
    key = SendGridKey()
    hook = SendGridWebhook(key.public, clock=clock)
    stamp = int(clock.now().timestamp())
    jane, john = EMAIL, Identity.email("john@example.com")
    events = [
        {"email": address.value, "timestamp": stamp, "event": "unsubscribe"}
        for address in (jane, john)
    ]
    first, second = hook.parse(*key.request(events, clock.now()))
    assert first.key != second.key
    assert esc.handle_webhook([first, second]) == [Applied.APPLIED, Applied.APPLIED]
    assert not esc.consent.decide(john, Purpose.TRANSACTIONAL).allowed


def test_a_sendgrid_drop_for_an_unsubscribed_address_suppresses_it(
    store: Store, clock: FakeClock
) -> None:
    """An unsubscribe our webhook never saw (made in SendGrid's UI, or before it was set up)."""
    esc = Escalator(store, clock=clock)
    key = SendGridKey()
    hook = SendGridWebhook(key.public, clock=clock)
    esc.consent.grant(EMAIL, WEB_FORM_CONSENT.model_copy(update={"thread_id": "t1"}))
    assert esc.consent.decide(EMAIL, Purpose.TRANSACTIONAL).allowed
    dropped = {
        "email": EMAIL.value,
        "timestamp": int(clock.now().timestamp()),
        "event": "dropped",
        "reason": "Unsubscribed Address",
        "sg_message_id": "sg9.filter",
    }
    parsed = hook.parse(*key.request([dropped], clock.now()))
    assert esc.handle_webhook(parsed) == [Applied.IGNORED, Applied.APPLIED]
    decision = esc.consent.decide(EMAIL, Purpose.TRANSACTIONAL)
    assert (decision.allowed, decision.reason) == (False, "suppressed")
    assert esc.consent.records(EMAIL)[-1].evidence.rule == "sendgrid:suppressed"
