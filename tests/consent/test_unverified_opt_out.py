"""A forged email STOP must not revoke consent or decline the customer's case.

An email's From is whatever its sender typed: an opt-out whose sender the
receiving side could not authenticate is held for a person (the default
``unauthenticated_email_opt_out="review"``), unless it came to the case's
signed reply-to address. Unknown (``None``) and authenticated senders are
honoured as before.
"""

from __future__ import annotations

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


def assert_honoured(esc: Escalator, handoff: Handoff, notes: Notes) -> None:
    assert esc.consent.decide(EMAIL, Purpose.TRANSACTIONAL).reason == "revoked"
    assert esc.handoffs.get(handoff.id).state is HandoffState.DECLINED
    assert not [n for _, n in notes if n.topic == "unverified_opt_out"]


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
    esc.inbound(email(clock, "STOP", authenticated))
    assert_honoured(esc, handoff, notes)


def test_a_stop_to_the_signed_reply_to_address_is_honoured(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The signed token only went to the case's address: its sender reads that mailbox."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    esc.inbound(email(clock, "STOP", False, to=f"Acme <{REPLIES.address_for(handoff.id)}>"))
    assert_honoured(esc, handoff, notes)


def test_the_honour_policy_honours_every_email_opt_out(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    notes: Notes = []
    esc = escalator(store, clock, sms, notes, unauthenticated_email_opt_out="honour")
    handoff = connected(esc, clock)
    esc.inbound(email(clock, "STOP", False))
    assert_honoured(esc, handoff, notes)


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
