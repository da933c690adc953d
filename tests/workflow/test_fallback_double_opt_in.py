"""With double opt-in, a fallback to SMS goes only to a number that said YES by text.

The workflow's option is "Reply YES ... before any other text": a case that falls
back from email to a phone whose consent came from a form (or an agent) alone
must not text it its intro; a number confirmed by text (YES, START) is a channel
like any other.
"""

from __future__ import annotations

from escalate import (
    Channel,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InboundMessage,
    InvalidRecipient,
    LinkSource,
)
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import Notify
from tests.conftest import EMAIL_CONSENT, WEB_FORM_CONSENT, make_thread
from tests.workflow.conftest import MakeEsc

PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")
BOUNCE = InvalidRecipient("no such mailbox", provider="memory", code="550")


def by_email_with_a_phone_on_file(esc: Escalator, clock: FakeClock, *, confirmed: bool) -> Handoff:
    """A case connected by email whose contact also has a phone with a transactional grant."""
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, EMAIL, consent=EMAIL_CONSENT)
    assert handoff.contact_id is not None
    esc.contacts.link(handoff.contact_id, PHONE, LinkSource.AGENT_ENTERED)
    if confirmed:
        # The customer texted START from the number: the grant is theirs, by text.
        esc.inbound(
            InboundMessage(channel=Channel.SMS, sender=PHONE, body="START", received_at=clock.now())
        )
    esc.consent.grant(PHONE, WEB_FORM_CONSENT, handoff_id=handoff.id)
    return handoff


def test_no_intro_by_text_to_a_number_that_never_said_yes(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport, notes: list[Notify]
) -> None:
    """The email bounces; the form-only phone gets nothing: the case fails, the helpdesk hears."""
    esc = make_esc(double_opt_in=True)
    handoff = by_email_with_a_phone_on_file(esc, clock, confirmed=False)
    sms.clear()
    sms.fail_next(BOUNCE)
    handoff = esc.send_message(handoff.id, "Your refund left today.")
    assert [m.channel for m in sms.attempts] == [Channel.EMAIL]
    assert sms.sent == []
    assert handoff.state is HandoffState.FAILED
    assert [n.topic for n in notes] == ["undelivered"]


def test_a_number_confirmed_by_text_is_a_fallback_channel(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The same case, the number having texted START: intro and the agent's message by text."""
    esc = make_esc(double_opt_in=True)
    handoff = by_email_with_a_phone_on_file(esc, clock, confirmed=True)
    sms.clear()
    sms.fail_next(BOUNCE)
    handoff = esc.send_message(handoff.id, "Your refund left today.")
    assert (handoff.state, handoff.channel) == (HandoffState.CONNECTED, Channel.SMS)
    intro, carried = sms.sent
    assert intro.channel is carried.channel is Channel.SMS
    assert carried.body == f"Acme: Your refund left today. (case {handoff.reference})"
