"""End to end: an email to the customer, their reply back through SendGrid Inbound Parse."""

from __future__ import annotations

import json

from escalate import Channel, Escalator, Handoff, HandoffState, Purpose
from escalate.testing import FakeClock, MemoryTransport
from escalate.webhooks import Applied
from escalate.webhooks.sendgrid import SendGridInboundParse
from tests.conftest import make_thread
from tests.webhooks.inbound_mail import form, parsed_fields, request
from tests.webhooks.signing import SendGridKey
from tests.webhooks.test_quotes import gmail, outlook
from tests.workflow.conftest import MakeEsc
from tests.workflow.test_fallback_threading import EMAIL, EMAIL_CONSENT, REPLIES

KEY = SendGridKey()
OPT_OUT_NOTE = "We've shipped a replacement. Reply STOP to opt out of these emails."


def emailed_case(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> tuple[Escalator, Handoff, str]:
    """A case connected by email; an agent's message saying how to opt out was sent last."""
    esc = make_esc(reply_to=REPLIES)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, EMAIL, consent=EMAIL_CONSENT)
    esc.send_message(handoff.id, OPT_OUT_NOTE)
    sent = sms.sent[-1]
    assert sent.channel is Channel.EMAIL
    assert OPT_OUT_NOTE in sent.body
    return esc, handoff, sent.body


def post_reply(
    esc: Escalator, text: str, *, sender: str, to: str, cc: str = "", message_id: str
) -> list[Applied]:
    """The customer's reply as SendGrid posts it (security policy signed), applied."""
    hook = SendGridInboundParse(KEY.public, clock=esc.clock)
    fields = parsed_fields(sender=sender, to=to, text=text, message_id=message_id, cc=cc)
    fields["envelope"] = json.dumps({"to": [to.rpartition("<")[2].rstrip(">")], "from": sender})
    return esc.handle_webhook(hook.parse(*request(KEY, form(fields), esc.clock.now())))


def replies_received(esc: Escalator, handoff: Handoff) -> int:
    return sum(event.kind == "reply.received" for event in esc.history(handoff.id))


def test_a_reply_quoting_our_stop_note_reaches_the_case_and_revokes_nothing(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Gmail quotes 'Reply STOP to opt out': the reply is filed on the case, consent stands."""
    esc, handoff, earlier = emailed_case(make_esc, clock, sms)
    address = REPLIES.address_for(handoff.id)
    clock.advance(minutes=5)
    applied = post_reply(
        esc,
        gmail("Thanks, it arrived this morning!", earlier),
        sender="Jane Doe <jane@example.com>",
        to=f"Acme Support <{address}>",
        message_id="<reply-1@mail.gmail.com>",
    )
    assert applied == [Applied.APPLIED]
    assert replies_received(esc, handoff) == 1
    assert esc.consent.decide(EMAIL, Purpose.TRANSACTIONAL).allowed
    assert esc.handoffs.get(handoff.id).state is not HandoffState.DECLINED


def test_a_reply_to_all_from_another_address_routes_by_the_signed_cc(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The customer answers from their work address, our signed address among the Cc."""
    esc, handoff, earlier = emailed_case(make_esc, clock, sms)
    address = REPLIES.address_for(handoff.id)
    applied = post_reply(
        esc,
        outlook("Photos attached.", earlier),
        sender='"Doe, Jane" <jane.work@example.org>',  # linked to nobody
        to="Acme Support <support@acme.example>",  # the signed address only in Cc
        cc=f"Bob <bob@example.org>, Acme <{address}>",
        message_id="<reply-2@outlook.com>",
    )
    assert applied == [Applied.APPLIED]
    assert replies_received(esc, handoff) == 1


def test_a_stop_reply_revokes_and_declines_the_case(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """STOP above the quote revokes the address and declines the case; a retry changes nothing."""
    esc, handoff, earlier = emailed_case(make_esc, clock, sms)
    address = REPLIES.address_for(handoff.id)
    reply = outlook("STOP", earlier)
    kwargs = {"sender": "jane@example.com", "to": address, "message_id": "<stop-1@outlook.com>"}
    assert post_reply(esc, reply, **kwargs) == [Applied.APPLIED]
    assert not esc.consent.decide(EMAIL, Purpose.TRANSACTIONAL).allowed
    assert esc.handoffs.get(handoff.id).state is HandoffState.DECLINED
    assert post_reply(esc, reply, **kwargs) == [Applied.DUPLICATE]
