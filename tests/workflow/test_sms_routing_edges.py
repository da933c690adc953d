"""Inbound SMS routing at the edges: other tenants, number formats, closed cases, after fallback."""

from __future__ import annotations

from typing import Any

from escalate import (
    Channel,
    Escalator,
    HandoffState,
    Identity,
    InboundMessage,
    InvalidRecipient,
    Workflow,
)
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from tests.conftest import EMAIL_CONSENT, REPLIES, WEB_FORM_CONSENT, make_thread
from tests.workflow.conftest import MakeEsc

PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")


def text(
    clock: FakeClock, body: str, *, tenant: str = "default", sid: str = "SM1"
) -> InboundMessage:
    return InboundMessage(
        tenant=tenant,
        channel=Channel.SMS,
        sender=PHONE,
        body=body,
        received_at=clock.now(),
        provider_message_id=sid,
    )


def replies(esc: Escalator, handoff_id: str) -> int:
    return sum(e.kind == "reply.received" for e in esc.history(handoff_id))


def two_tenants(
    store: Store, clock: FakeClock, sms: MemoryTransport, **settings: Any
) -> dict[str, Escalator]:
    """An escalator for "acme" and one for "globex" on the same store and transport."""
    return {
        tenant: Escalator(
            store,
            tenant=tenant,
            transports=[sms],
            clock=clock,
            publisher=RecordingPublisher(),
            workflow=Workflow.default(brand=tenant, **settings),
        )
        for tenant in ("acme", "globex")
    }


def test_one_number_in_two_tenants_reaches_each_tenants_own_case(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Each tenant's escalator routes the number to its own case, never the other's."""
    made = two_tenants(store, clock, sms)
    cases = {}
    for tenant, esc in made.items():
        handoff = esc.open(make_thread(clock))
        esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
        cases[tenant] = handoff.id
    matched = made["globex"].inbound(text(clock, "hello", tenant="globex"))
    assert matched is not None
    assert matched.id == cases["globex"]
    assert replies(made["acme"], cases["acme"]) == 0
    own = made["acme"].inbound(text(clock, "and this one", tenant="acme", sid="SM2"))
    assert own is not None
    assert own.id == cases["acme"]


def test_a_number_given_in_national_format_is_the_same_number(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """The customer typed "(415) 555-0100"; the carrier delivers +14155550100: one case."""
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    given = Identity.phone("(415) 555-0100", region="US")
    esc.contact_provided(handoff.id, given, consent=WEB_FORM_CONSENT)
    matched = esc.inbound(text(clock, "hi"))
    assert matched is not None
    assert matched.id == handoff.id


def test_a_text_to_a_resolved_case_reaches_no_case(make_esc: MakeEsc, clock: FakeClock) -> None:
    """With no open case left, ``inbound`` returns None and writes nothing about the case."""
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.resolve(handoff.id)
    before = len(esc.history(handoff.id))
    assert esc.inbound(text(clock, "thanks!")) is None
    assert len(esc.history(handoff.id)) == before


def test_a_text_after_the_case_fell_back_to_email_still_reaches_it(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """An agent's text failed for good and the case moved to email; a late SMS still counts."""
    esc = make_esc(reply_to=REPLIES)
    earlier = esc.open(make_thread(clock, thread_id="900"))
    esc.contact_provided(earlier.id, EMAIL, consent=EMAIL_CONSENT)
    esc.resolve(earlier.id)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    sms.fail_next(InvalidRecipient("now a landline", provider="memory", code="21614"))
    moved = esc.send_message(handoff.id, "your refund left today")
    assert moved.channel is Channel.EMAIL
    carried = sms.sent[-1]
    assert handoff.reference in carried.body
    assert handoff.reference in (carried.subject or "")
    clock.advance(minutes=5)
    matched = esc.inbound(text(clock, "got it, thanks"))
    assert matched is not None
    assert matched.id == handoff.id
    assert esc.handoffs.get(handoff.id).state is HandoffState.CONNECTED  # type: ignore[union-attr]


def test_another_tenants_signed_address_names_no_case_here(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The same key in two tenants: a token of one tenant's case finds nothing in the other."""
    made = two_tenants(store, clock, sms, reply_to=REPLIES)
    theirs = made["globex"].open(make_thread(clock))
    signed = REPLIES.address_for(theirs.id)
    assert made["globex"].handoff_for_reply_address(signed) is not None
    assert made["acme"].handoff_for_reply_address(signed) is None
