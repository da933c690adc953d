"""Replies from a number that two contacts gave: the case that texts it still hears back.

Two social accounts (a couple, a parent and child) give the same phone number.
The second one's contact cannot link it (another contact holds it: an identity
conflict and a merge proposal, never a merge), yet its case is connected to the
number and texts it, with its own reference code. The replies from that number
must reach that case, not only the first contact's.
"""

from __future__ import annotations

from escalate import Channel, Escalator, Handoff, HandoffState, Identity, InboundMessage
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.workflow.conftest import MakeEsc

PHONE = Identity.phone("+14155550100")
STRANGER = Identity.phone("+14155550199")


def shared_number(esc: Escalator, clock: FakeClock) -> tuple[Handoff, Handoff]:
    """Case A's author gives PHONE; then case B's author, another contact, gives it too."""
    first = esc.open(make_thread(clock, thread_id="1", user_id="1"))
    esc.contact_provided(first.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.advance(minutes=5)
    second = esc.open(make_thread(clock, thread_id="2", user_id="2"))
    second = esc.contact_provided(second.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.advance(minutes=5)
    return first, second


def text(clock: FakeClock, body: str, sender: Identity = PHONE, sid: str = "SM1") -> InboundMessage:
    return InboundMessage(
        channel=Channel.SMS,
        sender=sender,
        body=body,
        received_at=clock.now(),
        provider_message_id=sid,
    )


def replies(esc: Escalator, handoff: Handoff) -> int:
    return sum(e.kind == "reply.received" for e in esc.history(handoff.id))


def test_the_second_case_texts_the_shared_number(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The setting: B is connected to the number, and its intro went there with its code."""
    esc = make_esc()
    first, second = shared_number(esc, clock)
    assert second.state is HandoffState.CONNECTED
    assert second.address == PHONE
    assert second.contact_id != first.contact_id
    assert [m.reference for m in sms.sent] == [first.reference, second.reference]


def test_after_the_first_case_closed_a_reply_reaches_the_second(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """Once the number's own contact has no open case, the case texting it gets the reply."""
    esc = make_esc()
    first, second = shared_number(esc, clock)
    esc.resolve(first.id)
    matched = esc.inbound(text(clock, "yes it still does not work"))
    assert matched is not None
    assert matched.id == second.id
    assert replies(esc, second) == 1


def test_a_reply_naming_the_second_case_reaches_it(make_esc: MakeEsc, clock: FakeClock) -> None:
    """The code the second case texted, typed back, routes there even with the first open."""
    esc = make_esc()
    first, second = shared_number(esc, clock)
    matched = esc.inbound(text(clock, f"about {second.reference}: the box was empty"))
    assert matched is not None
    assert matched.id == second.id
    assert (replies(esc, first), replies(esc, second)) == (0, 1)


def test_the_numbers_own_contact_still_comes_first(make_esc: MakeEsc, clock: FakeClock) -> None:
    """A reply naming no case goes to the number's own contact's case, though B is newer."""
    esc = make_esc()
    first, second = shared_number(esc, clock)
    matched = esc.inbound(text(clock, "still waiting"))
    assert matched is not None
    assert matched.id == first.id
    assert (replies(esc, first), replies(esc, second)) == (1, 0)


def test_another_number_naming_the_case_still_reaches_nothing(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """Only a case that texts the sender's number widens the search: a code alone does not."""
    esc = make_esc()
    _, second = shared_number(esc, clock)
    assert esc.inbound(text(clock, f"re {second.reference}", sender=STRANGER)) is None
    assert replies(esc, second) == 0


def test_a_stop_from_the_shared_number_declines_both(make_esc: MakeEsc, clock: FakeClock) -> None:
    """STOP is about the number: every open case texting it is declined."""
    esc = make_esc()
    first, second = shared_number(esc, clock)
    esc.inbound(text(clock, "STOP"))
    states = {esc.handoffs.get(h.id).state for h in (first, second)}  # type: ignore[union-attr]
    assert states == {HandoffState.DECLINED}


def test_a_number_unlinked_as_not_theirs_reaches_no_case_of_theirs(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """ "This isn't me": the number's texts do not go to the case it was unlinked from."""
    esc = make_esc()
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.contact_id is not None
    esc.contacts.unlink(handoff.contact_id, PHONE, actor="agent:7")
    assert esc.inbound(text(clock, "who is this? I never asked")) is None
    assert replies(esc, handoff) == 0


def test_after_the_first_contact_lets_go_the_second_case_still_hears_back(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """The first contact unlinks the shared number: the case that texts it still gets replies."""
    esc = make_esc()
    first, second = shared_number(esc, clock)
    assert first.contact_id is not None
    esc.contacts.unlink(first.contact_id, PHONE, actor="agent:7")
    matched = esc.inbound(text(clock, "it is me, from the second case"))
    assert matched is not None
    assert matched.id == second.id
