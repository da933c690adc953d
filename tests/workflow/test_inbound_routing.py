"""Which open handoff an inbound message reaches when the sender has more than one."""

from __future__ import annotations

from collections.abc import Sequence

import pytest

import escalate._inbound as inbound_module
from escalate import (
    Channel,
    Escalator,
    Handoff,
    Identity,
    InboundMessage,
    LinkSource,
)
from escalate._routing import routing_order
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import EMAIL_CONSENT, REPLIES, WEB_FORM_CONSENT, make_thread
from tests.workflow.conftest import MakeEsc

PHONE = Identity.phone("+14155550100")
OTHER_PHONE = Identity.phone("+14155550199")
EMAIL = Identity.email("jane@example.com")


def two_open_cases(esc: Escalator, clock: FakeClock, address: Identity) -> tuple[Handoff, Handoff]:
    """Two public threads by the same author, both connected to ``address``."""
    consent = EMAIL_CONSENT if address == EMAIL else WEB_FORM_CONSENT
    older = esc.open(make_thread(clock, thread_id="1001"))
    esc.contact_provided(older.id, address, consent=consent)
    clock.advance(minutes=5)
    newer = esc.open(make_thread(clock, thread_id="1002"))
    esc.contact_provided(newer.id, address, consent=consent)
    clock.advance(minutes=5)
    return older, newer


def text(clock: FakeClock, body: str, sender: Identity = PHONE) -> InboundMessage:
    return InboundMessage(channel=Channel.SMS, sender=sender, body=body, received_at=clock.now())


def replies(esc: Escalator, handoff: Handoff) -> int:
    return sum(e.kind == "reply.received" for e in esc.history(handoff.id))


def test_a_text_naming_the_older_case_reaches_the_older_case(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """'re case <older reference>' goes to that case, not to the newest one."""
    esc = make_esc()
    older, newer = two_open_cases(esc, clock, PHONE)
    matched = esc.inbound(text(clock, f"re case {older.reference}: still broken"))
    assert matched is not None
    assert matched.id == older.id
    assert (replies(esc, older), replies(esc, newer)) == (1, 0)


def test_the_reference_counts_however_the_customer_typed_it(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """Lowercase, no hyphen or a dash for it, spaces, and O or I for 0 or 1 still name the case."""
    esc = make_esc()
    older, newer = two_open_cases(esc, clock, PHONE)
    typed = older.reference.lower().replace("-", " ").replace("0", "o").replace("1", "i")
    matched = esc.inbound(text(clock, f"case #{typed}, any news?"))
    assert matched is not None
    assert matched.id == older.id
    squashed = newer.reference.replace("-", "").lower()
    matched = esc.inbound(text(clock, f"and {squashed} too"))
    assert matched is not None
    assert matched.id == newer.id
    autocorrected = older.reference.replace("-", "\u2013")  # an iPhone's en dash
    matched = esc.inbound(text(clock, f"re {autocorrected}: still broken"))
    assert matched is not None
    assert matched.id == older.id


def test_without_a_reference_the_newest_case_gets_the_reply(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """A text naming no case keeps the old rule: the newest open handoff."""
    esc = make_esc()
    older, newer = two_open_cases(esc, clock, PHONE)
    matched = esc.inbound(text(clock, "still broken"))
    assert matched is not None
    assert matched.id == newer.id
    assert replies(esc, older) == 0


def test_another_contacts_reference_does_not_route_to_their_case(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """Naming someone else's case changes nothing: the sender's newest case gets it."""
    esc = make_esc()
    stranger = esc.open(make_thread(clock, thread_id="2001", user_id="77"))
    esc.contact_provided(stranger.id, OTHER_PHONE, consent=WEB_FORM_CONSENT)
    older, newer = two_open_cases(esc, clock, PHONE)
    matched = esc.inbound(text(clock, f"re case {stranger.reference}: still broken"))
    assert matched is not None
    assert matched.id == newer.id
    assert (replies(esc, stranger), replies(esc, older)) == (0, 0)


def test_the_signed_reply_address_outranks_a_named_reference(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """An email to a handoff's signed reply-to goes there even if its text names another case."""
    esc = make_esc(reply_to=REPLIES)
    older, newer = two_open_cases(esc, clock, EMAIL)
    message = InboundMessage(
        channel=Channel.EMAIL,
        sender=EMAIL,
        body=f"see also {older.reference}",
        received_at=clock.now(),
        recipient=REPLIES.address_for(newer.id),
    )
    matched = esc.inbound(message)
    assert matched is not None
    assert matched.id == newer.id
    assert replies(esc, older) == 0
    unsigned = message.model_copy(update={"recipient": None})
    matched = esc.inbound(unsigned)
    assert matched is not None
    assert matched.id == older.id


def test_a_consent_answer_names_the_case_the_text_names(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A free-text opt-out naming the older case: its confirmation names that case."""
    esc = make_esc()
    older, _ = two_open_cases(esc, clock, PHONE)
    sms.clear()
    esc.inbound(text(clock, f"please stop texting me about case {older.reference}"))
    (confirmation,) = sms.sent
    assert "unsubscribed" in confirmation.body
    assert confirmation.body.endswith(f" Case {older.reference}.")


def test_a_reply_orders_the_senders_cases_once(
    make_esc: MakeEsc, clock: FakeClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The order that picks the consent answer's case is the one the reply is routed by."""
    esc = make_esc()
    older, _ = two_open_cases(esc, clock, PHONE)
    calls: list[str] = []

    def counted(
        body: str, handoffs: Sequence[Handoff], others: Sequence[Handoff] = ()
    ) -> list[Handoff]:
        calls.append(body)
        return routing_order(body, handoffs, others)

    monkeypatch.setattr(inbound_module, "routing_order", counted)
    matched = esc.inbound(text(clock, f"re case {older.reference}: still broken"))
    assert matched is not None
    assert matched.id == older.id
    assert len(calls) == 1


def test_after_a_merge_replies_and_stop_still_reach_the_case(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """The case's contact was merged into an older one: its replies come in under the survivor."""
    esc = make_esc()
    older = esc.contacts.create(Identity.email("jane@crm.example"), LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    survivor = esc.contacts.merge(handoff.contact_id, older.id, "agent: same person")
    assert survivor.id == older.id != handoff.contact_id
    assert replies(esc, handoff) == 0
    matched = esc.inbound(text(clock, "still broken, any news?"))
    assert matched is not None
    assert matched.id == handoff.id
    assert replies(esc, handoff) == 1
    esc.inbound(text(clock, "STOP"))
    assert esc.handoffs.get(handoff.id).state.value == "declined"
