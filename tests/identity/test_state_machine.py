"""A hypothesis state machine over link/unlink/merge/unmerge, in two tenants on one store.

Links are made by ``link``, by a verification and by a case's ``contact_provided``,
to a live contact or (through its survivor) to one merged away.

Invariants at every step: an identity resolves to at most one live contact per
tenant (and that contact holds it); tombstones hold nothing; no tenant sees
another's contacts; unmerge(merge(a, b)) restores a and b; refused verbs change nothing;
an unlinked phone or email is recorded on the contact until it is linked to it again;
an unmerge unlinks each side's phones and emails from the other side's cases, until
a merge or a link gives them back (no live contact keeps an unmerge's record of an
identity it holds). After any sequence (merges redone, in either direction, and undone
again, chains of unmerges in any order), no case reaches an address its contact lost
by an unlink or an unmerge, unless the address was linked to the contact again since
or the contact is merged with the one holding it.
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from escalate import (
    Contact,
    ContactMerged,
    CrossTenantError,
    Escalator,
    Identity,
    IdentityKind,
    IdentityTaken,
    InvalidInput,
    Link,
    NotFound,
)
from escalate.identity import VerificationPolicy
from escalate.identity._merge import merged_contact_ids, unlinked_from
from escalate.store import MemoryStore, SQLiteStore, Store
from escalate.testing import FakeClock
from tests.conftest import WEB_FORM_CONSENT, make_thread

TENANTS = ("acme", "globex")
POOL = (
    *(Identity.phone(f"+1415555{n:04d}") for n in range(100, 104)),
    *(Identity.email(f"user{n}@example.com") for n in range(3)),
    *(Identity.social("x", str(n)) for n in range(1, 4)),
)
identities = st.sampled_from(POOL)
addresses = st.sampled_from([i for i in POOL if i.kind is not IdentityKind.SOCIAL])
authors = st.sampled_from([i for i in POOL if i.kind is IdentityKind.SOCIAL])
tenants = st.sampled_from(TENANTS)
picks = st.integers(min_value=0, max_value=1_000)


class IdentityMachine(RuleBasedStateMachine):
    """Drives two tenants' ContactBooks over one store and checks the invariants."""

    def make_store(self) -> Store:
        return MemoryStore()

    @initialize()
    def setup(self) -> None:
        self.store = self.make_store()
        self.clock = FakeClock()
        self.desks = {
            t: Escalator(
                self.store,
                tenant=t,
                clock=self.clock,
                dispatch_immediately=False,
                identity_secret=b"machine-secret",
            )
            for t in TENANTS
        }
        self.books = {t: desk.contacts for t, desk in self.desks.items()}
        for book in self.books.values():
            book.verification = VerificationPolicy(max_per_window=10_000)
        self.ids: dict[str, list[str]] = {t: [] for t in TENANTS}
        self.merges: dict[str, list[str]] = {t: [] for t in TENANTS}
        #: Merges undone, as (survivor id, absorbed id): to merge the pair again.
        self.undone: dict[str, list[tuple[str, str]]] = {t: [] for t in TENANTS}
        #: Cases waiting for contact details: (handoff id, its contact's id).
        self.cases: dict[str, list[tuple[str, str]]] = {t: [] for t in TENANTS}
        self.threads = 0
        #: The model: the addresses each contact's cases lost (by an unlink or an
        #: unmerge) and were not given back by a link or a verification since.
        self.lost: dict[str, dict[str, set[Identity]]] = {t: {} for t in TENANTS}

    def teardown(self) -> None:
        if hasattr(self, "store"):
            self.store.close()

    # -- helpers -----------------------------------------------------------------

    def _pick(self, tenant: str, index: int) -> Contact:
        ids = self.ids[tenant]
        contact = self.books[tenant].get(ids[index % len(ids)])
        assert contact is not None
        return contact

    def _state(self) -> object:
        return [
            (
                [e.id for e in self.store.events(t)],
                [self.books[t].get(cid) for cid in self.ids[t]],
                [self.books[t].resolve(identity) for identity in POOL],
            )
            for t in TENANTS
        ]

    def _tick(self) -> None:
        self.clock.advance(seconds=1)

    def _lose(self, tenant: str, live_id: str, lost: tuple[Identity, ...]) -> None:
        """The cases of every contact that is, or was merged into, ``live_id`` lose ``lost``."""
        book = self.books[tenant]
        for cid in self.ids[tenant]:
            if book.live(cid).id == live_id:
                self.lost[tenant].setdefault(cid, set()).update(
                    i for i in lost if i.kind is not IdentityKind.SOCIAL
                )

    def _regain(self, tenant: str, contact_id: str, identity: Identity) -> None:
        """``identity`` linked for ``contact_id`` (held by its live contact): usable again."""
        for cid in {contact_id, self.books[tenant].live(contact_id).id}:
            self.lost[tenant].get(cid, set()).discard(identity)

    def _unmerged(self, tenant: str, kept: Contact, restored: Contact) -> None:
        """An unmerge: each side's cases lose the other side's phones and emails."""
        self._lose(tenant, kept.id, restored.identities)
        self._lose(tenant, restored.id, kept.identities)

    def _check_parted(
        self, tenant: str, survivor_id: str, kept: Contact, restored: Contact
    ) -> None:
        """No case of either side of an undone merge may use the other side's phones and emails."""
        for case_contact, other in ((survivor_id, restored), (restored.id, kept)):
            for identity in other.identities:
                if identity.kind is not IdentityKind.SOCIAL:
                    assert unlinked_from(self.store, tenant, case_contact, identity, other)

    # -- rules ------------------------------------------------------------------

    @rule(tenant=tenants, identity=identities)
    def create(self, tenant: str, identity: Identity) -> None:
        book = self.books[tenant]
        owner = book.resolve(identity)
        if owner is not None:
            before = self._state()
            try:
                book.create(identity, "crm_import")
            except IdentityTaken:
                assert self._state() == before
                return
            raise AssertionError("create() took a held identity")
        self.ids[tenant].append(book.create(identity, "crm_import").id)
        self._tick()

    @precondition(lambda self: any(self.ids.values()))
    @rule(tenant=tenants, index=picks, identity=identities)
    def link(self, tenant: str, index: int, identity: Identity) -> None:
        if not self.ids[tenant]:
            return
        book = self.books[tenant]
        contact = self._pick(tenant, index)  # may be a tombstone: links go to its survivor
        live = book.live(contact)
        owner = book.resolve(identity)
        if owner is not None and owner.id != live.id:
            before = self._state()
            try:
                book.link(contact, identity, "agent_entered")
            except IdentityTaken:
                assert self._state() == before
                return
            raise AssertionError("link() took a held identity")
        book.link(contact, identity, "agent_entered")
        assert book.resolve(identity).id == live.id  # type: ignore[union-attr]
        assert book.live(contact).unlinked_for(identity) is None  # linked again: usable again
        self._regain(tenant, contact.id, identity)
        self._tick()

    @precondition(lambda self: any(self.ids.values()))
    @rule(tenant=tenants, index=picks, identity=addresses)
    def verify(self, tenant: str, index: int, identity: Identity) -> None:
        """A verification for a contact (maybe merged away) of a free address, or one it holds."""
        if not self.ids[tenant]:
            return
        book = self.books[tenant]
        contact = self._pick(tenant, index)
        live = book.live(contact)
        owner = book.resolve(identity)
        if owner is not None and owner.id != live.id:
            return  # a merge or a proposal, not a link
        free = owner is None
        challenge = book.start_verification(contact, identity)
        assert challenge.link_token is not None
        verified = book.confirm_link(challenge.link_token)  # a code costs a second hash
        assert verified.id == live.id
        link = verified.link_for(identity)
        assert link is not None
        assert link.verified
        if free:  # linked for the contact the verification was for
            assert link.origin == (None if live.id == contact.id else contact.id)
        self._regain(tenant, contact.id, identity)
        self._tick()

    @rule(tenant=tenants, author=authors)
    def open_case(self, tenant: str, author: Identity) -> None:
        """A case of the author's contact (created with it when new)."""
        self.threads += 1
        user_id = author.value.partition(":")[2]
        thread = make_thread(self.clock, thread_id=str(self.threads), user_id=user_id)
        handoff = self.desks[tenant].open(thread)
        assert handoff.contact_id is not None
        if handoff.contact_id not in self.ids[tenant]:
            self.ids[tenant].append(handoff.contact_id)
        self.cases[tenant].append((handoff.id, handoff.contact_id))
        self._tick()

    @precondition(lambda self: any(self.cases.values()))
    @rule(tenant=tenants, index=picks, identity=addresses)
    def contact_provided(self, tenant: str, index: int, identity: Identity) -> None:
        """The customer of a case gives an address; its contact may be merged away since."""
        cases = self.cases[tenant]
        if not cases:
            return
        handoff_id, contact_id = cases.pop(index % len(cases))
        book = self.books[tenant]
        live = book.live(contact_id)
        owner = book.resolve(identity)
        self.desks[tenant].contact_provided(handoff_id, identity, consent=WEB_FORM_CONSENT)
        if owner is None:  # linked to the live contact, for the case's own
            link = book.live(contact_id).link_for(identity)
            assert link is not None
            assert link.origin == (None if live.id == contact_id else contact_id)
            self._regain(tenant, contact_id, identity)
        self._tick()

    @precondition(lambda self: any(self.ids.values()))
    @rule(tenant=tenants, index=picks, identity=identities)
    def unlink(self, tenant: str, index: int, identity: Identity) -> None:
        if not self.ids[tenant]:
            return
        book = self.books[tenant]
        contact = self._pick(tenant, index)
        if contact.is_tombstone or contact.link_for(identity) is None:
            before = self._state()
            try:
                book.unlink(contact, identity)
            except (ContactMerged, NotFound):
                assert self._state() == before
                return
            raise AssertionError("unlink() accepted a tombstone or a missing identity")
        book.unlink(contact, identity)
        self._lose(tenant, contact.id, (identity,))
        assert book.resolve(identity) is None
        # A phone or email is recorded as unlinked; a social account receives nothing anyway.
        recorded = book.get(contact.id).unlinked_for(identity)  # type: ignore[union-attr]
        assert (recorded is not None) is (identity.kind is not IdentityKind.SOCIAL)
        self._tick()

    @precondition(lambda self: any(self.ids.values()))
    @rule(tenant=tenants, first=picks, second=picks)
    def merge(self, tenant: str, first: int, second: int) -> None:
        if not self.ids[tenant]:
            return
        book = self.books[tenant]
        a, b = self._pick(tenant, first), self._pick(tenant, second)
        if a.id == b.id or a.is_tombstone or b.is_tombstone:
            before = self._state()
            try:
                book.merge(a, b, "test")
            except (ContactMerged, InvalidInput):
                assert self._state() == before
                return
            raise AssertionError("merge() accepted a tombstone or the same contact twice")
        survivor, record = book.merge_with_record(a, b, "test")
        assert set(survivor.identities) == set(a.identities) | set(b.identities)
        assert survivor.id == min((a, b), key=lambda c: (c.created_at, c.id)).id
        self.merges[tenant].append(record.id)
        self._tick()

    @precondition(lambda self: any(self.ids.values()))
    @rule(tenant=tenants, first=picks, second=picks)
    def merge_then_unmerge_restores(self, tenant: str, first: int, second: int) -> None:
        if not self.ids[tenant]:
            return
        book = self.books[tenant]
        a, b = self._pick(tenant, first), self._pick(tenant, second)
        if a.id == b.id or a.is_tombstone or b.is_tombstone:
            return
        _, record = book.merge_with_record(a, b, "test")
        self._tick()
        kept, restored = book.unmerge(record.id)
        self._unmerged(tenant, kept, restored)
        self._check_parted(tenant, record.survivor_id, kept, restored)
        for before in (a, b):
            after = book.get(before.id)
            assert after is not None
            assert (after.links, after.merged_into) == (before.links, before.merged_into)
        self._tick()

    @precondition(lambda self: any(self.merges.values()))
    @rule(tenant=tenants, index=picks)
    def unmerge(self, tenant: str, index: int) -> None:
        merges = self.merges[tenant]
        if not merges:
            return
        book = self.books[tenant]
        record = book.get_merge(merges.pop(index % len(merges)))
        survivor = book.live(record.survivor_id)
        # What goes back: the absorbed contact's links as they were at the merge, and
        # links made since for it (``origin``). A number unlinked since and linked
        # again for the survivor (its own case, an agent) is the survivor's now.
        held = [
            link.identity
            for link in survivor.links
            if link.identity in record.absorbed_before.identities
            and (
                link.origin == record.absorbed_id
                or _as_at_merge(link, record.absorbed_before.link_for(link.identity))
            )
        ]
        kept, restored = book.unmerge(record.id)
        self._unmerged(tenant, kept, restored)
        assert not restored.is_tombstone
        for identity in held:
            assert book.resolve(identity).id == restored.id  # type: ignore[union-attr]
        self._check_parted(tenant, record.survivor_id, kept, restored)
        self.undone[tenant].append((record.survivor_id, record.absorbed_id))
        self._tick()

    @precondition(lambda self: any(self.undone.values()))
    @rule(tenant=tenants, index=picks, reverse=st.booleans())
    def merge_again(self, tenant: str, index: int, reverse: bool) -> None:
        """A merge undone is redone, with the pair in either order."""
        undone = self.undone[tenant]
        if not undone:
            return
        book = self.books[tenant]
        pair = [book.get(cid) for cid in undone[index % len(undone)]]
        a, b = pair[::-1] if reverse else pair
        assert a is not None
        assert b is not None
        if a.is_tombstone or b.is_tombstone:
            return
        survivor, record = book.merge_with_record(a, b, "same person after all")
        assert set(survivor.identities) == set(a.identities) | set(b.identities)
        self.merges[tenant].append(record.id)
        self._tick()

    @precondition(lambda self: all(self.ids.values()))
    @rule(first=picks, second=picks)
    def cross_tenant_merge_is_refused(self, first: int, second: int) -> None:
        a, b = self._pick(TENANTS[0], first), self._pick(TENANTS[1], second)
        before = self._state()
        for call in (
            lambda: self.books[TENANTS[0]].merge(a, b, "test"),
            lambda: self.books[TENANTS[1]].link(a, POOL[0], "agent_entered"),
        ):
            try:
                call()
            except CrossTenantError:
                continue
            raise AssertionError("a verb crossed tenants")
        assert self._state() == before

    # -- invariants -------------------------------------------------------------

    @invariant()
    def one_live_owner_per_identity_and_tenant(self) -> None:
        if not hasattr(self, "store"):
            return
        for tenant in TENANTS:
            book = self.books[tenant]
            contacts: list[Contact] = []
            for cid in self.ids[tenant]:
                contact = book.get(cid)
                assert contact is not None
                assert contact.tenant == tenant
                if contact.is_tombstone:
                    assert contact.links == ()
                contacts.append(contact)
            held: dict[Identity, list[str]] = {}
            for contact in contacts:
                for identity in contact.identities:
                    held.setdefault(identity, []).append(contact.id)
            for identity in POOL:
                holders = held.get(identity, [])
                resolved = book.resolve(identity)
                assert holders == ([] if resolved is None else [resolved.id])
                if resolved is not None:
                    assert resolved.tenant == tenant
                    assert not resolved.is_tombstone

    @invariant()
    def an_unmerges_record_never_outlives_the_identity_coming_back(self) -> None:
        if not hasattr(self, "store"):
            return
        for tenant in TENANTS:
            for cid in self.ids[tenant]:
                contact = self.books[tenant].get(cid)
                assert contact is not None
                if not contact.is_tombstone:
                    parted = {g.identity for g in contact.unlinked if g.merge_id is not None}
                    assert parted.isdisjoint(contact.identities)

    @invariant()
    def no_case_reaches_an_address_its_contact_lost(self) -> None:
        if not hasattr(self, "store"):
            return
        for tenant in TENANTS:
            book = self.books[tenant]
            for cid, lost in self.lost[tenant].items():
                lineage = {cid}
                contact = book.get(cid)
                while contact is not None and contact.merged_into is not None:
                    lineage.add(contact.merged_into)
                    contact = book.get(contact.merged_into)
                # Merged with the contact holding it: the same person. Holding it
                # alone, with nobody merged in, is no merge: it came back without a link.
                merged = len(merged_contact_ids(self.store, tenant, book.live(cid).id)) > 1
                for identity in lost:
                    owner = book.resolve(identity)
                    if owner is not None and owner.id in lineage and merged:
                        continue
                    assert unlinked_from(self.store, tenant, cid, identity, owner), (cid, identity)

    @invariant()
    def tenants_never_see_each_other(self) -> None:
        if not hasattr(self, "store"):
            return
        for tenant, other in (TENANTS, TENANTS[::-1]):
            for cid in self.ids[other]:
                assert self.books[tenant].get(cid) is None


class SQLiteIdentityMachine(IdentityMachine):
    """The same machine on SQLite (shorter run: it is slower)."""

    def make_store(self) -> Store:
        return SQLiteStore(":memory:")


TestIdentityMachineMemory = IdentityMachine.TestCase
# Long enough runs to reach chains of merges and unmerges (about 5 s on a laptop).
TestIdentityMachineMemory.settings = settings(
    max_examples=150, stateful_step_count=50, deadline=None
)
TestIdentityMachineSQLite = SQLiteIdentityMachine.TestCase
TestIdentityMachineSQLite.settings = settings(
    max_examples=15, stateful_step_count=30, deadline=None
)


def _as_at_merge(link: Link, before: Link | None) -> bool:
    """The same link as the absorbed contact's at the merge (verified or renamed since)."""
    return before is not None and (link.at, link.actor, link.source, link.confidence) == (
        before.at,
        before.actor,
        before.source,
        before.confidence,
    )
