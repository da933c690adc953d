"""An agent's long email text is not carried to SMS when it does not fit one text.

An email case takes 5,000 characters; an SMS at most 1,600 (Twilio refuses more
for good, 21617). When the email fails and the case falls back to the contact's
phone, the intro goes there, the long text does not, and the helpdesk is told
(``Notify(topic="too_long_for_sms")``) so an agent writes a short one.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import (
    Channel,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InvalidRecipient,
    Workflow,
)
from escalate.sms import MAX_SMS_CHARS
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import ContactAddress, Notify, SendFailed, SendMessage
from tests.conftest import EMAIL_CONSENT, WEB_FORM_CONSENT, make_thread
from tests.workflow.conftest import MakeEsc

PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")
BOUNCE = InvalidRecipient("mailbox does not exist", provider="memory", code="550")
LONG = "We looked into your order in detail. " * 60  # ~2,200 characters
SHORT = "Your refund left today."


def connected_by_email(esc: Escalator, clock: FakeClock) -> Handoff:
    """A case connected by email whose contact (from an earlier case) has a consented phone."""
    earlier = esc.open(make_thread(clock, thread_id="900"))
    esc.contact_provided(earlier.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.resolve(earlier.id)
    handoff = esc.open(make_thread(clock))
    return esc.contact_provided(handoff.id, EMAIL, consent=EMAIL_CONSENT)


def test_a_long_email_text_is_not_carried_to_sms(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, notes: list[Notify]
) -> None:
    """The email bounces: the intro goes by text, the long text does not, the helpdesk hears."""
    esc = make_esc()
    handoff = connected_by_email(esc, clock)
    sms.clear()
    notes.clear()
    sms.fail_next(BOUNCE)
    handoff = esc.send_message(handoff.id, LONG)
    texts = [m for m in sms.sent if m.channel is Channel.SMS]
    assert all(len(m.body) <= MAX_SMS_CHARS for m in sms.attempts if m.channel is Channel.SMS)
    assert [m.body.startswith("Acme: hi, this is about your post") for m in texts] == [True]
    assert (handoff.state, handoff.channel) == (HandoffState.CONNECTED, Channel.SMS)
    (note,) = notes
    assert note.topic == "too_long_for_sms"
    assert handoff.reference in note.text
    assert "(InvalidRecipient)" in note.text
    assert "1,600" in note.text
    assert LONG.strip() not in note.text  # personal data stays in the erasable outbox row
    # The agent answers with a short text, which goes.
    esc.send_message(handoff.id, SHORT)
    assert sms.sent[-1].body == f"Acme: {SHORT} (case {handoff.reference})"


def test_a_short_email_text_is_still_carried(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, notes: list[Notify]
) -> None:
    """One that fits a text follows the case after the intro, as before; no notice."""
    esc = make_esc()
    handoff = connected_by_email(esc, clock)
    sms.clear()
    notes.clear()
    sms.fail_next(BOUNCE)
    esc.send_message(handoff.id, SHORT)
    assert [m.channel for m in sms.sent] == [Channel.SMS, Channel.SMS]
    assert sms.sent[-1].body.startswith(f"Acme: {SHORT}")
    assert notes == []


def test_a_late_bounce_does_not_text_the_long_message_where_the_case_went(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, notes: list[Notify]
) -> None:
    """A long email reported bounced after the case moved to SMS: told, not texted."""
    esc = make_esc()
    handoff = connected_by_email(esc, clock)
    esc.send_message(handoff.id, LONG)
    (long_row,) = [
        row
        for row in esc.store.outbox(esc.tenant, handoff_id=handoff.id)
        if isinstance(row.command, SendMessage) and row.command.template == "agent.email"
    ]
    sms.fail_next(BOUNCE)
    esc.send_message(handoff.id, SHORT)  # bounces: the case moves to SMS with it
    assert esc.handoffs.get(handoff.id).channel is Channel.SMS
    sms.clear()
    notes.clear()
    esc.outbox.reconcile(long_row.id, "failed", error_code="bounce")  # the long one, late
    assert sms.attempts == []
    assert [n.topic for n in notes] == ["too_long_for_sms"]
    assert esc.handoffs.get(handoff.id).state is HandoffState.CONNECTED


# -- the decision, pure ------------------------------------------------------------

DEFAULT = Workflow.default(brand="Acme")
ADDRESSES = [
    ContactAddress(PHONE, Channel.SMS, True, "granted"),
    ContactAddress(EMAIL, Channel.EMAIL, True, "granted"),
]


@given(
    length=st.integers(min_value=1, max_value=5_000),
    fallback=st.booleans(),
)
def test_no_decision_queues_a_text_over_the_limit(length: int, fallback: bool) -> None:
    """Whatever the agent's email text: a text queued is within 1,600 characters, or the
    helpdesk is told and the case is still connected, on SMS."""
    now = make_thread(FakeClock()).posted_at
    text = "x" * length
    handoff = Handoff(
        id="ho_1",
        reference="K7QP-3M",
        thread=make_thread(FakeClock(now)),
        state=HandoffState.CONNECTED,
        version=7,
        opened_at=now,
        updated_at=now,
        # Falling back from email now, or a late failure after the case moved to SMS.
        address=EMAIL if fallback else PHONE,
        channel=Channel.EMAIL if fallback else Channel.SMS,
        failed_channels=() if fallback else (Channel.EMAIL,),
    )
    failed = SendMessage(
        channel=Channel.EMAIL,
        to=EMAIL,
        body=f"{text}\n\nAcme (case K7QP-3M)",
        template="agent.email",
        values={"text": text},
    )
    event = SendFailed(channel=Channel.EMAIL, reason="InvalidRecipient", message=failed)
    step = DEFAULT.decide(handoff, event, DEFAULT.context(now, ADDRESSES))
    texts = [c for c in step.commands if isinstance(c, SendMessage)]
    notes = [c for c in step.commands if isinstance(c, Notify)]
    assert all(len(t.body) <= MAX_SMS_CHARS for t in texts)
    assert step.state is HandoffState.CONNECTED
    assert step.handoff.channel is Channel.SMS
    carried = [t for t in texts if t.template == "agent.sms"]
    assert (len(carried), len(notes)) in ((1, 0), (0, 1))
    if notes:
        assert notes[0].topic == "too_long_for_sms"
        assert text not in notes[0].text


@pytest.mark.parametrize("length", [MAX_SMS_CHARS - 40, MAX_SMS_CHARS])
def test_the_limit_counts_the_signed_text(length: int) -> None:
    """The brand and case reference count: 1,600 characters of text alone no longer fit."""
    now = make_thread(FakeClock()).posted_at
    text = "y" * length
    handoff = Handoff(
        id="ho_1",
        reference="K7QP-3M",
        thread=make_thread(FakeClock(now)),
        state=HandoffState.CONNECTED,
        version=7,
        opened_at=now,
        updated_at=now,
        address=EMAIL,
        channel=Channel.EMAIL,
    )
    failed = SendMessage(
        channel=Channel.EMAIL, to=EMAIL, body=text, template="agent.email", values={"text": text}
    )
    event = SendFailed(channel=Channel.EMAIL, reason="InvalidRecipient", message=failed)
    step = DEFAULT.decide(handoff, event, DEFAULT.context(now, ADDRESSES))
    carried = [c for c in step.commands if isinstance(c, SendMessage) and c.template == "agent.sms"]
    assert bool(carried) is (length + len("Acme:  (case K7QP-3M)") <= MAX_SMS_CHARS)
