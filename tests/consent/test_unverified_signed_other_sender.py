"""An email to a case's signed reply-to address from another sender.

The signed token vouches for a reply only from the case's own address
(``consent/_unverified.py``): one from another address that the receiving side
could not authenticate is held like any unauthenticated reply: on the signed
case, which the helpdesk hears of, and on the open cases of its sender's address.
Unchecked (``None``) or authenticated, it reaches the signed case
(docs/workflows.md, "Thread continuity"; docs/consent.md, "Opt-outs by email").
"""

from __future__ import annotations

import pytest

from escalate import Channel, Identity, InboundMessage
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import REPLIES
from tests.consent.test_unverified_opt_out import Notes, connected, escalator

OTHER = Identity.email("bob@example.org")


def to_signed_address(
    clock: FakeClock, handoff_id: str, authenticated: bool | None
) -> InboundMessage:
    return InboundMessage(
        channel=Channel.EMAIL,
        sender=OTHER,
        body="Writing for Jane: the parcel is still missing",
        received_at=clock.now(),
        recipient=REPLIES.address_for(handoff_id),
        provider="sendgrid",
        provider_message_id="<m2@example.org>",
        sender_authenticated=authenticated,
    )


def test_an_unauthenticated_other_sender_to_the_signed_address_is_held_on_that_case(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Not the case's answer (no new version, no reply.received), but not dropped unheard:
    the signed case records reply.unverified and the helpdesk gets one notice naming it."""
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    for _ in range(2):  # the provider's retry of the same message
        returned = esc.inbound(to_signed_address(clock, handoff.id, False))
        esc.run_due()
        assert returned is not None
        assert (returned.id, returned.version) == (handoff.id, handoff.version)
    kinds = [e.kind for e in esc.history(handoff.id)]
    assert "reply.received" not in kinds
    assert kinds.count("reply.unverified") == 1
    assert [(case, n.topic) for case, n in notes] == [(handoff.id, "unverified_reply")]


def test_an_unauthenticated_stop_from_another_sender_to_the_signed_address_is_held_there(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    message = to_signed_address(clock, handoff.id, False).model_copy(update={"body": "STOP"})
    assert esc.inbound(message) is not None
    esc.run_due()
    assert esc.handoffs.get(handoff.id).state is handoff.state
    assert [(case, n.topic) for case, n in notes] == [(handoff.id, "unverified_opt_out")]


@pytest.mark.parametrize("authenticated", [True, None])
def test_a_vouched_or_unchecked_other_sender_to_the_signed_address_answers_the_case(
    store: Store, clock: FakeClock, sms: MemoryTransport, authenticated: bool | None
) -> None:
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    returned = esc.inbound(to_signed_address(clock, handoff.id, authenticated))
    assert returned is not None
    assert returned.id == handoff.id
    assert returned.version == handoff.version + 1
    assert "reply.received" in [e.kind for e in esc.history(handoff.id)]
