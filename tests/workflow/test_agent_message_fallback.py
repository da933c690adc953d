"""An agent's message whose channel fails follows the case to the next channel, or is reported.

The default workflow sends it again, after the intro, on the contact's other
consented channel (rendered for that channel: an email has a subject and answers
the intro's thread); with no channel left, the case closes and the helpdesk is
told the message was not delivered. A message a report said was delivered is
never sent again, and templated messages are not carried.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tenacity import stop_after_attempt

from escalate import (
    Channel,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InvalidRecipient,
    RecipientOptedOut,
    RetryableTransportError,
    RetryPolicy,
    Workflow,
)
from escalate.store import OutboxItem, Store
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import TERMINAL_STATES, ContactAddress, Notify, SendFailed, SendMessage
from tests.conftest import EMAIL_CONSENT, REPLIES, WEB_FORM_CONSENT, make_thread
from tests.workflow.conftest import MakeEsc

S = HandoffState
PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")
TEXT = "Your refund of $20 is on its way."
LANDLINE = InvalidRecipient("not a mobile number", provider="memory", code="21614")
CARRIER_STOP = RecipientOptedOut("carrier opt-out", provider="memory", code="21610")


def connected_by_text(esc: Escalator, clock: FakeClock, *, email: bool = True) -> Handoff:
    """A case connected on SMS whose contact (from an earlier case) has a consented email."""
    if email:
        earlier = esc.open(make_thread(clock, thread_id="900"))
        esc.contact_provided(earlier.id, EMAIL, consent=EMAIL_CONSENT)
        esc.resolve(earlier.id)
    handoff = esc.open(make_thread(clock))
    return esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)


def reasons(esc: Escalator, handoff_id: str) -> list[str]:
    return [e.data["reason"] for e in esc.history(handoff_id) if e.kind == "handoff.transition"]


def agent_rows(esc: Escalator, handoff_id: str) -> list[OutboxItem]:
    return [
        row
        for row in esc.store.outbox(esc.tenant, handoff_id=handoff_id)
        if isinstance(row.command, SendMessage) and (row.command.template or "").startswith("agent")
    ]


@pytest.mark.parametrize("how", ["landline", "unlinked"])
def test_the_agents_message_goes_by_email_after_the_intro(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, how: str
) -> None:
    """A landline (21614) or a number unlinked from the contact: the intro, then it, by email."""
    esc = make_esc(reply_to=REPLIES)
    handoff = connected_by_text(esc, clock)
    sms.clear()
    if how == "landline":
        sms.fail_next(LANDLINE)
    else:
        assert handoff.contact_id is not None
        esc.contacts.unlink(handoff.contact_id, PHONE, actor="agent:7")
    handoff = esc.send_message(handoff.id, TEXT)
    assert (handoff.state, handoff.channel, handoff.address) == (S.CONNECTED, Channel.EMAIL, EMAIL)
    intro, carried = sms.sent
    assert (intro.to, carried.to) == (EMAIL, EMAIL)
    assert intro.body.startswith("Hi,\n\nThanks for reaching out to Acme.")
    # Rendered for email: agent.email's body, agent.subject's subject, the reference in both.
    assert carried.body == f"{TEXT}\n\nAcme (case {handoff.reference})"
    # One subject for the thread, as a reply: Gmail starts a new conversation for a
    # message whose subject differs, whatever its References say.
    assert intro.subject == f"Acme: your case {handoff.reference}"
    assert carried.subject == f"Re: {intro.subject}"
    root = f"<{handoff.id}@acme.example>"
    assert intro.headers["Message-ID"] == root
    assert carried.headers["In-Reply-To"] == root == carried.headers["References"]
    assert carried.headers["Message-ID"] != root
    assert (
        carried.headers["Reply-To"] == intro.headers["Reply-To"] == REPLIES.address_for(handoff.id)
    )
    assert reasons(esc, handoff.id)[-1] == (
        "an agent's message failed; fell back to another channel with it"
    )


def test_the_carried_message_is_not_in_the_audit_log(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, notes: list[Notify]
) -> None:
    """The text is kept in the outbox row only: no event and no notification holds it."""
    esc = make_esc()
    handoff = connected_by_text(esc, clock)
    sms.fail_next(LANDLINE)
    esc.send_message(handoff.id, TEXT)
    assert all(TEXT not in str(event.model_dump()) for event in esc.history(handoff.id))
    assert notes == []
    failed, carried = agent_rows(esc, handoff.id)
    assert isinstance(failed.command, SendMessage)
    assert isinstance(carried.command, SendMessage)
    assert failed.command.values == carried.command.values == {"text": TEXT}
    assert TEXT not in repr(SendFailed(channel=Channel.SMS, reason="x", message=failed.command))


@pytest.mark.parametrize(
    ("error", "state"), [(LANDLINE, S.FAILED), (CARRIER_STOP, S.DECLINED)], ids=["21614", "21610"]
)
def test_with_no_other_channel_the_helpdesk_hears_of_it(
    make_esc: MakeEsc,
    clock: FakeClock,
    sms: MemoryTransport,
    notes: list[Notify],
    error: Exception,
    state: HandoffState,
) -> None:
    """The case closes (failed, or declined on a carrier opt-out) and the helpdesk is told."""
    esc = make_esc()
    handoff = connected_by_text(esc, clock, email=False)
    sms.clear()
    sms.fail_next(error)
    handoff = esc.send_message(handoff.id, TEXT)
    assert handoff.state is state
    assert sms.sent == []
    (note,) = notes
    assert note.topic == "undelivered"
    assert handoff.reference in note.text
    assert f"({type(error).__name__})" in note.text
    assert TEXT not in note.text  # personal data stays in the erasable outbox row


def test_a_case_failing_under_a_queued_agents_message_tells_the_helpdesk(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, notes: list[Notify]
) -> None:
    """The intro fails first and the case closes: the agent's message queued behind it is
    never sent, and the helpdesk hears the case failed, and that the message did not go."""
    clock.set(datetime(2026, 1, 6, 6, 0, tzinfo=UTC))  # 22:00 in San Francisco
    esc = make_esc()
    handoff = connected_by_text(esc, clock, email=False)
    esc.send_message(handoff.id, TEXT)  # held until the morning, behind the intro
    sms.fail_next(LANDLINE, times=2)
    clock.set(datetime(2026, 1, 6, 16, 5, tzinfo=UTC))
    esc.run_due()
    handoff = esc.handoffs.get(handoff.id)
    assert handoff.state is S.FAILED
    assert sms.sent == []
    # Held past the SLA; the intro's failure closed the case; the agent's text, cancelled.
    assert [note.topic for note in notes] == ["sla_at_risk", "failed", "undelivered"]
    assert handoff.reference in notes[1].text
    assert "(InvalidRecipient)" in notes[1].text
    assert "(handoff_closed)" in notes[2].text
    assert TEXT not in notes[2].text


def test_a_bounce_reported_after_the_send_carries_the_message(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The carrier reports the text undelivered after accepting it: it goes by email then."""
    esc = make_esc()
    handoff = connected_by_text(esc, clock)
    esc.send_message(handoff.id, TEXT)
    (row,) = agent_rows(esc, handoff.id)
    sms.clear()
    esc.outbox.reconcile(row.id, "failed", error_code="30006", actor="twilio")
    assert [(m.to, m.body.startswith(TEXT)) for m in sms.sent] == [(EMAIL, False), (EMAIL, True)]


