"""Chains of merges and unmerges: no contact's cases get back an address an unmerge took.

An unmerge unlinks each side's phones and emails from the other side's cases, and
an unlink while merged unlinks for the cases of both. Later unmerges (of other
merges, in any order, into whichever contact survived) and merges redone then
undone again must keep every such record, until the address is linked again.
"""

from __future__ import annotations

from itertools import permutations

import pytest

from escalate import Escalator, Identity, LinkSource
from escalate.identity import Contact, ContactBook
from escalate.identity._merge import unlinked_from
from escalate.store import Store
from escalate.testing import FakeClock
from tests.identity.helpers import book

PHONES = {name: Identity.phone(f"+1415555020{n}") for n, name in enumerate("ABCD")}


def _contacts(contacts: ContactBook, clock: FakeClock, order: str) -> dict[str, Contact]:
    """A, B and C, each holding its own phone, created in ``order`` (the oldest survives)."""
    made = {}
    for name in order:
        made[name] = contacts.create(PHONES[name], LinkSource.CRM_IMPORT)
        clock.advance(minutes=1)
    return made


def _reaches(contacts: ContactBook, store: Store, contact: Contact, identity: Identity) -> bool:
    """Whether a case of ``contact`` may still send to ``identity`` (the send path's check)."""
    owner = contacts.resolve(identity)
    return not unlinked_from(store, contact.tenant, contact.id, identity, owner)


def _check_apart(contacts: ContactBook, store: Store, made: dict[str, Contact]) -> None:
    """Each holds its own phone again, and no case of one reaches another's."""
    for name, contact in made.items():
        assert contacts.resolve(PHONES[name]) == contacts.get(contact.id)
        for other in made:
            reached = _reaches(contacts, store, contact, PHONES[other])
            assert reached is (other == name), (name, other)


@pytest.mark.parametrize("order", ["".join(p) for p in permutations("ABC")])
@pytest.mark.parametrize("undo", ["first merge first", "second merge first"])
@pytest.mark.parametrize("third", ["C with A", "C with the merged contact"])
def test_a_chain_of_unmerges_keeps_every_address_apart(
    store: Store, clock: FakeClock, order: str, undo: str, third: str
) -> None:
    """B merged with A, then C with A (or the survivor); both undone, in either order."""
    contacts = book(store, clock)
    made = _contacts(contacts, clock, order)
    _, first = contacts.merge_with_record(made["A"], made["B"], "same person?")
    partner = made["A"] if third == "C with A" else contacts.live(made["A"])
    if contacts.get(partner.id).merged_into is not None:  # type: ignore[union-attr]
        partner = contacts.live(partner)  # A went into B: C meets the contact holding A
    _, second = contacts.merge_with_record(partner, made["C"], "same person?")
    merges = [first, second] if undo == "first merge first" else [second, first]
    contacts.unmerge(merges[0].id, actor="agent:7")
    clock.advance(minutes=1)
    contacts.unmerge(merges[1].id, actor="agent:7")
    _check_apart(contacts, store, made)


def test_the_contact_restored_last_keeps_the_record_of_an_earlier_unmerge(
    store: Store, clock: FakeClock
) -> None:
    """C was on A's side when B left: restored later, it keeps B's number as unlinked."""
    contacts = book(store, clock)
    made = _contacts(contacts, clock, "ABC")
    _, first = contacts.merge_with_record(made["A"], made["B"], "same person?")
    _, second = contacts.merge_with_record(made["A"], made["C"], "same person?")
    contacts.unmerge(first.id, actor="agent:7")
    _, restored = contacts.unmerge(second.id, actor="agent:7")
    assert restored.id == made["C"].id
    assert {(gone.identity, gone.merge_id) for gone in restored.unlinked} == {
        (PHONES["B"], first.id),
        (PHONES["A"], second.id),
    }


@pytest.mark.parametrize("whose", ["the survivor's", "the merged-away contact's"])
def test_an_address_unlinked_while_merged_stays_unlinked_for_both_sides(
    store: Store, clock: FakeClock, whose: str
) -> None:
    """ "This isn't me" said of a number while merged holds for the cases of both, once apart."""
    contacts = book(store, clock)
    made = _contacts(contacts, clock, "AB")
    survivor, merge = contacts.merge_with_record(made["A"], made["B"], "same person?")
    number = PHONES["A" if whose == "the survivor's" else "B"]
    contacts.unlink(survivor, number, actor="agent:7")
    kept, restored = contacts.unmerge(merge.id, actor="agent:7")
    for contact in (kept, restored):
        assert not _reaches(contacts, store, contact, number)
        assert contact.unlinked_for(number) is not None


