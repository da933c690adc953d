"""Verification: one-time codes and signed links mark a link verified, within their limits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from escalate import LinkSource, RateLimited, VerificationFailed
from escalate.identity import VerificationPolicy
from escalate.store import Changes, OutboxItem, Store
from escalate.testing import FakeClock
from tests.identity.helpers import EMAIL, PHONE, X_JANE, book, snapshot

SECRET = b"test-secret-0123456789"


def test_code_marks_the_link_verified(store: Store, clock: FakeClock) -> None:
    """The right code verifies the link, once; the code is never stored in clear."""
    contacts = book(store, clock)
    contact = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    contact = contacts.link(contact, PHONE, LinkSource.CUSTOMER_PROVIDED)
    challenge = contacts.start_verification(contact, PHONE)
    assert challenge.code.isdigit()
    assert len(challenge.code) == 6
    stored = store.get_verification("default", challenge.id)
    assert stored is not None
    assert challenge.code not in stored.model_dump_json()
    assert challenge.code not in repr(challenge)
    verified = contacts.confirm_code(challenge.id, challenge.code)
    link = verified.link_for(PHONE)
    assert link is not None
    assert link.verified
    assert link.source is LinkSource.CUSTOMER_PROVIDED
    assert link.verified_at == clock.now()
    with pytest.raises(VerificationFailed) as caught:
        contacts.confirm_code(challenge.id, challenge.code)
    assert caught.value.reason == "used"


def test_code_for_an_unlinked_address_links_it_verified(store: Store, clock: FakeClock) -> None:
    """Verifying a free address links it with source 'verified'."""
    contacts = book(store, clock)
    contact = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    challenge = contacts.start_verification(contact, EMAIL)
    verified = contacts.confirm_code(challenge.id, challenge.code)
    link = verified.link_for(EMAIL)
    assert link is not None
    assert (link.source, link.verified) == (LinkSource.VERIFIED, True)
    assert contacts.resolve(EMAIL) == verified


def test_wrong_codes_count_and_then_lock(store: Store, clock: FakeClock) -> None:
    """Each wrong code counts; after max_attempts even the right code is refused."""
    contacts = book(store, clock, verification=VerificationPolicy(max_attempts=2))
    contact = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    challenge = contacts.start_verification(contact, PHONE)
    wrong = "000000" if challenge.code != "000000" else "111111"
    for _ in range(2):
        with pytest.raises(VerificationFailed, match="wrong_code"):
            contacts.confirm_code(challenge.id, wrong)
    with pytest.raises(VerificationFailed, match="too_many_attempts"):
        contacts.confirm_code(challenge.id, challenge.code)
    assert not contacts.resolve(PHONE).links[0].verified  # type: ignore[union-attr]
    kinds = [e.kind for e in store.events("default", contact_id=contact.id)]
    assert kinds.count("contact.verification_failed") == 2


def test_codes_expire(store: Store, clock: FakeClock) -> None:
    """A code presented after its ttl is refused and verifies nothing."""
    contacts = book(store, clock)
    contact = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    challenge = contacts.start_verification(contact, PHONE)
    clock.advance(minutes=10)
    before = snapshot(store)
    with pytest.raises(VerificationFailed, match="expired"):
        contacts.confirm_code(challenge.id, challenge.code)
    assert snapshot(store) == before


def test_codes_are_rate_limited_per_address(store: Store, clock: FakeClock) -> None:
    """An address gets at most max_per_window codes per window, whoever asks."""
    contacts = book(store, clock, verification=VerificationPolicy(max_per_window=3))
    contact = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    for _ in range(3):
        contacts.start_verification(contact, PHONE)
    before = snapshot(store)
    with pytest.raises(RateLimited) as caught:
        contacts.start_verification(contact, PHONE)
    assert caught.value.retry_after == 3600
    assert snapshot(store) == before
    contacts.start_verification(contact, EMAIL)  # another address is not limited
    clock.advance(hours=1, seconds=1)
    contacts.start_verification(contact, PHONE)


def test_signed_link_verifies_and_forgeries_fail(store: Store, clock: FakeClock) -> None:
    """A confirm link verifies once; a tampered token or another tenant's secret is refused."""
    contacts = book(store, clock, secret=SECRET)
    contact = contacts.create(EMAIL, LinkSource.CUSTOMER_PROVIDED)
    challenge = contacts.start_verification(contact, EMAIL)
    url = challenge.confirm_url("https://example.com/verify")
    token = url.partition("token=")[2]
    assert token == challenge.link_token
    before = snapshot(store)
    for forged in (token[:-2] + "xx", "nonsense", challenge.id + ".AAAA"):
        with pytest.raises(VerificationFailed, match="bad_signature"):
            contacts.confirm_link(forged)
    with pytest.raises(VerificationFailed, match="bad_signature"):
        book(store, clock, tenant="other", secret=SECRET).confirm_link(token)
    with pytest.raises(VerificationFailed, match="bad_signature"):
        book(store, clock, secret=b"another-secret").confirm_link(token)
    assert snapshot(store) == before
    assert contacts.confirm_link(token).links[0].verified
    with pytest.raises(VerificationFailed, match="used"):
        contacts.confirm_link(token)


