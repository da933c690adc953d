"""What ``esc.consent.export`` holds: all of the person's events, none of another's case.

Both run once per store kind (the ``esc`` fixture).
"""

from __future__ import annotations

import json

from escalate import ConsentEvidence, ConsentSource, Escalator, Identity, LinkSource, Thread
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT


def _thread(clock: FakeClock, thread_id: str, user_id: str, handle: str, text: str) -> Thread:
    author = Identity.social("x", user_id, handle)
    return Thread(
        platform="x", thread_id=thread_id, author=author, text=text, posted_at=clock.now()
    )


def test_export_holds_every_event_of_the_persons_cases(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Events were read by the contact's id alone: a contact merged into theirs kept
    its case in ``handoffs`` but none of its events, and a case's consent event
    (which names no contact) was missing too."""
    first = esc.open(_thread(clock, "1001", "42", "jane_d", "my order never arrived"))
    first = esc.contact_provided(first.id, Identity.phone("+14155550100"), consent=WEB_FORM_CONSENT)
    second = esc.open(_thread(clock, "1002", "43", "jane_alt", "still waiting"))
    second = esc.contact_provided(
        second.id, Identity.phone("+14155550123"), consent=WEB_FORM_CONSENT
    )
    esc.run_due()
    assert first.contact_id is not None
    assert second.contact_id is not None
    person = esc.contacts.merge(first.contact_id, second.contact_id, "same person")
    exported = esc.consent.export(person.id)
    assert {h["id"] for h in exported["handoffs"]} == {first.id, second.id}
    ids = [event["id"] for event in exported["events"]]
    for handoff in (first, second):
        assert {e.id for e in esc.history(handoff.id)} <= set(ids)
    assert {e.id for e in esc.store.events(esc.tenant, contact_id=second.contact_id)} <= set(ids)
    assert len(ids) == len(set(ids))
    seqs = [event["seq"] for event in exported["events"]]
    assert seqs == sorted(seqs)


def test_export_leaves_out_another_persons_case_on_a_number_both_gave(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Two people gave the same number on their own cases: one's access request
    showed the other's case messages (their agent's words, their case reference).
    The grant the other gave on their case is theirs too: it stays out, their ip
    with it."""
    phone = Identity.phone("+14155550142")
    alice = esc.open(_thread(clock, "2001", "42", "alice_a", "alice's complaint"))
    alice = esc.contact_provided(alice.id, phone, consent=WEB_FORM_CONSENT)
    esc.run_due()
    clock.advance(minutes=3)
    bob = esc.open(_thread(clock, "2002", "43", "bob_b", "bob's complaint"))
    evidence = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text me.", ip="198.51.100.9")
    bob = esc.contact_provided(bob.id, phone, consent=evidence)
    esc.send_message(bob.id, "Bob, your refund for order 5521 is on its way")
    esc.run_due()
    assert alice.contact_id is not None
    assert esc.contacts.resolve(phone).id == alice.contact_id  # type: ignore[union-attr]
    exported = esc.consent.export(alice.contact_id)
    text = json.dumps(exported)
    assert bob.reference not in text
    assert "order 5521" not in text
    assert "198.51.100.9" not in text
    assert {record["handoff_id"] for record in exported["consent"]} == {alice.id}
    assert {item["handoff_id"] for item in exported["messages"]} == {alice.id}


def test_an_id_from_before_a_merge_exports_and_erases_the_whole_person(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The id of a contact since merged into another named its empty tombstone:
    export gave almost nothing and erase returned as if done, leaving every
    address, consent record and open case of the person as it was."""
    first = esc.open(_thread(clock, "3001", "42", "jane_d", "my order never arrived"))
    first = esc.contact_provided(first.id, Identity.phone("+14155550100"), consent=WEB_FORM_CONSENT)
    second = esc.open(_thread(clock, "3002", "43", "jane_alt", "still waiting"))
    second = esc.contact_provided(
        second.id, Identity.phone("+14155550123"), consent=WEB_FORM_CONSENT
    )
    esc.run_due()
    assert first.contact_id is not None
    assert second.contact_id is not None
    person = esc.contacts.merge(first.contact_id, second.contact_id, "same person")
    old_id = second.contact_id if person.id == first.contact_id else first.contact_id
    exported = esc.consent.export(old_id)
    assert exported["contact"]["id"] == person.id
    assert {h["id"] for h in exported["handoffs"]} == {first.id, second.id}
    assert len(exported["consent"]) == 2
    assert len(esc.consent.erase(old_id)) == 2
    assert esc.contacts.get(person.id).links == ()  # type: ignore[union-attr]
    assert [esc.handoffs.get(h.id).state.value for h in (first, second)] == ["declined"] * 2
    assert esc.consent.records(Identity.phone("+14155550100")) == []
    assert esc.verify_log().ok


def test_export_holds_the_verification_challenges_sent_to_the_person(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A code sent to their address is data held on them (erasure rewrites it): export
    left it out. Its hash and salt stay out, a six-digit code being easy to try."""
    email = Identity.email("Jane.Doe@Example.com")
    handoff = esc.open(_thread(clock, "4001", "42", "jane_d", "my order never arrived"))
    handoff = esc.contact_provided(
        handoff.id, Identity.phone("+14155550100"), consent=WEB_FORM_CONSENT
    )
    assert handoff.contact_id is not None
    esc.contacts.link(handoff.contact_id, email, "customer_provided")
    challenge = esc.contacts.start_verification(handoff.contact_id, email)
    exported = esc.consent.export(handoff.contact_id)
    [shown] = exported["verifications"]
    assert (shown["id"], shown["identity"]["value"]) == (challenge.id, email.value)
    assert "code_hash" not in shown
    assert "salt" not in shown
    assert challenge.code not in json.dumps(exported)


def test_export_holds_the_persons_merges_and_proposals_naming_the_other_side_by_id(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The identity history (merges, undone or not, and merge proposals) was left out
    of the access export. A merge undone since names the other person by id only:
    their phone is not the person's to be shown."""
    jane = esc.contacts.create(Identity.phone("+14155550161"), LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    other = esc.contacts.create(Identity.phone("+14155550162"), LinkSource.CRM_IMPORT)
    clock.advance(minutes=1)
    alias = esc.contacts.create(Identity.email("jane.d@example.org"), LinkSource.CRM_IMPORT)
    _, undone = esc.contacts.merge_with_record(jane, other, "agent: same order?")
    esc.contacts.unmerge(undone.id)
    _, kept = esc.contacts.merge_with_record(jane, alias, "agent: same person")
    stranger = esc.open(_thread(clock, "5001", "77", "sam_s", "hi"))
    esc.contact_provided(stranger.id, Identity.phone("+14155550161"), consent=WEB_FORM_CONSENT)
    (proposal,) = esc.contacts.proposals()
    exported = esc.consent.export(jane.id)
    merges = {merge["id"]: merge for merge in exported["merges"]}
    assert set(merges) == {undone.id, kept.id}
    assert merges[undone.id]["absorbed_before"] == {"id": other.id}
    assert merges[undone.id]["survivor_before"]["id"] == jane.id
    assert merges[undone.id]["undone_at"] is not None
    assert merges[kept.id]["absorbed_before"]["links"][0]["identity"]["value"] == (
        "jane.d@example.org"
    )
    # (Jane's own record that the number is not hers, from the unmerge, names it.)
    assert "+14155550162" not in json.dumps(merges[undone.id])
    assert [p["id"] for p in exported["merge_proposals"]] == [proposal.id]
    assert esc.consent.export(other.id)["merge_proposals"] == []
    assert [m["id"] for m in esc.consent.export(other.id)["merges"]] == [undone.id]
    assert esc.consent.export(other.id)["merges"][0]["survivor_before"] == {"id": jane.id}
