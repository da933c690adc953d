"""Keyword answers tied to a handoff carry its reference code, as every private message does."""

from __future__ import annotations

import pytest

from escalate import (
    Channel,
    ConsentPolicy,
    Escalator,
    Identity,
    InboundMessage,
    InvalidInput,
    Workflow,
)
from escalate.sms import segments
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import SendMessage
from tests.conftest import WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550100")


def text(clock: FakeClock, body: str, sender: Identity = PHONE) -> InboundMessage:
    return InboundMessage(channel=Channel.SMS, sender=sender, body=body, received_at=clock.now())


def connected(esc: Escalator, clock: FakeClock) -> str:
    handoff = esc.open(make_thread(clock))
    return esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT).reference


@pytest.mark.parametrize("keyword", ["HELP", "STOP"])
def test_an_answer_on_a_case_names_it(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport, keyword: str
) -> None:
    reference = connected(esc, clock)
    sms.clear()
    esc.inbound(text(clock, keyword))
    (answer,) = sms.sent
    assert answer.body.endswith(f" Case {reference}.")
    assert segments(answer.body).segments == 1


def test_after_stop_closed_the_case_a_start_names_none(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """STOP declined the handoff: the START confirmation belongs to no open case."""
    connected(esc, clock)
    esc.inbound(text(clock, "STOP"))
    sms.clear()
    clock.advance(minutes=1)
    esc.inbound(text(clock, "START"))
    (answer,) = sms.sent
    assert "Case" not in answer.body


def test_an_answer_to_a_stranger_names_no_case(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    esc.inbound(text(clock, "HELP", sender=Identity.phone("+12125550100")))
    (answer,) = sms.sent
    assert "Case" not in answer.body


def test_case_reference_can_be_turned_off_or_translated() -> None:
    assert ConsentPolicy(case_reference="").case_reference == ""
    assert ConsentPolicy(case_reference=" Caso {reference}.").case_reference
    assert ConsentPolicy(case_reference=" {brand} case {reference}.").case_reference


@pytest.mark.parametrize("text", [" Case.", " Case {ref}.", " {reference} {0}", " {reference!z}"])
def test_a_case_reference_that_would_fail_when_rendered_is_refused(text: str) -> None:
    """Checked when the policy is built: rendered inside a STOP, it would lose the revoke."""
    with pytest.raises(InvalidInput, match="case_reference"):
        ConsentPolicy(case_reference=text)


def test_a_stop_with_the_brand_in_case_reference_is_kept(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    esc = Escalator(
        store,
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        consent_policy=ConsentPolicy(case_reference=" {brand} case {reference}."),
    )
    reference = connected(esc, clock)
    sms.clear()
    esc.inbound(text(clock, "STOP"))
    (answer,) = sms.sent
    assert answer.body.endswith(f" Acme case {reference}.")
    assert esc.consent.decide(PHONE, "transactional").reason == "revoked"


def test_help_is_no_answer_about_the_case(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """HELP is answered, but the case still waits for an answer: the reminder comes."""
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    sms.clear()
    assert esc.inbound(text(clock, "HELP")) is None
    assert len(sms.sent) == 1
    clock.advance(hours=24, minutes=1)
    esc.run_due()
    assert len(sms.sent) == 2
    reasons = [e.data["reason"] for e in esc.history(handoff.id) if e.kind == "handoff.transition"]
    assert reasons[-1] == "no reply; follow-up reminder sent"
    assert handoff.reference in sms.sent[1].body


@pytest.mark.parametrize("keyword", ["HELP", "STOP"])
def test_an_answer_in_the_outbox_carries_its_sms_size(
    esc: Escalator, store: Store, clock: FakeClock, keyword: str
) -> None:
    """Like every SMS in the outbox, a keyword answer says what it costs before it goes."""
    connected(esc, clock)
    esc.inbound(text(clock, keyword))
    (answer,) = [
        item.command
        for item in store.outbox("default")
        if isinstance(item.command, SendMessage) and item.command.template.startswith("consent.")
    ]
    cost = segments(answer.body)
    assert (answer.segments, answer.encoding) == (cost.segments, cost.encoding.value)
