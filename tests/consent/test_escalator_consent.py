"""Consent through the real Escalator: keywords, confirmations, HELP, double opt-in, quiet hours."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from escalate import (
    Channel,
    ConsentPolicy,
    Escalator,
    HandoffState,
    Identity,
    InboundMessage,
    Workflow,
)
from escalate.consent import FreeTextPolicy, Purpose
from escalate.store import MemoryStore, OutboxStatus, Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from tests.conftest import WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550100")


def text(
    clock: FakeClock, body: str, sender: Identity = PHONE, mid: str | None = None
) -> InboundMessage:
    return InboundMessage(
        channel=Channel.SMS,
        sender=sender,
        body=body,
        received_at=clock.now(),
        provider_message_id=mid,
    )


def connect(esc: Escalator, clock: FakeClock) -> str:
    handoff = esc.open(make_thread(clock))
    return esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT).id


def test_stop_revokes_every_purpose_and_confirms_once(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """STOP revokes all purposes; exactly one confirmation follows; a second STOP sends nothing."""
    connect(esc, clock)
    sms.clear()
    esc.inbound(text(clock, "STOP"))
    assert esc.consent.decide(PHONE, Purpose.TRANSACTIONAL).reason == "revoked"
    assert esc.consent.decide(PHONE, Purpose.MARKETING).reason == "revoked"
    assert len(sms.sent) == 1
    assert "unsubscribed" in sms.sent[0].body
    esc.inbound(text(clock, "stop!!"))
    esc.inbound(text(clock, "please stop texting me"))
    esc.run_due()
    assert len(sms.sent) == 1


def test_free_text_revocation_revokes(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A free-text revocation revokes like STOP, with the rule kept as evidence."""
    connect(esc, clock)
    esc.inbound(text(clock, "Please stop texting me, I'm done"))
    record = esc.consent.records(PHONE)[-1]
    assert record.action.value == "revoke"
    assert record.all_purposes
    assert record.evidence.rule == "stop_messaging"


