"""An email to a case's signed reply-to address from another sender.

The signed token vouches for a reply only from the case's own address
(``consent/_unverified.py``): one from another address that the receiving side
could not authenticate is held like any unauthenticated reply, on the open
cases of *its sender's* address, and a sender with none is told nothing.
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


def test_an_unauthenticated_other_sender_to_the_signed_address_answers_no_case(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    notes: Notes = []
    esc = escalator(store, clock, sms, notes)
    handoff = connected(esc, clock)
    before = esc.history(handoff.id)
    assert esc.inbound(to_signed_address(clock, handoff.id, False)) is None
    esc.run_due()
    assert esc.handoffs.get(handoff.id).version == handoff.version
    assert esc.history(handoff.id) == before
    assert notes == []


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