@pytest.mark.parametrize("direction", ["same order", "reverse order"])
def test_a_merge_redone_and_undone_again_parts_the_addresses_again(
    store: Store, clock: FakeClock, direction: str
) -> None:
    """Merge, unmerge, merge the pair again (either way round), unmerge again."""
    contacts = book(store, clock)
    made = _contacts(contacts, clock, "AB")
    _, first = contacts.merge_with_record(made["A"], made["B"], "same person?")
    contacts.unmerge(first.id, actor="agent:7")
    pair = (made["A"], made["B"]) if direction == "same order" else (made["B"], made["A"])
    survivor, again = contacts.merge_with_record(*pair, "same person after all")
    assert survivor.id == made["A"].id
    for contact in made.values():  # merged again: each reaches both numbers
        for name in made:
            assert _reaches(contacts, store, contact, PHONES[name])
    kept, restored = contacts.unmerge(again.id, actor="agent:7")
    assert (kept.identities, restored.identities) == ((PHONES["A"],), (PHONES["B"],))
    assert [(g.identity, g.merge_id) for g in kept.unlinked] == [(PHONES["B"], again.id)]
    assert [(g.identity, g.merge_id) for g in restored.unlinked] == [(PHONES["A"], again.id)]
    _check_apart(contacts, store, made)


def test_a_number_unlinked_in_a_redone_merge_stays_unlinked_after_its_undo(
    store: Store, clock: FakeClock
) -> None:
    """B lost A's number to an unmerge; merged again, A's number is unlinked; undone: B lost it."""
    contacts = book(store, clock)
    made = _contacts(contacts, clock, "AB")
    _, first = contacts.merge_with_record(made["A"], made["B"], "same person?")
    contacts.unmerge(first.id, actor="agent:7")
    survivor, again = contacts.merge_with_record(made["B"], made["A"], "same person after all")
    contacts.unlink(survivor, PHONES["A"], actor="agent:7")
    contacts.create(PHONES["A"], LinkSource.AGENT_ENTERED)  # its real owner
    contacts.unmerge(again.id, actor="agent:7")
    for contact in made.values():
        assert not _reaches(contacts, store, contact, PHONES["A"])


def test_a_number_linked_again_is_reached_again(store: Store, clock: FakeClock) -> None:
    """The one way back after an unmerge: the address linked to the contact again."""
    contacts = book(store, clock)
    made = _contacts(contacts, clock, "ABC")
    _, first = contacts.merge_with_record(made["A"], made["B"], "same person?")
    _, second = contacts.merge_with_record(made["A"], made["C"], "same person?")
    contacts.unmerge(first.id, actor="agent:7")
    contacts.unlink(made["B"], PHONES["B"], actor="agent:7")
    contacts.link(made["C"], PHONES["B"], LinkSource.AGENT_ENTERED)  # for C, merged into A
    contacts.unmerge(second.id, actor="agent:7")
    assert contacts.resolve(PHONES["B"]) == contacts.get(made["C"].id)
    assert _reaches(contacts, store, made["C"], PHONES["B"])
    assert not _reaches(contacts, store, made["A"], PHONES["B"])


def test_a_number_unlinked_while_merged_and_linked_again_for_the_survivor_stays_with_it(
    store: Store, clock: FakeClock
) -> None:
    """B's number, "not this person" while merged, then linked to A (not B): A keeps it.

    Linked for the survivor (``origin`` unset), the link is a new one: the unmerge
    gives back B's links as they were, not an address linked again for A since.
    """
    contacts = book(store, clock)
    made = _contacts(contacts, clock, "AB")
    survivor, merge = contacts.merge_with_record(made["A"], made["B"], "same person?")
    contacts.unlink(survivor, PHONES["B"], actor="agent:7")
    clock.advance(minutes=1)
    contacts.link(made["A"], PHONES["B"], LinkSource.AGENT_ENTERED)
    kept, restored = contacts.unmerge(merge.id, actor="agent:7")
    assert set(kept.identities) == {PHONES["A"], PHONES["B"]}
    assert restored.identities == ()
    assert _reaches(contacts, store, made["A"], PHONES["B"])
    assert not _reaches(contacts, store, made["B"], PHONES["B"])
    assert not _reaches(contacts, store, made["B"], PHONES["A"])


def test_a_number_unlinked_while_merged_stays_with_its_real_owner_merged_in_since(
    store: Store, clock: FakeClock
) -> None:
    """B's number, "not this person" while merged, goes to D, whom A absorbs: undoing B's
    merge leaves the number with D (in A), and undoing D's gives it to D."""
    contacts = book(store, clock)
    made = _contacts(contacts, clock, "AB")
    survivor, first = contacts.merge_with_record(made["A"], made["B"], "same person?")
    contacts.unlink(survivor, PHONES["B"], actor="agent:7")
    clock.advance(minutes=1)
    made["D"] = contacts.create(PHONES["B"], LinkSource.AGENT_ENTERED)  # its real owner
    clock.advance(minutes=1)
    _, second = contacts.merge_with_record(made["A"], made["D"], "same person?")
    kept, restored = contacts.unmerge(first.id, actor="agent:7")
    assert (set(kept.identities), restored.identities) == ({PHONES["A"], PHONES["B"]}, ())
    assert not _reaches(contacts, store, made["B"], PHONES["B"])
    assert _reaches(contacts, store, made["D"], PHONES["B"])
    _, owner = contacts.unmerge(second.id, actor="agent:7")
    assert owner.identities == (PHONES["B"],)
    assert contacts.resolve(PHONES["B"]) == owner
    assert _reaches(contacts, store, made["D"], PHONES["B"])
    assert not _reaches(contacts, store, made["A"], PHONES["B"])
    assert not _reaches(contacts, store, made["B"], PHONES["B"])


