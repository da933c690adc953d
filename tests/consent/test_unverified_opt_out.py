"""A forged email STOP must not revoke consent or decline the customer's case.

An email's From is whatever its sender typed: an opt-out whose sender the
receiving side could not authenticate is held for a person (the default
``unauthenticated_email_opt_out="review"``), unless it came to the case's
signed reply-to address. Unknown (``None``) and authenticated senders are
honoured as before.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import Any

import pytest

from escalate import (
    Channel,
    ConsentPolicy,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InboundMessage,
    Workflow,
)
from escalate.consent import Purpose
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport
from escalate.webhooks import Applied
from escalate.webhooks.sendgrid import SendGridInboundParse
from escalate.workflow import Notify
from tests.conftest import EMAIL_CONSENT, REPLIES, make_thread
from tests.webhooks.inbound_mail import form, parsed_fields, request
from tests.webhooks.signing import SendGridKey

EMAIL = Identity.email("jane@example.com")
KEY = SendGridKey()

Notes = list[tuple[str, Notify]]


def escalator(
    store: Store, clock: FakeClock, sms: MemoryTransport, notes: Notes, **policy: Any
) -> Escalator:
    return Escalator(
        store,
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme", reply_to=REPLIES),
        consent_policy=ConsentPolicy(**policy),
        notifier=lambda handoff, notify: notes.append((handoff.id, notify)),
    )


def connected(esc: Escalator, clock: FakeClock, thread_id: str = "1001") -> Handoff:
    handoff = esc.open(make_thread(clock, thread_id=thread_id))
    handoff = esc.contact_provided(handoff.id, EMAIL, consent=EMAIL_CONSENT)
    assert handoff.state is HandoffState.CONNECTED
    clock.advance(minutes=5)
    return handoff


def email(
    clock: FakeClock,
    body: str,
    authenticated: bool | None,
    *,
    to: str = "support@acme.example",
    mid: str | None = "<m1@example.com>",
) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL,
        sender=EMAIL,
        body=body,
        received_at=clock.now(),
        recipient=to,
        provider="sendgrid",
        provider_message_id=mid,
        sender_authenticated=authenticated,
    )


def assert_held(esc: Escalator, sms: MemoryTransport, notes: Notes, handoff: Handoff) -> None:
    """Consent kept, the case open, the helpdesk told once, nothing sent to the address."""
    esc.run_due()
    assert esc.consent.decide(EMAIL, Purpose.TRANSACTIONAL).allowed
    assert esc.consent.records(EMAIL)[-1].action.value == "grant"
    assert esc.handoffs.get(handoff.id).state is HandoffState.CONNECTED
    assert sms.sent == []
    reviews = [(hid, n) for hid, n in notes if n.topic == "unverified_opt_out"]
    assert len(reviews) == 1
    assert reviews[0][0] == handoff.id
    assert handoff.reference in reviews[0][1].text
    assert "confirm" in reviews[0][1].text
    (held,) = [e for e in esc.history(handoff.id) if e.kind == "consent.opt_out_unverified"]
    assert held.data["address"] == "j***@example.com"
    assert "jane" not in str(held.data)


def assert_honoured(
    esc: Escalator, handoff: Handoff, notes: Notes, returned: Handoff | None = None
) -> None:
    assert esc.consent.decide(EMAIL, Purpose.TRANSACTIONAL).reason == "revoked"
    declined = esc.handoffs.get(handoff.id)
    assert declined.state is HandoffState.DECLINED
    assert not [n for _, n in notes if n.topic == "unverified_opt_out"]
    inputs = [e.data["input"] for e in esc.history(handoff.id) if e.kind == "reply.received"]
    assert inputs == ["opted_out"]
    if returned is not None:
        assert returned == declined


@pytest.mark.parametrize("body", ["STOP", "Please stop emailing me"])
def test_a_forged_opt_out_is_held_for_a_person(
    store: Store, clock: FakeClock, sms: MemoryTransport, body: str
) -> None:
    """A STOP or a free-text one "from" the customer, unauthenticated: nothing revoked."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    sms.clear()
    esc.inbound(email(clock, body, False))
    esc.inbound(email(clock, body, False))  # the provider's retry of the same message
    assert_held(esc, sms, notes, handoff)