def test_free_text_review_policy_flags_instead(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """With free_text=review a free-text revocation is flagged for review, never ignored.

    The helpdesk is told (a ``consent_review`` notice to the notifier); a keyword
    with filler ("stop please") is per se and revokes outright, as a keyword does.
    """
    notes: list[str] = []
    esc = Escalator(
        store,
        transports=[sms],
        clock=clock,
        consent_policy=ConsentPolicy(free_text=FreeTextPolicy.REVIEW),
        notifier=lambda _, notify: notes.append(notify.topic),
    )
    handoff_id = connect(esc, clock)
    esc.inbound(text(clock, "please stop texting me"))
    kinds = [event.kind for event in esc.history(handoff_id)]
    assert "consent.review_requested" in kinds
    assert notes == ["consent_review"]
    assert esc.consent.decide(PHONE, Purpose.TRANSACTIONAL).allowed
    esc.inbound(text(clock, "stop please"))  # per se: revokes outright
    assert esc.consent.decide(PHONE, Purpose.TRANSACTIONAL).reason == "revoked"


def test_one_message_id_in_two_tenants_gets_both_reviews(clock: FakeClock) -> None:
    """The sender chooses an email's Message-ID: the same one reaching two tenants' cases
    in one database must not make the second review notice a duplicate of the first."""
    store = MemoryStore()
    notes: list[tuple[str, str]] = []
    desks = [
        Escalator(
            store,
            tenant=tenant,
            transports=[MemoryTransport([Channel.SMS])],
            clock=clock,
            consent_policy=ConsentPolicy(free_text=FreeTextPolicy.REVIEW),
            notifier=lambda handoff, notify: notes.append((handoff.tenant, notify.topic)),
        )
        for tenant in ("acme", "globex")
    ]
    for desk in desks:
        connect(desk, clock)
        reply = text(clock, "please stop texting me", mid="<same@mail.example>")
        desk.inbound(reply.model_copy(update={"tenant": desk.tenant}))
    assert sorted(notes) == [("acme", "consent_review"), ("globex", "consent_review")]


def test_confirmation_never_goes_after_five_minutes(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A confirmation not dispatched within 5 minutes of the STOP is refused, not sent late."""
    esc = Escalator(store, transports=[sms], clock=clock, dispatch_immediately=False)
    connect(esc, clock)
    esc.run_due()
    sms.clear()
    esc.inbound(text(clock, "STOP"))
    clock.advance(minutes=6)
    report = esc.run_due()
    assert sms.sent == []
    assert report.refused == 1
    refused = [e for e in store.events(esc.tenant) if e.kind == "message.refused"]
    assert refused[-1].data["reason"] == "reply_window_passed"


def test_help_is_answered_without_a_handoff(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport, store: Store
) -> None:
    """HELP from an unknown number is answered through the outbox, with brand, STOP and rates."""
    stranger = Identity.phone("+12125550100")
    assert esc.inbound(text(clock, "HELP", sender=stranger, mid="SM1")) is None
    (answer,) = sms.sent
    assert answer.to == stranger
    assert answer.handoff_id is None
    assert "Acme" in answer.body
    assert "STOP" in answer.body
    assert "Msg & data rates may apply" in answer.body
    (row,) = store.outbox(esc.tenant)
    assert row.handoff_id is None
    assert row.status is OutboxStatus.DONE


def test_help_after_stop_is_not_answered(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """After STOP, nothing but the one confirmation: a HELP is recorded, not answered."""
    handoff_id = connect(esc, clock)
    esc.inbound(text(clock, "STOP"))
    sent = len(sms.sent)
    esc.inbound(text(clock, "HELP"))
    assert len(sms.sent) == sent
    # STOP declined the handoff, so the HELP belongs to no open one: look tenant-wide.
    assert esc.handoffs.get(handoff_id).state.value == "declined"
    assert "consent.help_not_answered" in [e.kind for e in esc.store.events(esc.tenant)]


def test_start_regrants_and_confirms(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """START after STOP grants again and sends one opt-in confirmation."""
    connect(esc, clock)
    esc.inbound(text(clock, "STOP"))
    sms.clear()
    clock.advance(minutes=1)
    esc.inbound(text(clock, "START"))
    assert esc.consent.decide(PHONE, Purpose.TRANSACTIONAL).allowed
    assert len(sms.sent) == 1
    assert "subscribed" in sms.sent[0].body


def test_yes_without_pending_opt_in_is_an_ordinary_reply(esc: Escalator, clock: FakeClock) -> None:
    """YES with no pending double opt-in records no consent."""
    connect(esc, clock)
    before = len(esc.consent.records(PHONE))
    esc.inbound(text(clock, "yes"))
    assert len(esc.consent.records(PHONE)) == before


def test_double_opt_in(store: Store, clock: FakeClock, sms: MemoryTransport) -> None:
    """With double opt-in, 'Reply YES ... case K7QP-3M' goes first and nothing else until YES."""
    esc = Escalator(
        store,
        transports=[sms],
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme", double_opt_in=True),
    )
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.state is HandoffState.AWAITING_CONSENT
    (request,) = sms.sent
    assert f"Reply YES to get updates on case {handoff.reference} by text" in request.body
    assert esc.consent.decide(PHONE, Purpose.TRANSACTIONAL).reason == "awaiting_confirmation"
    handoff = esc.inbound(text(clock, "YES"))
    assert handoff is not None
    assert handoff.state is HandoffState.CONNECTED
    assert len(sms.sent) == 2
    assert handoff.reference in sms.sent[1].body


@pytest.mark.parametrize("answer", ["Yes please", "yes, thank you!", "Y pls"])
def test_double_opt_in_yes_with_thanks_connects(
    store: Store, clock: FakeClock, sms: MemoryTransport, answer: str
) -> None:
    """A customer answers "Reply YES" with "Yes please" as often as with YES."""
    esc = Escalator(
        store, transports=[sms], clock=clock, workflow=Workflow.default(double_opt_in=True)
    )
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    handoff = esc.inbound(text(clock, answer))
    assert handoff is not None
    assert handoff.state is HandoffState.CONNECTED
    assert esc.consent.decide(PHONE, Purpose.TRANSACTIONAL).allowed
    assert handoff.reference in sms.sent[-1].body
    assert len(sms.sent) == 2  # the request, then the intro: no "you are subscribed" text


def test_double_opt_in_stop_instead_of_yes(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """STOP in answer to the double opt-in request revokes; the intro never goes."""
    esc = Escalator(
        store, transports=[sms], clock=clock, workflow=Workflow.default(double_opt_in=True)
    )
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.inbound(text(clock, "stop"))
    esc.inbound(text(clock, "YES"))
    assert esc.consent.decide(PHONE, Purpose.TRANSACTIONAL).reason == "revoked"
    assert [m.body for m in sms.sent if "case" in m.body and "YES" not in m.body] == []


def test_quiet_hours_defer_the_intro(store: Store, sms: MemoryTransport) -> None:
    """An SMS due at night is deferred to 08:00 local, with an event saying when and why."""
    clock = FakeClock(datetime(2026, 1, 5, 7, 0, tzinfo=UTC))  # 23:00 in Los Angeles
    esc = Escalator(store, transports=[sms], clock=clock)
    handoff_id = connect(esc, clock)
    assert sms.sent == []
    deferred = [e for e in esc.history(handoff_id) if e.kind == "message.deferred"]
    assert deferred[0].data["reason"] == "quiet_hours"
    assert deferred[0].data["not_before"] == "2026-01-05T16:00:00+00:00"
    assert deferred[0].data["zone_source"] == "number"
    clock.set(datetime(2026, 1, 5, 15, 59, tzinfo=UTC))
    esc.run_due()
    assert sms.sent == []
    clock.set(datetime(2026, 1, 5, 16, 0, tzinfo=UTC))
    esc.run_due()
    assert len(sms.sent) == 1


def test_refused_send_is_an_event_with_the_reason(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A send without consent is refused with an event naming the reason, never dropped silently."""
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE)  # no consent evidence
    assert sms.sent == []
    refused = [e for e in esc.history(handoff.id) if e.kind == "message.refused"]
    assert refused[0].data["reason"] == "no_consent"
    assert handoff.state is HandoffState.FAILED


def test_duplicate_help_webhook_is_answered_once(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The same HELP delivered twice by the provider (same message id) is answered once."""
    stranger = Identity.phone("+12125550100")
    esc.inbound(text(clock, "HELP", sender=stranger, mid="SM42"))
    esc.inbound(text(clock, "HELP", sender=stranger, mid="SM42"))
    assert len(sms.sent) == 1


def test_a_stop_by_email_reply_is_recorded_as_an_email_reply(
    esc: Escalator, clock: FakeClock
) -> None:
    """The ledger says how the revocation arrived: an email reply, not a social DM."""
    email = Identity.email("Jane@Example.com")
    esc.inbound(
        InboundMessage(channel=Channel.EMAIL, sender=email, body="STOP", received_at=clock.now())
    )
    record = esc.consent.records(email)[-1]
    assert record.action.value == "revoke"
    assert record.evidence.source.value == "email_reply"
    esc.inbound(text(clock, "STOP"))
    assert esc.consent.records(PHONE)[-1].evidence.source.value == "sms_keyword"


def test_a_start_by_email_grants_nothing(esc: Escalator, clock: FakeClock) -> None:
    """An email's From proves nothing: a START there must not undo the address's STOP."""
    email = Identity.email("jane@example.com")

    def mail(body: str) -> InboundMessage:
        return InboundMessage(
            channel=Channel.EMAIL, sender=email, body=body, received_at=clock.now()
        )

    esc.inbound(mail("STOP"))
    esc.inbound(mail("START"))
    assert [r.action.value for r in esc.consent.records(email)] == ["revoke"]
    assert esc.consent.decide(email, Purpose.TRANSACTIONAL).reason == "revoked"
    refused = [e for e in esc.store.events(esc.tenant) if e.kind == "consent.opt_in_not_accepted"]
    assert [e.data["reason"] for e in refused] == ["sender_unverified"]
    assert "jane@example.com" not in str(refused[0].data)
