"""A hypothesis state machine over link/unlink/merge/unmerge, in two tenants on one store.

Invariants at every step: an identity resolves to at most one live contact per
tenant (and that contact holds it); tombstones hold nothing; no tenant sees
another's contacts; unmerge(merge(a, b)) restores a and b; refused verbs change nothing;
an unlinked phone or email is recorded on the contact until it is linked to it again;
an unmerge unlinks each side's phones and emails from the other side's cases, until
a merge or a link gives them back (no live contact keeps an unmerge's record of an
identity it holds).
"""

from __future__ import annotations

from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from escalate import (
    Contact,
    ContactMerged,
    CrossTenantError,
    Identity,
    IdentityKind,
    IdentityTaken,
    InvalidInput,
    NotFound,
)
from escalate.identity import ContactBook
from escalate.identity._merge import unlinked_from
from escalate.store import MemoryStore, SQLiteStore, Store
from escalate.testing import FakeClock

TENANTS = ("acme", "globex")
POOL = (
    *(Identity.phone(f"+1415555{n:04d}") for n in range(100, 104)),
    *(Identity.email(f"user{n}@example.com") for n in range(3)),
    *(Identity.social("x", str(n)) for n in range(1, 4)),
)
identities = st.sampled_from(POOL)
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
        self.books = {t: ContactBook(self.store, tenant=t, clock=self.clock) for t in TENANTS}
        self.ids: dict[str, list[str]] = {t: [] for t in TENANTS}
        self.merges: dict[str, list[str]] = {t: [] for t in TENANTS}

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
        held = [
            i
            for i in record.absorbed_before.identities
            if book.resolve(i) is not None
            and book.resolve(i).id == book.live(record.survivor_id).id  # type: ignore[union-attr]
        ]
        kept, restored = book.unmerge(record.id)
        assert not restored.is_tombstone
        for identity in held:
            assert book.resolve(identity).id == restored.id  # type: ignore[union-attr]
        self._check_parted(tenant, record.survivor_id, kept, restored)
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
            contacts = [book.get(cid) for cid in self.ids[tenant]]
            for contact in contacts:
                assert contact is not None
                assert contact.tenant == tenant
                if contact.is_tombstone:
                    assert contact.links == ()
            for identity in POOL:
                holders = [
                    c.id for c in contacts if c and not c.is_tombstone and identity in c.identities
                ]
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
TestIdentityMachineMemory.settings = settings(
    max_examples=60, stateful_step_count=30, deadline=None
)
TestIdentityMachineSQLite = SQLiteIdentityMachine.TestCase
TestIdentityMachineSQLite.settings = settings(
    max_examples=12, stateful_step_count=20, deadline=None
)