def test_a_forged_stop_through_sendgrid_inbound_parse(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The real parser, SPF soft-failing and the only DKIM pass the forger's own domain."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    sms.clear()
    parser = SendGridInboundParse(KEY.public, clock=clock)
    fields = parsed_fields(text="STOP", SPF="softfail", dkim="{@evil.example : pass}")
    (applied,) = esc.handle_webhook(parser.parse(*request(KEY, form(fields), clock.now())))
    assert applied is Applied.APPLIED
    assert_held(esc, sms, notes, handoff)


def test_an_authenticated_stop_through_sendgrid_is_honoured(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    parser = SendGridInboundParse(KEY.public, clock=clock)
    fields = parsed_fields(text="STOP")  # SPF pass, DKIM pass for example.com
    esc.handle_webhook(parser.parse(*request(KEY, form(fields), clock.now())))
    assert_honoured(esc, handoff, notes)


@pytest.mark.parametrize("authenticated", [True, None])
def test_an_authenticated_or_unchecked_stop_is_honoured(
    store: Store, clock: FakeClock, sms: MemoryTransport, authenticated: bool | None
) -> None:
    """True, or None (a parser that knows nothing of it): revoked and declined, as before."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    returned = esc.inbound(email(clock, "STOP", authenticated))
    assert_honoured(esc, handoff, notes, returned)


def test_a_stop_to_the_signed_reply_to_address_is_honoured(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The signed token only went to the case's address: its sender reads that mailbox."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    to = f"Acme <{REPLIES.address_for(handoff.id)}>"
    returned = esc.inbound(email(clock, "STOP", False, to=to))
    assert_honoured(esc, handoff, notes, returned)


def test_the_honour_policy_honours_every_email_opt_out(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    notes: Notes = []
    esc = escalator(store, clock, sms, notes, unauthenticated_email_opt_out="honour")
    handoff = connected(esc, clock)
    returned = esc.inbound(email(clock, "STOP", False))
    assert_honoured(esc, handoff, notes, returned)


def test_every_open_case_on_the_address_is_told(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Two cases on the address: an event and a notice each, naming its own reference."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    older = connected(esc, clock, "1001")
    newer = connected(esc, clock, "1002")
    notes.clear()
    esc.inbound(email(clock, "STOP", False))
    told = sorted((hid, n.text) for hid, n in notes if n.topic == "unverified_opt_out")
    assert [hid for hid, _ in told] == sorted([older.id, newer.id])
    for handoff in (older, newer):
        assert esc.handoffs.get(handoff.id).state is HandoffState.CONNECTED
        assert any(handoff.reference in text for _, text in told)
        kinds = [e.kind for e in esc.history(handoff.id)]
        assert kinds.count("consent.opt_out_unverified") == 1


def test_a_forged_stop_with_no_open_case_is_recorded(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """No case to tell: consent is kept and the attempt is still in the audit log."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    assert esc.inbound(email(clock, "STOP", False)) is None
    assert esc.consent.records(EMAIL) == []
    (held,) = [e for e in store.events(esc.tenant) if e.kind == "consent.opt_out_unverified"]
    assert held.handoff_id is None
    assert held.data["address"] == "j***@example.com"
    assert notes == []


# -- a held opt-out is no reply: the case and its timers stay as they were ------

REMINDER_AFTER = timedelta(hours=24)  # Workflow.default's reminder_after
OTHER_TEXT = "STOP emailing me. Also the refund went to card 4242, call 415-555-0100"


def pending_timers(store: Store, esc: Escalator, handoff: Handoff) -> set[tuple[str, datetime]]:
    far = esc.clock.now() + timedelta(days=365)
    return {
        (t.name, t.due_at)
        for t in store.due_timers(far, limit=1000, tenant=esc.tenant)
        if t.handoff_id == handoff.id
    }


def reminders(sms: MemoryTransport) -> list[str]:
    return [m.body for m in sms.sent if "Just checking in" in m.body]


@pytest.mark.parametrize("body", ["STOP", "Please stop emailing me", OTHER_TEXT])
def test_a_held_opt_out_leaves_the_case_and_its_timers_as_they_were(
    store: Store, clock: FakeClock, sms: MemoryTransport, body: str
) -> None:
    """A forged STOP is not the customer's answer: no reply, no version, no timer moved."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    sms.clear()
    before = esc.handoffs.get(handoff.id)
    timers = pending_timers(store, esc, handoff)
    assert {name for name, _ in timers} == {"reminder"}
    returned = esc.inbound(email(clock, body, False))
    assert returned == before  # the case the notice went to, unchanged
    assert esc.handoffs.get(handoff.id) == before
    assert pending_timers(store, esc, handoff) == timers
    kinds = [e.kind for e in esc.history(handoff.id)]
    assert "reply.received" not in kinds
    assert kinds.count("consent.opt_out_unverified") == 1
    assert_held(esc, sms, notes, handoff)


def test_the_reminder_still_comes_at_its_time_after_a_held_stop(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Anyone who knows the address could otherwise silence the follow-up, then the abandonment."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)  # the intro left 5 minutes ago
    sms.clear()
    esc.inbound(email(clock, "STOP", False))
    clock.advance(REMINDER_AFTER - timedelta(minutes=6))
    esc.run_due()
    assert reminders(sms) == []
    clock.advance(minutes=2)
    esc.run_due()
    assert len(reminders(sms)) == 1
    assert esc.handoffs.get(handoff.id).state is HandoffState.CONNECTED
    clock.advance(hours=48)  # abandon_after: a held STOP did not reset it either
    esc.run_due()
    assert esc.handoffs.get(handoff.id).state is HandoffState.ABANDONED


def test_an_unauthenticated_plain_reply_is_held_too(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A forged "all sorted, thanks" must not cancel the reminder the customer is owed.

    It moves no case (no new version, no reply.received, the reminder still
    pending); each open case of the address records reply.unverified and the
    helpdesk hears of it once, however often the provider posts it.
    """
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    timers = pending_timers(store, esc, handoff)
    for _ in range(2):  # the provider's retry of the same message
        returned = esc.inbound(email(clock, "All sorted now, thanks! You can close it", False))
        esc.run_due()
        assert returned is not None
        assert returned.version == handoff.version
    kinds = [e.kind for e in esc.history(handoff.id)]
    assert "reply.received" not in kinds
    assert kinds.count("reply.unverified") == 1
    assert pending_timers(store, esc, handoff) == timers
    assert [n.topic for _, n in notes] == ["unverified_reply"]
    assert handoff.reference in notes[0][1].text
    assert "jane" not in str(esc.history(handoff.id)[-2:])


def test_an_unauthenticated_plain_reply_answers_the_case_when_the_policy_accepts_it(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """``unauthenticated_email_reply="accept"``: any other email answers the case, as before."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes, unauthenticated_email_reply="accept")
    handoff = connected(esc, clock)
    returned = esc.inbound(email(clock, "Thanks, the parcel is still missing", False))
    assert returned is not None
    assert returned.version == handoff.version + 1
    assert "reply.received" in [e.kind for e in esc.history(handoff.id)]
    assert {name for name, _ in pending_timers(store, esc, handoff)} == {"idle"}
    assert notes == []


@pytest.mark.parametrize("authenticated", [True, None])
def test_a_plain_reply_from_a_vouched_or_unchecked_sender_answers_the_case(
    store: Store, clock: FakeClock, sms: MemoryTransport, authenticated: bool | None
) -> None:
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    returned = esc.inbound(email(clock, "Thanks, the parcel is still missing", authenticated))
    assert returned is not None
    assert returned.version == handoff.version + 1
    assert notes == []


def test_an_unauthenticated_reply_to_no_case_writes_nothing(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Unauthenticated mail about no case is everyday spam: no audit event per message."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    before = len(store.events(esc.tenant))
    assert esc.inbound(email(clock, "Cheap watches", False)) is None
    assert len(store.events(esc.tenant)) == before
    assert notes == []


def test_a_held_message_with_other_text_reaches_no_log_event_or_notice(
    store: Store,
    clock: FakeClock,
    sms: MemoryTransport,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Unattributable, it is not relayed as the customer's words; the notice names only the case."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    with caplog.at_level(logging.DEBUG):
        esc.inbound(email(clock, OTHER_TEXT, False))
        esc.run_due()
    (note,) = [n for _, n in notes if n.topic == "unverified_opt_out"]
    recorded = [str(e.data) for e in store.events(esc.tenant)]
    for fragment in ("4242", "415-555-0100", "refund", "jane@"):
        assert fragment not in note.text
        assert fragment not in caplog.text
        assert not [data for data in recorded if fragment in data]
    assert handoff.reference in note.text


def test_a_held_stop_through_sendgrid_moves_no_case(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The webhook path: applied, the helpdesk told, the case and its reminder untouched."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    before = esc.handoffs.get(handoff.id)
    timers = pending_timers(store, esc, handoff)
    parser = SendGridInboundParse(KEY.public, clock=clock)
    fields = parsed_fields(text="STOP", SPF="softfail", dkim="{@evil.example : pass}")
    (applied,) = esc.handle_webhook(parser.parse(*request(KEY, form(fields), clock.now())))
    assert applied is Applied.APPLIED
    assert esc.handoffs.get(handoff.id) == before
    assert pending_timers(store, esc, handoff) == timers
    assert "reply.received" not in [e.kind for e in esc.history(handoff.id)]


def test_two_cases_on_the_address_are_both_left_as_they_were(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The newest case (where a reply would have gone) is returned; neither moves."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    older = esc.handoffs.get(connected(esc, clock, "1001").id)
    newer = esc.handoffs.get(connected(esc, clock, "1002").id)
    assert esc.inbound(email(clock, "STOP", False, mid="<m2@example.com>")) == newer
    assert esc.handoffs.get(older.id) == older
    assert esc.handoffs.get(newer.id) == newer
