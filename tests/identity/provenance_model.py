"""The model and invariants of ``test_provenance_machine.py``: contacts as maps from
identity to the evidence its link carries; the rules are in the test module."""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant

from escalate import (
    Contact,
    EscalateError,
    Escalator,
    Identity,
    IdentityKind,
)
from escalate.identity import LinkSource, VerificationPolicy
from escalate.store import MemoryStore, Store
from escalate.testing import FakeClock

TENANT = "acme"
PHONES = tuple(Identity.phone(f"+1415555{n:04d}") for n in range(200, 204))
EMAILS = tuple(Identity.email(f"p{n}@example.com") for n in range(3))
SOCIALS = tuple(Identity.social("x", str(n), f"h{n}") for n in range(1, 4))
POOL = (*PHONES, *EMAILS, *SOCIALS)
SOURCES = [s for s in LinkSource if s is not LinkSource.VERIFIED]

identities = st.sampled_from(POOL)
addresses = st.sampled_from((*PHONES, *EMAILS))
sources = st.sampled_from(SOURCES)
confidences = st.sampled_from([0.25, 0.5, 1.0])
picks = st.integers(min_value=0, max_value=1_000)
handles = st.sampled_from(["renamed", "other_name", "h1", "h2"])


@dataclass(frozen=True)
class Evidence:
    """What the model knows of one link."""

    source: LinkSource
    verified: bool
    confidence: float
    actor: str


def evidence_of(contact: Contact) -> dict[Identity, Evidence]:
    return {
        link.identity: Evidence(link.source, link.verified, link.confidence, link.actor)
        for link in contact.links
    }


class ProvenanceModel(RuleBasedStateMachine):
    def make_store(self) -> Store:
        return MemoryStore()

    @initialize()
    def setup(self) -> None:
        self.store = self.make_store()
        self.clock = FakeClock()
        self.esc = Escalator(
            self.store,
            tenant=TENANT,
            clock=self.clock,
            dispatch_immediately=False,
            identity_secret=b"provenance-secret",
        )
        self.book = self.esc.contacts
        self.book.verification = VerificationPolicy(max_per_window=10_000)
        #: The model: live contact id -> identity -> evidence.
        self.live: dict[str, dict[Identity, Evidence]] = {}
        #: Tombstone id -> the contact it was merged into.
        self.merged_into: dict[str, str] = {}
        #: Every contact id made, in order (tombstones too).
        self.ids: list[str] = []
        #: The merges not undone.
        self.active: set[str] = set()
        #: Merges in the order made: (id, survivor, absorbed, each side's link births).
        self.merges: list[tuple[str, str, str, dict[Identity, int], dict[Identity, int]]] = []
        #: Social display handles, as last linked.
        self.handles: dict[Identity, str | None] = {i: i.handle for i in SOCIALS}
        self.versions: dict[str, int] = {}
        #: Challenges issued and not used: (id, code, link token, contact id, identity).
        self.challenges: list[tuple[str, str, str | None, str, Identity]] = []
        #: Each live link's birth (a counter: a link unlinked and linked again is new)
        #: and the contact it was made for (a tombstone: for it, through its survivor).
        self.births: dict[Identity, int] = {}
        #: The last birth given: never reused, whatever was unlinked or erased since.
        self.last_birth = 0
        self.made_for: dict[Identity, str] = {}

    def teardown(self) -> None:
        if hasattr(self, "store"):
            self.store.close()

    # -- helpers -----------------------------------------------------------------

    def _owner(self, identity: Identity) -> str | None:
        return next((cid for cid, held in self.live.items() if identity in held), None)

    def _survivor(self, cid: str) -> str:
        while cid in self.merged_into:
            cid = self.merged_into[cid]
        return cid

    def _pick_live(self, index: int) -> str | None:
        live = sorted(self.live)
        return live[index % len(live)] if live else None

    def _pick_any(self, index: int) -> str:
        return self.ids[index % len(self.ids)]

    def _state(self) -> object:
        return (
            [e.id for e in self.store.events(TENANT)],
            [self.book.get(cid) for cid in self.ids],
            [self.book.resolve(identity) for identity in POOL],
            self.store.merge_proposals(TENANT),
            [self.store.get_merge(TENANT, m) for m in sorted(self.active)],
        )

    def _refused(self, call: object, *errors: type[EscalateError]) -> None:
        before = self._state()
        try:
            call()  # type: ignore[operator]
        except errors:
            assert self._state() == before, "a refused verb changed something"
            return
        raise AssertionError(f"expected one of {errors}")

    def _merged(self, survivor: str, absorbed: str, merge_id: str) -> None:
        self.active.add(merge_id)
        self.merges.append(
            (
                merge_id,
                survivor,
                absorbed,
                {i: self.births[i] for i in self.live[survivor]},
                {i: self.births[i] for i in self.live[absorbed]},
            )
        )
        self.live[survivor].update(self.live.pop(absorbed))
        self.merged_into[absorbed] = survivor

    def _older(self, a: str, b: str) -> tuple[str, str]:
        ca, cb = self.book.get(a), self.book.get(b)
        assert ca is not None
        assert cb is not None
        first, second = sorted((ca, cb), key=lambda c: (c.created_at, c.id))
        return first.id, second.id

    def _born(self, identity: Identity, for_id: str) -> None:
        # A counter, not a value worked out from the births left: with the newest link
        # unlinked, that gave its birth again to its relink, which the model then took
        # for the link the absorbed contact had at a merge (so, going back to it).
        self.last_birth += 1
        self.births[identity] = self.last_birth
        self.made_for[identity] = for_id

    def _chain(self, cid: str) -> list[str]:
        chain = [cid]
        while chain[-1] in self.merged_into:
            chain.append(self.merged_into[chain[-1]])
        return chain

    def _tick(self) -> None:
        self.clock.advance(seconds=1)

    # -- invariants -------------------------------------------------------------

    @invariant()
    def resolve_agrees_with_the_model(self) -> None:
        if not hasattr(self, "store"):
            return
        for identity in POOL:
            resolved = self.book.resolve(identity)
            owner = self._owner(identity)
            assert (None if resolved is None else resolved.id) == owner, identity
        holders: dict[Identity, int] = {}
        for cid in self.ids:
            contact = self.book.get(cid)
            assert contact is not None
            for identity in contact.identities:
                holders[identity] = holders.get(identity, 0) + 1
        assert all(count == 1 for count in holders.values())

    @invariant()
    def contacts_agree_with_the_model(self) -> None:
        if not hasattr(self, "store"):
            return
        for cid in self.ids:
            contact = self.book.get(cid)
            assert contact is not None
            if cid in self.merged_into:
                assert contact.merged_into == self.merged_into[cid]
                assert contact.links == ()
                assert self.book.live(cid).id == self._survivor(cid)
            else:
                assert contact.merged_into is None
                assert evidence_of(contact) == self.live[cid], cid
                for link in contact.links:
                    assert link.verified is (link.verified_at is not None)
                    if link.identity.kind is IdentityKind.SOCIAL:
                        assert link.verified is False

    @invariant()
    def versions_only_grow(self) -> None:
        if not hasattr(self, "store"):
            return
        for cid in self.ids:
            contact = self.book.get(cid)
            assert contact is not None
            assert contact.version >= self.versions.get(cid, 1)
            self.versions[cid] = contact.version

    @invariant()
    def no_merge_but_those_asked_for(self) -> None:
        if not hasattr(self, "store"):
            return
        active = {m.id for cid in self.ids for m in self.store.active_merges_into(TENANT, cid)}
        assert active == self.active
