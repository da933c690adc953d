"""Tests of the email-first workflow: pure decisions first, then whole scenarios.

The decision tests call ``Workflow.decide`` with plain values (no store, no
clock). The scenario tests use the ``escalate_scenario`` fixture of escalate's
pytest plugin; ``conftest.py`` overrides ``escalate_workflow`` so it drives ours.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from custom_workflow.workflow import TEMPLATES, email_first_workflow, steps
from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    Handoff,
    HandoffState,
    Identity,
    InboundMessage,
    InvalidRecipient,
    InvalidWorkflowDefinition,
    Thread,
    TransitionNotAllowed,
    Workflow,
)
from escalate.testing import Scenario
from escalate.workflow import (
    ContactAddress,
    ContactProvided,
    OptedOut,
    ReplyReceived,
    SendFailed,
    SendMessage,
    TimerFired,
    WorkflowInput,
)

S = HandoffState
NOW = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
WORKFLOW = email_first_workflow(brand="Acme")
EMAIL = Identity.email("jane.doe@example.com")
PHONE = Identity.phone("+14155550142")
FORM = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Email or text me about this case.")


def handoff(state: HandoffState = S.AWAITING_CONTACT, **fields: object) -> Handoff:
    thread = Thread(
        platform="x",
        thread_id="1897001122334455",
        author=Identity.social("x", "2244994945", handle="jane_d"),
        text="@acme my order never arrived",
        posted_at=NOW,
    )
    values: dict[str, object] = {
        "id": "ho_1",
        "reference": "K7QP-3M",
        "thread": thread,
        "opened_at": NOW,
        "updated_at": NOW,
        "state": state,
        "version": 3,
        **fields,
    }
    return Handoff.model_validate(values)


def on_sms() -> Handoff:
    return handoff(S.CONNECTED, address=PHONE, channel=Channel.SMS)


def sends(commands: tuple[object, ...]) -> list[SendMessage]:
    return [c for c in commands if isinstance(c, SendMessage)]


# -- the definition ---------------------------------------------------------------------


def test_definition_names_every_path_in_its_table() -> None:
    """The transition table shows the SMS-on-request guard and the way back to email."""
    table = WORKFLOW.transition_table()
    assert (
        "| a phone number, and the customer asked to be texted | customer asked to be texted"
        in (table)
    )
    assert "| connected | opted_out | connected (stays) |" in table


def test_a_timer_without_an_exit_fails_at_definition() -> None:
    """Dropping the step that handles the no-contact timer is refused when the workflow is built."""
    kept = [s for s in steps() if s.timer != "no_contact"]
    with pytest.raises(InvalidWorkflowDefinition, match="timer 'no_contact' can be pending"):
        Workflow("broken", kept, templates=TEMPLATES, settings=WORKFLOW.settings)


def test_the_only_sms_template_costs_one_segment() -> None:
    """The SMS we send when asked to switch fits one GSM-7 segment (the library caps it)."""
    (cost,) = WORKFLOW.sms_report()
    assert (cost.name, cost.cost.segments, cost.cost.encoding.value) == ("switch.sms", 1, "GSM-7")


# -- pure decisions -----------------------------------------------------------------------


def test_an_email_with_consent_starts_the_email_conversation() -> None:
    """An email given with consent records the grant, emails the intro and schedules a reminder."""
    step = WORKFLOW.decide(
        handoff(), ContactProvided(identity=EMAIL, consent=FORM), WORKFLOW.context(NOW)
    )
    assert step.state is S.CONNECTED
    assert step.reason == "email given"
    kinds = [c.kind for c in step.commands]
    assert kinds == [
        "cancel_timer",
        "cancel_timer",
        "record_consent",
        "send_message",
        "start_timer",
    ]
    (intro,) = sends(step.commands)
    assert intro.channel is Channel.EMAIL
    assert intro.to == EMAIL
    assert "K7QP-3M" in intro.body
    assert intro.subject == "Acme case K7QP-3M"
    assert step.handoff.address == EMAIL
    assert step.handoff.channel is Channel.EMAIL


def test_a_bare_phone_number_is_not_texted() -> None:
    """A phone without a request to be texted sends nothing and asks the helpdesk for an email."""
    step = WORKFLOW.decide(handoff(), ContactProvided(identity=PHONE), WORKFLOW.context(NOW))
    assert step.state is S.AWAITING_CONTACT
    assert [c.kind for c in step.commands] == ["notify"]
    assert step.handoff.address is None


def test_a_phone_with_a_request_is_texted() -> None:
    """A phone given with consent (the customer asked for texts) gets the one SMS."""
    step = WORKFLOW.decide(
        handoff(), ContactProvided(identity=PHONE, consent=FORM), WORKFLOW.context(NOW)
    )
    (text,) = sends(step.commands)
    assert step.state is S.CONNECTED
    assert text.channel is Channel.SMS
    assert text.to == PHONE


def test_stop_on_sms_goes_back_to_a_consented_email() -> None:
    """A STOP on SMS moves the conversation back to the contact's consented email."""
    addresses = (
        ContactAddress(PHONE, Channel.SMS, allowed=False, reason="revoked"),
        ContactAddress(EMAIL, Channel.EMAIL, allowed=True, reason="granted"),
    )
    step = WORKFLOW.decide(
        on_sms(), OptedOut(channel=Channel.SMS), WORKFLOW.context(NOW, addresses)
    )
    assert step.state is S.CONNECTED
    assert step.reason == "STOP on SMS; back to email"
    (email,) = sends(step.commands)
    assert email.to == EMAIL
    assert step.handoff.channel is Channel.EMAIL
    assert step.handoff.failed_channels == (Channel.SMS,)


