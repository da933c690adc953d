"""ContactBook: link, unlink, merge, unmerge, proposals, with provenance and audit events."""

from __future__ import annotations

import pytest

from escalate import ContactMerged, IdentityTaken, LinkSource, NotFound, UnmergeNotPossible
from escalate.identity import ProposalStatus
from escalate.identity._merge import unlinked_from
from escalate.store import Store
from escalate.testing import FakeClock
from tests.identity.helpers import EMAIL, FB_JANE, OTHER_PHONE, PHONE, X_JANE, book


def test_create_and_resolve_keep_provenance(store: Store, clock: FakeClock) -> None:
    """A created contact resolves by its identity and its link carries source, time and actor."""
    contacts = book(store, clock)
    contact = contacts.create(X_JANE, "provider_attested", actor="ingest")
    found = contacts.resolve(X_JANE)
    assert found == contact
    link = found.links[0]
    assert (link.source, link.verified, link.at, link.actor) == (
        LinkSource.PROVIDER_ATTESTED,
        False,
        clock.now(),
        "ingest",
    )
    assert [e.kind for e in store.events("default", contact_id=contact.id)] == ["contact.linked"]


def test_link_and_unlink_write_audit_events(store: Store, clock: FakeClock) -> None:
    """Link adds an identity with its confidence; unlink removes it; both are audited."""
    contacts = book(store, clock)
    contact = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    contact = contacts.link(contact, PHONE, LinkSource.EXTRACTED, confidence=0.4, actor="bot")
    assert contacts.resolve(PHONE) == contact
    assert contact.link_for(PHONE) is not None
    assert contact.link_for(PHONE).confidence == 0.4  # type: ignore[union-attr]
    contact = contacts.unlink(contact, PHONE)
    assert contacts.resolve(PHONE) is None
    kinds = [e.kind for e in store.events("default", contact_id=contact.id)]
    assert kinds == ["contact.linked", "contact.linked", "contact.unlinked"]
    assert "+14155550100" not in str(store.events("default"))


def test_unlink_records_the_address_until_it_is_linked_again(
    store: Store, clock: FakeClock
) -> None:
    """An unlinked phone is kept as unlinked (who, when) until linked back or verified again."""
    contacts = book(store, clock)
    contact = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    contact = contacts.link(contact, PHONE, LinkSource.CUSTOMER_PROVIDED)
    contact = contacts.link(contact, FB_JANE, LinkSource.PROVIDER_ATTESTED)
    clock.advance(minutes=1)
    contact = contacts.unlink(contact, PHONE, actor="agent:7")
    contact = contacts.unlink(contact, FB_JANE)  # no message goes to a social account
    (gone,) = contact.unlinked
    assert (gone.identity, gone.at, gone.actor) == (PHONE, clock.now(), "agent:7")
    assert contacts.get(contact.id) == contact
    assert contacts.link(contact, PHONE, LinkSource.AGENT_ENTERED).unlinked == ()
    contact = contacts.unlink(contact.id, PHONE)
    challenge = contacts.start_verification(contact, PHONE)
    assert contacts.confirm_code(challenge.id, challenge.code).unlinked == ()


def test_a_merge_that_brings_an_unlinked_address_back_leaves_its_record_dormant(
    store: Store, clock: FakeClock
) -> None:
    """The survivor holds the number again (with the contact it belonged to): not unlinked
    while it holds it, unlinked again once the merge is undone and the number goes back."""
    contacts = book(store, clock)
    first = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    first = contacts.link(first, X_JANE, LinkSource.PROVIDER_ATTESTED)
    first = contacts.unlink(first, PHONE, actor="agent:7")  # "this isn't me"
    clock.advance(minutes=1)
    owner = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    survivor, record = contacts.merge_with_record(first, owner, "same person after all")
    assert survivor.id == first.id  # the older contact survives, with its record
    assert survivor.link_for(PHONE) is not None
    assert survivor.unlinked_for(PHONE) is None
    restored, _ = contacts.unmerge(record.id)
    assert restored.link_for(PHONE) is None
    assert restored.unlinked_for(PHONE) is not None


def test_handle_change_updates_display_not_identity(store: Store, clock: FakeClock) -> None:
    """Linking the same user id with a new handle keeps one identity and updates its handle."""
    contacts = book(store, clock)
    contact = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    renamed = X_JANE.with_handle("jane_new")
    updated = contacts.link(contact, renamed, LinkSource.PROVIDER_ATTESTED)
    assert len(updated.links) == 1
    assert updated.links[0].identity.handle == "jane_new"
    assert contacts.resolve(X_JANE) == updated


def test_merge_is_deterministic_and_leaves_a_tombstone(store: Store, clock: FakeClock) -> None:
    """The older contact survives whatever the argument order; the other points at it."""
    contacts = book(store, clock)
    older = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    clock.advance(minutes=1)
    newer = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    survivor, record = contacts.merge_with_record(newer, older, "same person, agent checked")
    assert survivor.id == older.id
    assert set(survivor.identities) == {X_JANE, PHONE}
    tombstone = contacts.get(newer.id)
    assert tombstone is not None
    assert tombstone.merged_into == older.id
    assert contacts.resolve(PHONE) == survivor
    assert record.absorbed_before == newer
    assert record.survivor_before == older


