"""The facade's use of identity linking: thread authors, provided contacts, public leaks."""

from __future__ import annotations

from escalate import Escalator, Identity, Thread
from escalate.testing import FakeClock
from tests.conftest import WEB_FORM_CONSENT, make_thread


def test_provided_address_is_linked_to_the_author(esc: Escalator, clock: FakeClock) -> None:
    """A free address given on a handoff is linked to its author's contact, customer_provided."""
    handoff = esc.open(make_thread(clock))
    phone = Identity.phone("(415) 555-0100", region="US")
    esc.contact_provided(handoff.id, phone, consent=WEB_FORM_CONSENT)
    contact = esc.contacts.resolve(phone)
    assert contact is not None
    assert contact.id == handoff.contact_id
    assert contact.link_for(phone).source.value == "customer_provided"  # type: ignore[union-attr]


def test_address_of_another_contact_is_proposed_not_merged(
    esc: Escalator, clock: FakeClock
) -> None:
    """An address already held by another person becomes a proposal, never a silent merge."""
    phone = Identity.phone("+14155550100")
    first = esc.open(make_thread(clock, thread_id="1", user_id="42"))
    esc.contact_provided(first.id, phone, consent=WEB_FORM_CONSENT)
    clock.advance(minutes=1)
    second = esc.open(make_thread(clock, thread_id="2", user_id="77"))
    esc.contact_provided(second.id, phone, consent=WEB_FORM_CONSENT)
    assert esc.contacts.resolve(phone).id == first.contact_id  # type: ignore[union-attr]
    assert esc.contacts.get(second.contact_id).merged_into is None  # type: ignore[arg-type,union-attr]
    (proposal,) = esc.contacts.proposals()
    assert set(proposal.contact_ids) == {first.contact_id, second.contact_id}
    assert "identity.conflict" in [e.kind for e in esc.history(second.id)]
    survivor = esc.contacts.accept_proposal(proposal.id)
    assert survivor.id == first.contact_id


def test_handle_change_keeps_the_contact(esc: Escalator, clock: FakeClock) -> None:
    """A renamed author is the same contact; only the display handle changes."""
    first = esc.open(make_thread(clock, thread_id="1"))
    renamed = Thread(
        platform="x",
        thread_id="2",
        author=Identity.social("x", "42", "jane_renamed"),
        text="still waiting",
        posted_at=clock.now(),
    )
    second = esc.open(renamed)
    assert second.contact_id == first.contact_id
    contact = esc.contacts.get(first.contact_id)  # type: ignore[arg-type]
    assert contact is not None
    assert len(contact.links) == 1
    assert contact.links[0].identity.handle == "jane_renamed"
    assert "contact.handle_changed" in [e.kind for e in esc.history(second.id)]


def test_publicly_shared_number_is_recorded_redacted(esc: Escalator, clock: FakeClock) -> None:
    """A number posted in public is noted on the handoff, redacted, and not linked."""
    thread = Thread(
        platform="x",
        thread_id="9",
        author=Identity.social("x", "42"),
        text="call me at +1 415 555 0100 already",
        posted_at=clock.now(),
    )
    handoff = esc.open(thread)
    (event,) = [e for e in esc.history(handoff.id) if e.kind == "identity.shared_publicly"]
    assert event.data["identities"] == ["phone:+1********00"]
    assert esc.contacts.resolve(Identity.phone("+14155550100")) is None


def test_provided_address_goes_to_the_survivor_after_a_merge(
    esc: Escalator, clock: FakeClock
) -> None:
    """A handoff whose contact was merged away links new addresses to the survivor."""
    first = esc.open(make_thread(clock, thread_id="1", user_id="42"))
    clock.advance(minutes=1)
    second = esc.open(make_thread(clock, thread_id="2", user_id="77"))
    esc.contacts.merge(first.contact_id, second.contact_id, "agent: same person")  # type: ignore[arg-type]
    email = Identity.email("jane@example.com")
    esc.contact_provided(second.id, email)
    assert esc.contacts.resolve(email).id == first.contact_id  # type: ignore[union-attr]