def test_stop_without_an_email_declines() -> None:
    """A STOP with no consented email to return to ends the handoff as declined."""
    step = WORKFLOW.decide(on_sms(), OptedOut(channel=Channel.SMS), WORKFLOW.context(NOW))
    assert step.state is S.DECLINED
    assert step.commands


def test_the_reminder_never_goes_by_sms() -> None:
    """On SMS, the one reminder goes by email when there is one, and otherwise not at all."""
    reminder = TimerFired(name="reminder")
    without = WORKFLOW.decide(on_sms(), reminder, WORKFLOW.context(NOW))
    assert sends(without.commands) == []
    email = ContactAddress(EMAIL, Channel.EMAIL, allowed=True, reason="granted")
    with_email = WORKFLOW.decide(on_sms(), reminder, WORKFLOW.context(NOW, (email,)))
    assert [m.channel for m in sends(with_email.commands)] == [Channel.EMAIL]


def test_a_reply_before_contact_is_not_a_step() -> None:
    """A private reply while still waiting for contact details is refused, not guessed at."""
    message = InboundMessage(channel=Channel.SMS, sender=PHONE, body="hi", received_at=NOW)
    with pytest.raises(TransitionNotAllowed):
        WORKFLOW.decide(handoff(), ReplyReceived(message=message), WORKFLOW.context(NOW))


_INPUTS = st.sampled_from(
    [
        ContactProvided(identity=EMAIL, consent=FORM),
        ContactProvided(identity=EMAIL),
        ContactProvided(identity=PHONE),
        ContactProvided(identity=Identity.phone("+14155550199")),
        ContactProvided(identity=PHONE, consent=FORM),
        ReplyReceived(
            message=InboundMessage(channel=Channel.EMAIL, sender=EMAIL, body="x", received_at=NOW)
        ),
        TimerFired(name="sla"),
        TimerFired(name="no_contact"),
        TimerFired(name="reminder"),
        TimerFired(name="abandon"),
        TimerFired(name="idle"),
        OptedOut(channel=Channel.SMS),
        SendFailed(channel=Channel.SMS, reason="InvalidRecipient"),
        SendFailed(channel=Channel.EMAIL, reason="consent:no_consent"),
    ]
)


@settings(max_examples=200, deadline=None)
@given(st.lists(_INPUTS, max_size=12), st.booleans())
def test_sms_only_goes_to_a_number_given_with_a_request(
    inputs: list[WorkflowInput], email_allowed: bool
) -> None:
    """Whatever happens, every SMS goes to a number the customer gave with a request to text."""
    addresses = (ContactAddress(EMAIL, Channel.EMAIL, allowed=email_allowed, reason="granted"),)
    current = handoff()
    requested: set[Identity] = set()
    for event in inputs:
        try:
            step = WORKFLOW.decide(current, event, WORKFLOW.context(NOW, addresses))
        except TransitionNotAllowed:
            continue
        if isinstance(event, ContactProvided) and event.consent is not None:
            requested.add(event.identity)
        for message in sends(step.commands):
            assert message.channel is not Channel.SMS or message.to in requested
            assert "K7QP-3M" in message.body
        current = step.handoff


# -- scenarios, through the pytest plugin ---------------------------------------------


