"""Whose a consent record on a shared address is: its case's person's, else the holder's.

Consent belongs to an address, yet two people can use one: a household's
landline, a number somebody gave on their case while another contact holds it
(left to an agent as a merge proposal). A record made on a case
(``ConsentRecord.handoff_id``) was given by that case's person; one on no case
(a STOP texted in, a grant through the API) is the address's, so its holder's.
Export and erasure go by that (``_erasure``):

- erasing the holder keeps what is another living person's on the address:
  the consent records and messages of their cases, their verification
  challenges to it, the merge proposals naming them and it. The rest goes as
  before, and an address nobody else uses goes whole;
- erasing a person who gave somebody else's address on their case replaces
  the records of their cases there by proofs, and leaves the address's other
  records (its holder's) alone.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from escalate._identity import Identity, IdentityKind
from escalate.identity._merge import survivor_of

if TYPE_CHECKING:
    from escalate._models import Handoff
    from escalate.consent._records import ConsentRecord
    from escalate.store._protocol import Store

__all__ = ["Sharers", "cases_elsewhere", "sharers"]


@dataclass(frozen=True)
class Sharers:
    """The other living people who use each of a person's addresses through a case.

    Attributes:
        cases: address -> the ids of those people's cases on it.
        contacts: address -> the ids of their live contacts.
    """

    cases: Mapping[Identity, frozenset[str]] = field(default_factory=dict)
    contacts: Mapping[Identity, frozenset[str]] = field(default_factory=dict)

    def keeps(self, store: Store, tenant: str, address: Identity, contact_id: str) -> bool:
        """Whether a record of ``contact_id`` (or of a contact merged into it) on
        ``address`` belongs to one of them."""
        users = self.contacts.get(address)
        if not users:
            return False
        found = store.get_contact(tenant, contact_id)
        live = survivor_of(store, found) if found is not None else None
        return live is not None and live.id in users

    def owns(self, record: ConsentRecord) -> bool:
        """Whether the consent record was given on one of their cases."""
        return record.handoff_id in self.cases.get(record.address, frozenset())


def sharers(
    store: Store,
    tenant: str,
    person: Collection[str],
    own_cases: Collection[str],
    addresses: Iterable[Identity],
) -> Sharers:
    """Who else uses ``addresses``: the live contacts, not the person's, of the cases
    that recorded consent on one of them or have messages queued or sent to it.

    A contact erased since (it holds no link) uses nothing: what its cases left
    on the address goes with the person's.

    Args:
        person: the ids of the person's contacts (theirs and those merged into it).
        own_cases: the ids of the person's cases.
    """
    wanted = [a for a in dict.fromkeys(addresses) if a.kind is not IdentityKind.SOCIAL]
    if not wanted:
        return Sharers()
    by_rows: dict[Identity, set[str]] = {}
    for item in store.outbox(tenant):
        to = getattr(item.command, "to", None)
        if item.handoff_id is not None and to in wanted:
            by_rows.setdefault(to, set()).add(item.handoff_id)
    cases: dict[Identity, frozenset[str]] = {}
    contacts: dict[Identity, frozenset[str]] = {}
    for address in wanted:
        ids = {r.handoff_id for r in store.consent_records(tenant, address) if r.handoff_id}
        ids = (ids | by_rows.get(address, set())) - set(own_cases)
        found: dict[str, str] = {}
        for handoff_id in sorted(ids):
            user = _living_user(store, tenant, handoff_id)
            if user is not None and user not in person:
                found[handoff_id] = user
        if found:
            cases[address] = frozenset(found)
            contacts[address] = frozenset(found.values())
    return Sharers(cases, contacts)


def _living_user(store: Store, tenant: str, handoff_id: str) -> str | None:
    """The live contact of a case, unless erased (an erased contact holds no link)."""
    handoff = store.get_handoff(tenant, handoff_id)
    if handoff is None or handoff.contact_id is None:
        return None
    contact = store.get_contact(tenant, handoff.contact_id)
    live = survivor_of(store, contact) if contact is not None else None
    return live.id if live is not None and live.links else None


def cases_elsewhere(
    store: Store, handoffs: Iterable[Handoff], addresses: Collection[Identity]
) -> dict[Identity, list[ConsentRecord]]:
    """The consent records the person's cases made on addresses not among theirs.

    A case's customer may give a number another contact holds: the grant they
    gave there is theirs. Those addresses are the cases' own and those their
    messages went to.
    """
    handoffs = list(handoffs)
    ids = {handoff.id for handoff in handoffs}
    places: dict[Identity, None] = {}
    for handoff in handoffs:
        if handoff.address is not None:
            places.setdefault(handoff.address)
        for item in store.outbox(handoff.tenant, handoff_id=handoff.id):
            to = getattr(item.command, "to", None)
            if isinstance(to, Identity):
                places.setdefault(to)
    found: dict[Identity, list[ConsentRecord]] = {}
    for address in places:
        if address in addresses or address.kind is IdentityKind.SOCIAL:
            continue
        tenant = handoffs[0].tenant
        mine = [r for r in store.consent_records(tenant, address) if r.handoff_id in ids]
        if mine:
            found[address] = mine
    return found
