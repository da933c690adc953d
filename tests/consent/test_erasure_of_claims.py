"""Erasing a person erases the verifications they started for somebody else's address.

Alice claims a number that Bob holds (or that becomes Bob's later): she starts a
verification of it. The challenge is hers (her claim, the number she typed), yet
erasure looked only at her own addresses: it kept the number, and its code still
linked it to her erased contact (or proposed merging that contact with Bob's).
Bob's own challenges to the number are his and stay. Every test runs once per
store kind (the ``esc`` fixture).
"""

from __future__ import annotations

import json

import pytest

from escalate import Escalator, Identity, LinkSource, VerificationFailed
from escalate.identity import VerificationChallenge
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport

BOBS = Identity.phone("+14155550123")
ALICES = Identity.phone("+14155550177")


def _erased_claim_is_gone(esc: Escalator, store: Store, challenge: VerificationChallenge) -> None:
    """Alice's challenge holds no address any more, and no longer confirms."""
    stored = store.get_verification("default", challenge.id)
    assert stored is not None
    assert stored.identity is None
    assert BOBS.value not in stored.model_dump_json()
    with pytest.raises(VerificationFailed, match="erased"):
        esc.contacts.confirm_code(challenge.id, challenge.code)
    assert store.merge_proposals("default") == []


def test_a_challenge_the_erased_person_started_for_anothers_number_goes(
    esc: Escalator, store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Alice's claim to Bob's number kept the number after her erasure, and its code
    then proposed merging her erased contact with Bob; Bob's challenge stays whole."""
    alice = esc.contacts.create(ALICES, LinkSource.CRM_IMPORT)
    bob = esc.contacts.create(BOBS, LinkSource.CRM_IMPORT)
    hers = esc.contacts.start_verification(alice.id, BOBS)
    clock.advance(minutes=1)
    his = esc.contacts.start_verification(bob.id, BOBS)
    esc.consent.erase(alice.id)
    _erased_claim_is_gone(esc, store, hers)
    [kept] = store.verifications_of("default", BOBS)
    assert (kept.id, kept.contact_id, kept.identity) == (his.id, bob.id, BOBS)
    assert store.count_verifications("default", BOBS, clock.now()) == 1
    confirmed = esc.contacts.confirm_code(his.id, his.code)
    assert confirmed.link_for(BOBS) is not None


def test_a_number_the_person_claimed_before_somebody_else_got_it_goes_too(
    esc: Escalator, store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Nobody held the number when Alice claimed it; Bob got it later. Her challenge
    to it is hers all the same."""
    alice = esc.contacts.create(ALICES, LinkSource.CRM_IMPORT)
    hers = esc.contacts.start_verification(alice.id, BOBS)
    clock.advance(minutes=1)
    esc.contacts.create(BOBS, LinkSource.CRM_IMPORT)
    esc.consent.erase(alice.id)
    _erased_claim_is_gone(esc, store, hers)
    assert store.verifications_of("default", BOBS) == []


def test_a_confirmed_claim_to_a_number_given_on_to_somebody_else_goes(
    esc: Escalator, store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Alice verified the number, then let it go, and Bob holds it now: the used
    challenge still named the number and her contact after her erasure."""
    alice = esc.contacts.create(ALICES, LinkSource.CRM_IMPORT)
    hers = esc.contacts.start_verification(alice.id, BOBS)
    esc.contacts.confirm_code(hers.id, hers.code)
    esc.contacts.unlink(alice.id, BOBS)
    clock.advance(minutes=1)
    esc.contacts.create(BOBS, LinkSource.CRM_IMPORT)
    esc.consent.erase(alice.id)
    erased = store.get_verification("default", hers.id)
    assert erased is not None
    assert (erased.identity, erased.used_at is not None) == (None, True)
    assert store.verifications_of("default", BOBS) == []


def test_a_claim_made_for_a_contact_merged_into_the_person_goes(
    esc: Escalator, store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A challenge started for a contact since merged into Alice's is hers too."""
    alice = esc.contacts.create(ALICES, LinkSource.CRM_IMPORT)
    older = esc.contacts.create(Identity.email("alice@example.com"), LinkSource.CRM_IMPORT)
    hers = esc.contacts.start_verification(older.id, BOBS)
    esc.contacts.create(BOBS, LinkSource.CRM_IMPORT)
    survivor = esc.contacts.merge(alice.id, older.id, reason="same_person")
    esc.consent.erase(survivor.id)
    _erased_claim_is_gone(esc, store, hers)


def test_the_export_shows_the_persons_claims_and_not_the_holders(
    esc: Escalator, store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """What erasure rewrites as Alice's, her export shows: her challenge to Bob's
    number (the number she typed, no code hash or salt), not Bob's challenge, and
    nothing else of Bob's."""
    alice = esc.contacts.create(ALICES, LinkSource.CRM_IMPORT)
    bob = esc.contacts.create(BOBS, LinkSource.CRM_IMPORT)
    esc.contacts.link(bob.id, Identity.email("bob@example.com"), LinkSource.CRM_IMPORT)
    own = esc.contacts.start_verification(alice.id, ALICES)
    clock.advance(minutes=1)
    hers = esc.contacts.start_verification(alice.id, BOBS)
    his = esc.contacts.start_verification(bob.id, BOBS)
    exported = esc.consent.export(alice.id)
    shown = exported["verifications"]
    assert [(c["id"], c["contact_id"]) for c in shown] == [(own.id, alice.id), (hers.id, alice.id)]
    assert shown[1]["identity"]["value"] == BOBS.value
    assert all("code_hash" not in c and "salt" not in c for c in shown)
    text = json.dumps(exported)
    assert his.id not in text
    assert bob.id not in text
    assert "bob@example.com" not in text
    assert hers.code not in text