def test_email_conversation_gets_one_reminder_then_is_abandoned(
    escalate_scenario: Scenario,
) -> None:
    """An email customer who goes quiet gets one reminder after 2 days; 3 days later the
    helpdesk is told the handoff was abandoned."""
    s = escalate_scenario
    s.post_publicly("@acme my order never arrived")
    assert s.reference in s.public_replies[0]
    assert "email" in s.public_replies[0]
    s.advance(minutes=5)
    s.customer_provides(email="jane.doe@example.com", consent=True)
    s.assert_sent(1, channel="email", containing=s.reference)

    s.advance(days=2)
    s.assert_sent(1, channel="email", containing="Still need help")
    s.advance(days=3)
    assert s.state is S.ABANDONED
    assert [n.topic for n in s.notifications] == ["abandoned"]
    s.assert_nothing_more_sent()


def test_a_bare_phone_number_gets_no_text_and_the_helpdesk_asks_for_email(
    escalate_scenario: Scenario,
) -> None:
    """A phone without consent is never texted; the helpdesk is asked to get an email."""
    s = escalate_scenario
    s.post_publicly()
    s.customer_provides(phone="(415) 555-0142", consent=False)
    assert s.sent == []
    assert s.state is S.AWAITING_CONTACT
    assert [n.topic for n in s.notifications] == ["phone_without_consent"]

    s.customer_provides(email="jane.doe@example.com")
    s.assert_sent(1, channel="email", to="jane.doe@example.com", containing=s.reference)


def test_switch_to_sms_on_request_then_stop_returns_to_email(
    escalate_scenario: Scenario,
) -> None:
    """Asked by email to text instead, we text; after STOP the conversation goes back to email."""
    s = escalate_scenario
    s.post_publicly()
    s.customer_provides(email="jane.doe@example.com")
    s.assert_sent(1, channel="email", containing=s.reference)

    asked = ConsentEvidence(
        source=ConsentSource.API,
        text="Customer's email reply: please text me instead, TEXT ME",
        provider_message_id="<reply-1@mail.example.com>",
    )
    s.advance(hours=1)
    s.customer_provides(phone="(415) 555-0142", consent=asked)
    s.assert_sent(1, channel="sms", containing=s.reference)
    assert s.handoff.channel is Channel.SMS

    s.customer_texts("STOP")
    s.assert_sent(1, channel="sms", containing="unsubscribed")  # the one confirmation
    s.assert_sent(1, channel="email", containing="by email")
    after = s.handoff  # read again: the property fetches the stored handoff
    assert after.state is S.CONNECTED
    assert after.channel is Channel.EMAIL


@pytest.mark.escalate(store="sqlite")
def test_a_landline_falls_back_to_email(escalate_scenario: Scenario) -> None:
    """A number that cannot take texts (Twilio 21614) sends the conversation back to email,
    on the SQLite store too."""
    s = escalate_scenario
    s.post_publicly()
    s.customer_provides(email="jane.doe@example.com")
    s.assert_sent(1, channel="email")

    s.transport.fail_next(InvalidRecipient("21614: not a mobile number", code="21614"))
    s.customer_provides(phone="(415) 555-0142", consent=FORM)
    s.assert_sent(1, channel="email", containing="can no longer text you")
    assert s.handoff.failed_channels == (Channel.SMS,)
    assert s.handoff.address == Identity.email("jane.doe@example.com")


def test_sla_at_risk_then_abandoned_without_contact(escalate_scenario: Scenario) -> None:
    """With no contact details, the helpdesk hears the SLA is at risk, then that it was
    abandoned, and the customer gets nothing privately."""
    s = escalate_scenario
    s.post_publicly()
    s.advance(minutes=31)  # conftest sets a 30-minute SLA
    assert [n.topic for n in s.notifications] == ["sla_at_risk"]
    s.advance(hours=72)
    assert s.state is S.ABANDONED
    assert [n.topic for n in s.notifications] == ["sla_at_risk", "abandoned"]
    s.assert_nothing_more_sent()


def test_a_reply_cancels_the_reminder(escalate_scenario: Scenario) -> None:
    """A customer who answers gets no reminder; a week of silence after that closes the case."""
    s = escalate_scenario
    s.post_publicly()
    s.customer_provides(email="jane.doe@example.com")
    s.assert_sent(1, channel="email")
    s.advance(hours=3)
    s.customer_emails("Order 4471, it was due last Friday")
    s.advance(days=6)
    s.assert_nothing_more_sent()
    states = [s.state]
    s.advance(timedelta(days=1, minutes=1))
    states.append(s.state)
    assert states == [S.CONNECTED, S.ABANDONED]