def test_unmerge_restores_both_plus_later_links(store: Store, clock: FakeClock) -> None:
    """Undo gives each side its identities back, and a link made for the tombstone goes with it."""
    contacts = book(store, clock)
    a = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    clock.advance(minutes=1)
    b = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    _, record = contacts.merge_with_record(a, b, "agent thinks so")
    contacts.link(a.id, FB_JANE, LinkSource.AGENT_ENTERED)  # for the survivor
    contacts.link(b.id, EMAIL, LinkSource.CUSTOMER_PROVIDED)  # for the merged-away one
    survivor, restored = contacts.unmerge(record.id)
    assert survivor.identities == (X_JANE, FB_JANE)
    assert restored.identities == (PHONE, EMAIL)
    assert restored.merged_into is None
    assert contacts.resolve(EMAIL) == restored
    assert restored.links[0] == b.links[0]
    with pytest.raises(UnmergeNotPossible):
        contacts.unmerge(record.id)


def test_unmerge_after_a_later_merge(store: Store, clock: FakeClock) -> None:
    """Undoing an earlier merge takes the identities out of whatever holds them now."""
    contacts = book(store, clock)
    a = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    clock.advance(minutes=1)
    b = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    clock.advance(minutes=1)
    c = contacts.create(EMAIL, LinkSource.CUSTOMER_PROVIDED)
    _, first = contacts.merge_with_record(b, c, "one")  # b survives
    contacts.merge(a, b, "two")  # a survives, b becomes a tombstone
    _, restored = contacts.unmerge(first.id)
    assert restored.id == c.id
    assert restored.identities == (EMAIL,)
    assert contacts.resolve(PHONE).id == a.id  # type: ignore[union-attr]
    assert set(contacts.live(a.id).identities) == {X_JANE, PHONE}


def test_unmerge_records_each_sides_addresses_as_unlinked_from_the_other(
    store: Store, clock: FakeClock
) -> None:
    """Each side's cases may have used the other's phones and emails: they are unlinked
    from it (a social account receives nothing), counted in the events, and a merge of
    the two again voids the records."""
    contacts = book(store, clock)
    a = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    a = contacts.link(a, EMAIL, LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    b = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    b = contacts.link(b, FB_JANE, LinkSource.PROVIDER_ATTESTED)
    _, record = contacts.merge_with_record(a, b, "agent thinks so")
    clock.advance(minutes=1)
    kept, restored = contacts.unmerge(record.id, actor="agent:7")
    assert [(g.identity, g.merge_id, g.actor, g.at) for g in kept.unlinked] == [
        (PHONE, record.id, "agent:7", clock.now())
    ]
    assert [(g.identity, g.merge_id) for g in restored.unlinked] == [(EMAIL, record.id)]
    assert unlinked_from(store, "default", a.id, PHONE, owner=restored)
    assert unlinked_from(store, "default", b.id, EMAIL, owner=kept)
    events = {e.kind: e.data for e in store.events("default")}
    assert events["contact.unmerged"]["addresses_unlinked"] == 1
    assert events["contact.restored"]["addresses_unlinked"] == 1
    assert "+14155550100" not in str(store.events("default"))
    survivor = contacts.merge(b, a, "same person after all")
    assert survivor.unlinked == ()
    assert contacts.get(b.id).unlinked == ()  # type: ignore[union-attr]


def test_an_unmerge_record_follows_the_survivor_out_of_a_later_merge(
    store: Store, clock: FakeClock
) -> None:
    """Undone out of a later survivor, the record is that survivor's, and goes back to the
    contact it is for when that later merge is undone too."""
    contacts = book(store, clock)
    root = contacts.create(EMAIL, LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    a = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    clock.advance(minutes=1)
    b = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    _, first = contacts.merge_with_record(a, b, "one")
    _, second = contacts.merge_with_record(root, a, "two")
    contacts.link(b.id, OTHER_PHONE, LinkSource.CUSTOMER_PROVIDED)  # made for b, held by root
    kept, restored = contacts.unmerge(first.id)
    assert kept.id == root.id
    assert set(restored.identities) == {PHONE, OTHER_PHONE}
    assert {g.identity for g in kept.unlinked} == {PHONE, OTHER_PHONE}
    for number in (PHONE, OTHER_PHONE):
        assert unlinked_from(store, "default", a.id, number, owner=restored)
    _, a_again = contacts.unmerge(second.id)
    assert a_again.id == a.id
    for number in (PHONE, OTHER_PHONE):
        assert unlinked_from(store, "default", a.id, number, owner=restored)
    assert not unlinked_from(store, "default", a.id, X_JANE, owner=a_again)


def test_link_refuses_an_identity_held_by_another_contact(store: Store, clock: FakeClock) -> None:
    """Linking someone else's identity raises IdentityTaken naming the holder."""
    contacts = book(store, clock)
    holder = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    other = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    with pytest.raises(IdentityTaken) as caught:
        contacts.link(other, PHONE, LinkSource.AGENT_ENTERED)
    assert caught.value.contact_id == holder.id


def test_proposals_are_accepted_or_rejected_by_a_human(store: Store, clock: FakeClock) -> None:
    """A proposal merges only when accepted; a rejected one stays rejected."""
    contacts = book(store, clock)
    a = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    b = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    proposal, changes = contacts.propose(a, b, PHONE, "identity_claimed")
    store.commit(changes)
    again, no_changes = contacts.propose(b, a, PHONE, "identity_claimed")
    assert again.id == proposal.id
    assert no_changes.merge_proposals == ()
    assert [p.id for p in contacts.proposals()] == [proposal.id]
    assert contacts.get(b.id).merged_into is None  # type: ignore[union-attr]
    survivor = contacts.accept_proposal(proposal.id)
    assert set(survivor.identities) == {X_JANE, PHONE}
    accepted = contacts.proposals(status=None)[0]
    assert accepted.status is ProposalStatus.ACCEPTED
    assert accepted.merge_id is not None
    assert contacts.proposals() == []
    with pytest.raises(ContactMerged):
        contacts.merge(a, b, "again")
    with pytest.raises(NotFound):
        contacts.reject_proposal("mp_missing")
