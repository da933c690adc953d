"""The default workflow end to end, on every store."""

from __future__ import annotations

from escalate import Channel, Escalator, HandoffState, Identity, InboundMessage
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from tests.conftest import WEB_FORM_CONSENT, make_thread


def test_public_post_to_resolved(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport, publisher: RecordingPublisher
) -> None:
    """A thread is acknowledged publicly, moves to SMS with consent, and is resolved."""
    handoff = esc.open(make_thread(clock))
    assert handoff.state is HandoffState.AWAITING_CONTACT
    assert handoff.reference in publisher.replies[0].text

    clock.advance(minutes=5)
    phone = Identity.phone("(415) 555-0100", region="US")
    handoff = esc.contact_provided(handoff.id, phone, consent=WEB_FORM_CONSENT)
    assert handoff.state is HandoffState.CONNECTED
    assert [message.to for message in sms.sent] == [phone]
    assert handoff.reference in sms.sent[0].body

    reply = InboundMessage(
        channel=Channel.SMS, sender=phone, body="thanks, order 1234", received_at=clock.now()
    )
    assert esc.inbound(reply) is not None
    assert esc.resolve(handoff.id).state is HandoffState.RESOLVED
    kinds = [event.kind for event in esc.history(handoff.id)]
    assert kinds.count("message.sent") == 1
    assert "consent.recorded" in kinds
