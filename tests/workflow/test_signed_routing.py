"""An email to a case's signed reply-to address belongs to that case, open or closed."""

from __future__ import annotations

from escalate import (
    Channel,
    ConsentPolicy,
    Escalator,
    Handoff,
    HandoffState,
    InboundMessage,
    Workflow,
)
from escalate.consent import FreeTextPolicy
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import Notify
from tests.workflow.conftest import MakeEsc
from tests.workflow.test_inbound_routing import EMAIL, REPLIES, replies, two_open_cases


def email(clock: FakeClock, body: str, handoff: Handoff) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL,
        sender=EMAIL,
        body=body,
        received_at=clock.now(),
        recipient=f"Acme <{REPLIES.address_for(handoff.id)}>",
    )


def test_a_reply_to_a_closed_cases_address_reaches_no_other_case(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """The customer answered the resolved case's email: it is not filed under their other case."""
    esc = make_esc(reply_to=REPLIES)
    older, newer = two_open_cases(esc, clock, EMAIL)
    esc.resolve(older.id)
    assert esc.inbound(email(clock, "it broke again", older)) is None
    assert (replies(esc, older), replies(esc, newer)) == (0, 0)
    # Without the signed address the sender's open case still gets it.
    unsigned = email(clock, "and another thing", older).model_copy(update={"recipient": None})
    matched = esc.inbound(unsigned)
    assert matched is not None
    assert matched.id == newer.id


def test_a_stop_to_a_closed_cases_address_still_declines_the_open_ones(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """Consent is the address's: an opt-out reaches every open case on it, whatever it answered."""
    esc = make_esc(reply_to=REPLIES)
    older, newer = two_open_cases(esc, clock, EMAIL)
    esc.resolve(older.id)
    esc.inbound(email(clock, "STOP", older))
    assert esc.handoffs.get(newer.id).state is HandoffState.DECLINED


def test_a_review_notice_names_the_case_the_signed_address_names(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A free-text opt-out held for review names the case the reply went to, not the newest."""
    notes: list[tuple[str, Notify]] = []
    esc = Escalator(
        store,
        transports=[sms],
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme", reply_to=REPLIES),
        consent_policy=ConsentPolicy(free_text=FreeTextPolicy.REVIEW),
        notifier=lambda handoff, notify: notes.append((handoff.id, notify)),
    )
    older, _ = two_open_cases(esc, clock, EMAIL)
    notes.clear()
    matched = esc.inbound(email(clock, "please stop emailing me", older))
    assert matched is not None
    assert matched.id == older.id
    reviews = [(handoff_id, n.text) for handoff_id, n in notes if n.topic == "consent_review"]
    assert reviews == [(older.id, reviews[0][1])]
    assert older.reference in reviews[0][1]
