"""Every private message the default workflow sends carries the case's reference code.

In every shipped locale: the opt-in request, the intro and the reminder, an
agent's message, the fallback's intro and the message it carries to email (body
and subject), and the answer to a keyword on an open case.
"""

from __future__ import annotations

import pytest

from escalate import Channel, Identity, InboundMessage, InvalidRecipient
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow._default_templates import DEFAULT_TEMPLATES
from tests.conftest import EMAIL_CONSENT, REPLIES, WEB_FORM_CONSENT, make_thread
from tests.workflow.conftest import MakeEsc

PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")


@pytest.mark.parametrize("locale", DEFAULT_TEMPLATES.locales)
def test_every_message_of_a_whole_case_names_it(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, locale: str
) -> None:
    """Opt-in, intro, HELP answer, reminder, agent text, fallback intro and carried email."""
    esc = make_esc(reply_to=REPLIES, locale=locale, double_opt_in=True)
    earlier = esc.open(make_thread(clock, thread_id="900"))
    esc.contact_provided(earlier.id, EMAIL, consent=EMAIL_CONSENT)
    esc.resolve(earlier.id)
    before = len(sms.sent)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    sender = {"channel": Channel.SMS, "sender": PHONE}
    esc.inbound(
        InboundMessage(**sender, body="YES", received_at=clock.now(), provider_message_id="a")
    )
    esc.inbound(
        InboundMessage(**sender, body="HELP", received_at=clock.now(), provider_message_id="b")
    )
    clock.advance(hours=25)
    esc.run_due()
    sms.fail_next(InvalidRecipient("now a landline", provider="memory", code="21614"))
    esc.send_message(handoff.id, "your refund left today")
    sent = sms.sent[before:]
    # opt-in, intro, HELP answer, reminder; the agent's text failed: fallback intro, carried
    assert len(sent) == 6, [m.body for m in sent]
    for message in sent:
        assert handoff.reference in message.body, message.body
        if message.channel is Channel.EMAIL:
            assert handoff.reference in (message.subject or ""), message.subject
    assert {m.channel for m in sent} == {Channel.SMS, Channel.EMAIL}