def test_verified_on_both_sides_merges_automatically(store: Store, clock: FakeClock) -> None:
    """When the other holder's link is verified too, confirming merges the two contacts."""
    contacts = book(store, clock)
    holder = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    contacts.confirm_code(*_code(contacts.start_verification(holder, PHONE)))
    clock.advance(minutes=1)
    author = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    survivor = contacts.confirm_code(*_code(contacts.start_verification(author, PHONE)))
    assert survivor.id == holder.id
    assert set(survivor.identities) == {PHONE, X_JANE}
    assert contacts.get(author.id).merged_into == holder.id  # type: ignore[union-attr]
    assert contacts.proposals() == []


def test_unverified_holder_gets_a_proposal_not_a_merge(store: Store, clock: FakeClock) -> None:
    """When the other holder's link is unverified, confirming records a proposal only."""
    contacts = book(store, clock)
    holder = contacts.create(PHONE, LinkSource.CRM_IMPORT)
    author = contacts.create(X_JANE, LinkSource.PROVIDER_ATTESTED)
    contacts.confirm_code(*_code(contacts.start_verification(author, PHONE)))
    assert contacts.resolve(PHONE) == contacts.get(holder.id)
    assert contacts.get(author.id).merged_into is None  # type: ignore[union-attr]
    (proposal,) = contacts.proposals()
    assert set(proposal.contact_ids) == {holder.id, author.id}
    assert proposal.reason == "verified_claim_conflicts"


def _code(challenge: object) -> tuple[str, str]:
    return challenge.id, challenge.code  # type: ignore[attr-defined]


class _Racing:
    """Wraps a store: just before the first verification's commit, ``meanwhile`` runs.

    What another thread or process asking for a code at the same moment does: its
    count, like ours, saw no code yet, and it writes first.
    """

    def __init__(self, store: Store) -> None:
        self._store = store
        self.meanwhile: Callable[[], object] | None = None

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    def commit(self, changes: Changes) -> list[OutboxItem]:
        if changes.verifications and self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        return self._store.commit(changes)


def test_codes_asked_for_at_once_still_respect_the_cap(store: Store, clock: FakeClock) -> None:
    """An SMS pumping attack asks from many threads at once: the cap holds, not cap + N."""
    racing = _Racing(store)
    contacts = book(racing, clock, verification=VerificationPolicy(max_per_window=1))  # type: ignore[arg-type]
    contact = contacts.create(PHONE, LinkSource.CUSTOMER_PROVIDED)
    racing.meanwhile = lambda: contacts.start_verification(contact, PHONE)
    with pytest.raises(RateLimited):
        contacts.start_verification(contact, PHONE)
    assert store.count_verifications("default", PHONE, clock.now()) == 1
