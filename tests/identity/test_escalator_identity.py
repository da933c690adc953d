"""The facade's use of identity linking: thread authors, provided contacts, public leaks."""

from __future__ import annotations

import pytest

from escalate import Escalator, Identity, InvalidInput, NotTheAuthor, Thread, Workflow
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


def _case_state(esc: Escalator, handoff_id: str) -> tuple[object, ...]:
    """What a refused contact_provided must leave untouched."""
    return (
        esc.handoffs.get(handoff_id),
        len(esc.history(handoff_id)),
        len(esc.store.outbox(esc.tenant)),
        esc.contacts.resolve(Identity.phone("+14155550100")),
    )


def test_the_authors_signed_in_account_may_give_contact_details(clock: FakeClock) -> None:
    """author= naming the thread's author (by id: a renamed handle too) is accepted."""
    esc = Escalator(
        "memory://", clock=clock, workflow=Workflow.default(contact_requires_author=True)
    )
    handoff = esc.open(make_thread(clock, user_id="42"))
    signed_in = Identity.social("x", "42", "jane_renamed")
    phone = Identity.phone("+14155550100")
    updated = esc.contact_provided(handoff.id, phone, consent=WEB_FORM_CONSENT, author=signed_in)
    assert updated.address == phone


@pytest.mark.parametrize("required", [True, False])
def test_someone_else_signed_in_is_refused_and_nothing_is_written(
    clock: FakeClock, required: bool
) -> None:
    """A visitor signed in as another account cannot claim the case, required or not."""
    workflow = Workflow.default(contact_requires_author=required)
    esc = Escalator("memory://", clock=clock, workflow=workflow)
    handoff = esc.open(make_thread(clock, user_id="42"))
    before = _case_state(esc, handoff.id)
    with pytest.raises(NotTheAuthor):
        esc.contact_provided(
            handoff.id,
            Identity.phone("+14155550100"),
            consent=WEB_FORM_CONSENT,
            author=Identity.social("x", "7777"),
        )
    with pytest.raises(NotTheAuthor):  # same user id on another platform is not the author
        esc.contact_provided(
            handoff.id,
            Identity.phone("+14155550100"),
            consent=WEB_FORM_CONSENT,
            author=Identity.social("facebook", "42"),
        )
    assert _case_state(esc, handoff.id) == before


def test_a_workflow_requiring_the_author_refuses_anonymous_customers_not_agents(
    clock: FakeClock,
) -> None:
    """With contact_requires_author, a customer must sign in; an agent's entry is taken."""
    esc = Escalator(
        "memory://", clock=clock, workflow=Workflow.default(contact_requires_author=True)
    )
    handoff = esc.open(make_thread(clock))
    before = _case_state(esc, handoff.id)
    phone = Identity.phone("+14155550100")
    with pytest.raises(NotTheAuthor, match="author="):
        esc.contact_provided(handoff.id, phone, consent=WEB_FORM_CONSENT)
    assert _case_state(esc, handoff.id) == before
    updated = esc.contact_provided(handoff.id, phone, consent=WEB_FORM_CONSENT, actor="agent:sam")
    assert updated.address == phone


def test_author_must_be_an_identity() -> None:
    """A bare string for author= is bad input, refused before anything is read."""
    esc = Escalator("memory://")
    with pytest.raises(InvalidInput):
        esc.contact_provided("ho_x", Identity.phone("+14155550100"), author="x:42")  # type: ignore[arg-type]


def test_a_consent_page_needs_the_author_by_default(clock: FakeClock) -> None:
    """Its link carries the public reference: without author= anyone who read the reply
    could give the case their own number and receive the private conversation."""
    evidence = WEB_FORM_CONSENT
    paged = Escalator(
        "memory://", clock=clock, workflow=Workflow.default(contact_url="https://acme.example/h")
    )
    handoff = paged.open(make_thread(clock))
    stranger = Identity.phone("+14155550199")
    with pytest.raises(NotTheAuthor, match="contact_requires_author=False"):
        paged.contact_provided(handoff.id, stranger, consent=evidence)
    assert paged.consent.records(stranger) == []
    signed_in = Identity.social("x", "42")  # make_thread's author
    paged.contact_provided(handoff.id, stranger, consent=evidence, author=signed_in)
    assert len(paged.consent.records(stranger)) == 1
    open_page = Escalator(
        "memory://",
        clock=clock,
        workflow=Workflow.default(
            contact_url="https://acme.example/h", contact_requires_author=False
        ),
    )
    other = open_page.open(make_thread(clock))
    assert open_page.contact_provided(other.id, stranger, consent=evidence).contact_id
    no_page = Escalator("memory://", clock=clock)  # no public link: nothing to guard
    third = no_page.open(make_thread(clock))
    assert no_page.contact_provided(third.id, stranger, consent=evidence).contact_id