def test_a_message_reported_delivered_is_never_sent_again(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Delivered, then a contradicting failure report: the case falls back, the text stays sent."""
    esc = make_esc()
    handoff = connected_by_text(esc, clock)
    esc.send_message(handoff.id, TEXT)
    (row,) = agent_rows(esc, handoff.id)
    esc.outbox.reconcile(row.id, "delivered", actor="twilio")
    sms.clear()
    esc.outbox.reconcile(row.id, "failed", error_code="30006", actor="twilio")
    assert [m.to for m in sms.sent] == [EMAIL]
    assert sms.sent[0].body.startswith("Hi,")


def test_messages_queued_behind_the_failed_one_follow_it_in_order(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Two texts queued to a landline: the second's failure, now late, sends it by email too."""
    esc = Escalator(
        store,
        transports=[sms],
        clock=clock,
        dispatch_immediately=False,
        workflow=Workflow.default(brand="Acme"),
        notifier=lambda *_: None,
    )
    handoff = connected_by_text(esc, clock)
    esc.run_due()
    sms.clear()
    esc.send_message(handoff.id, "First: we found your order.")
    esc.send_message(handoff.id, "Second: it ships today.")
    sms.fail_next(LANDLINE, times=2)
    esc.run_due()
    assert [m.to for m in sms.attempts[:2]] == [PHONE, PHONE]
    assert [(m.to, m.body.split("\n")[0]) for m in sms.sent] == [
        (EMAIL, "Hi,"),
        (EMAIL, "First: we found your order."),
        (EMAIL, "Second: it ships today."),
    ]
    assert reasons(esc, handoff.id)[-1] == (
        "an agent's message failed on a previous channel; sent on the current one"
    )


def test_a_bounced_email_goes_by_text_after_quiet_hours(
    make_esc: MakeEsc, sms: MemoryTransport, store: Store
) -> None:
    """Falling back to SMS at night: the intro and the message wait for 08:00, then go in order."""
    clock = FakeClock(datetime(2026, 1, 5, 18, 0, tzinfo=UTC))
    esc = Escalator(
        store,
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        notifier=lambda *_: None,
    )
    earlier = esc.open(make_thread(clock, thread_id="900"))
    esc.contact_provided(earlier.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.resolve(earlier.id)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, EMAIL, consent=EMAIL_CONSENT)
    clock.set(datetime(2026, 1, 6, 6, 0, tzinfo=UTC))  # 22:00 in San Francisco
    esc.send_message(handoff.id, TEXT)
    (row,) = agent_rows(esc, handoff.id)
    sms.clear()
    esc.outbox.reconcile(row.id, "failed")  # a hard bounce
    assert sms.sent == []
    clock.set(datetime(2026, 1, 6, 16, 5, tzinfo=UTC))  # 08:05 there
    esc.run_due()
    reference = esc.handoffs.get(handoff.id).reference
    assert [(m.channel, m.body) for m in sms.sent] == [
        (Channel.SMS, sms.sent[0].body),
        (Channel.SMS, f"Acme: {TEXT} (case {reference})"),
    ]
    assert sms.sent[0].body.startswith("Acme: hi, this is about your post")


def test_a_failed_reminder_is_not_carried(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Only an agent's message follows the case: a reminder's fallback is the intro alone."""
    esc = make_esc()
    handoff = connected_by_text(esc, clock)
    sms.clear()
    sms.fail_next(LANDLINE)
    clock.advance(hours=24)
    esc.run_due()
    assert [m.body.startswith("Hi,") for m in sms.sent] == [True]
    assert esc.handoffs.get(handoff.id).channel is Channel.EMAIL


def test_retries_exhausted_carry_the_message(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A provider that never took the text (busy until the policy gives up): it goes by email."""
    esc = Escalator(
        store,
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        retry=RetryPolicy(stop=stop_after_attempt(1)),
        notifier=lambda *_: None,
    )
    handoff = connected_by_text(esc, clock)
    sms.clear()
    sms.fail_next(RetryableTransportError("busy", provider="memory", code="429"))
    esc.send_message(handoff.id, TEXT)
    assert [(m.to, m.body.startswith(TEXT)) for m in sms.sent] == [(EMAIL, False), (EMAIL, True)]


# -- the decision, pure ------------------------------------------------------------

DEFAULT = Workflow.default(brand="Acme")
NOW = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
ADDRESSES = [
    ContactAddress(PHONE, Channel.SMS, True, "granted"),
    ContactAddress(EMAIL, Channel.EMAIL, True, "granted"),
    ContactAddress(EMAIL, Channel.EMAIL, False, "revoked"),
]


def _failed_message(template: str | None, channel: Channel) -> SendMessage | None:
    if template is None:
        return None
    to = PHONE if channel is Channel.SMS else EMAIL
    values = {"text": TEXT} if template.startswith("agent.") else {}
    return SendMessage(
        channel=channel, to=to, body=f"x (case K7QP-3M) {TEXT}", template=template, values=values
    )


@given(
    on=st.sampled_from([Channel.SMS, Channel.EMAIL]),
    failed_on=st.sampled_from([Channel.SMS, Channel.EMAIL]),
    template=st.sampled_from([None, "intro.sms", "reminder.email", "agent.sms", "agent.email"]),
    reason=st.sampled_from(["InvalidRecipient", "RecipientOptedOut", "address_unlinked"]),
    addresses=st.lists(st.sampled_from(ADDRESSES), max_size=3),
    failed_before=st.booleans(),
)
def test_a_failed_agents_message_is_sent_once_more_or_reported(
    on: Channel,
    failed_on: Channel,
    template: str | None,
    reason: str,
    addresses: list[ContactAddress],
    failed_before: bool,
) -> None:
    """Connected: an agent's failed text goes once more (last), or the helpdesk hears of it."""
    other = Channel.EMAIL if on is Channel.SMS else Channel.SMS
    handoff = Handoff(
        id="ho_1",
        reference="K7QP-3M",
        thread=make_thread(FakeClock(NOW)),
        state=S.CONNECTED,
        version=7,
        opened_at=NOW,
        updated_at=NOW,
        address=PHONE if on is Channel.SMS else EMAIL,
        channel=on,
        failed_channels=(other,) if failed_before else (),
    )
    event = SendFailed(
        channel=failed_on, reason=reason, message=_failed_message(template, failed_on)
    )
    step = DEFAULT.decide(handoff, event, DEFAULT.context(NOW, addresses))
    sends = [c for c in step.commands if isinstance(c, SendMessage)]
    notes = [c for c in step.commands if isinstance(c, Notify)]
    carried = [s for s in sends if TEXT in s.body]
    agents = template is not None and template.startswith("agent.")
    if not agents:
        assert carried == []
        told = ["failed"] if step.state in TERMINAL_STATES else []  # failed or declined
        assert [n.topic for n in notes] == told
        return
    if step.state in TERMINAL_STATES:
        assert carried == []
        assert [n.topic for n in notes] == ["undelivered"]
        assert TEXT not in notes[0].text
        return
    assert notes == []
    (message,) = carried
    assert sends[-1] is message  # after the intro, when there is one
    assert message.to == step.handoff.address
    assert message.template == f"agent.{message.channel.value}"
    assert message.channel not in step.handoff.failed_channels
    if message.channel is Channel.EMAIL:
        assert message.subject is not None
        assert "K7QP-3M" in message.subject
        assert message.headers["Message-ID"] not in [
            s.headers.get("Message-ID") for s in sends[:-1]
        ]