def test_an_unmerge_parts_the_contacts_merged_in_even_from_a_number_unlinked_before(
    store: Store, clock: FakeClock
) -> None:
    """A said "not me" of a number; B merged into A; D, holding the number, merged in and
    out again: B's cases lost the number then, and undoing B's merge must not give it back.

    A's own record of the number (older than B's merge) is A's past; the unmerge of D
    is B's loss too, and must be recorded as such.
    """
    contacts = book(store, clock)
    made = _contacts(contacts, clock, "ABD")
    number = Identity.phone("+14155550209")
    contacts.link(made["A"], number, LinkSource.AGENT_ENTERED)
    contacts.unlink(made["A"], number, actor="agent:7")
    contacts.link(made["D"], number, LinkSource.AGENT_ENTERED)
    _, first = contacts.merge_with_record(made["A"], made["B"], "same person?")
    _, second = contacts.merge_with_record(made["A"], made["D"], "same person?")
    assert _reaches(contacts, store, made["B"], number)  # one person: B's case may use it
    contacts.unmerge(second.id, actor="agent:7")
    assert not _reaches(contacts, store, made["B"], number)
    contacts.unmerge(first.id, actor="agent:7")
    assert not _reaches(contacts, store, made["B"], number)
    assert not _reaches(contacts, store, made["A"], number)
    assert _reaches(contacts, store, made["D"], number)


def test_undoing_a_merge_after_an_earlier_unmerge_leaves_the_other_sides_number_with_it(
    store: Store, clock: FakeClock
) -> None:
    """B merged into A, A into C; B's merge undone (B leaves with its number), B merged
    into C; undoing A's merge must not give A B's number (nor take it from B and C).

    A's snapshot in the second merge held B's number only because B was merged into
    A then; the first unmerge says B is somebody else. (The identity machine's long
    run found it, with a verified number.)
    """
    contacts = book(store, clock)
    made = _contacts(contacts, clock, "CAB")
    _, first = contacts.merge_with_record(made["A"], made["B"], "same person?")
    _, second = contacts.merge_with_record(made["A"], made["C"], "same person?")
    contacts.unmerge(first.id, actor="agent:7")
    contacts.merge_with_record(made["C"], made["B"], "same person after all")
    kept, restored = contacts.unmerge(second.id, actor="agent:7")
    assert (kept.id, restored.id) == (made["C"].id, made["A"].id)
    assert restored.identities == (PHONES["A"],)
    assert set(kept.identities) == {PHONES["C"], PHONES["B"]}
    assert not _reaches(contacts, store, made["A"], PHONES["B"])
    assert _reaches(contacts, store, made["B"], PHONES["B"])
    assert _reaches(contacts, store, made["C"], PHONES["B"])


def test_a_number_linked_again_for_the_survivor_keeps_who_linked_it_after_the_undo(
    store: Store, clock: FakeClock
) -> None:
    """Unlinked and linked again for the survivor, with the source it had: a new link.

    It stays with the survivor with its new provenance (who linked it, when); the
    restored contact gets neither the number nor the old link's evidence.
    """
    esc = Escalator(store, clock=clock, dispatch_immediately=False)
    made = []
    for name in "ABC":  # the oldest survives: B, of B and C
        made.append(esc.contacts.create(PHONES[name], LinkSource.CRM_IMPORT, actor="agent:1"))
        clock.advance(minutes=1)
    a, b, c = made
    survivor, merge = esc.contacts.merge_with_record(b, c, "same person?")
    clock.advance(minutes=1)
    esc.contacts.unlink(survivor, PHONES["C"], actor="agent:3")
    clock.advance(minutes=1)
    esc.contacts.link(b, PHONES["C"], LinkSource.CRM_IMPORT, actor="agent:2")
    kept, restored = esc.contacts.unmerge(merge.id, actor="agent:5")
    link = kept.link_for(PHONES["C"])
    assert link is not None
    assert (link.actor, link.source, link.at) == ("agent:2", LinkSource.CRM_IMPORT, clock.now())
    assert restored.links == ()
    assert esc.contacts.resolve(PHONES["C"]) == kept
    assert esc.contacts.get(a.id).identities == (PHONES["A"],)
