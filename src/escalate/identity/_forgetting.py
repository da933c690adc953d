"""What erasing a person changes in the identity records that outlive their contact.

A merge keeps both contacts as they were (to undo it), a proposal the address
both claimed, a verification challenge the address its code went to: each holds
the person's addresses after their contact has let them go (a challenge they
started holds the address they claimed, whoever holds it now). Erasure rewrites
them, in the transaction that empties the contact (``erase_contact``): the
records stay (an undo, a proposal's decision, a challenge's count still mean
something), their addresses go.
"""

from __future__ import annotations

from collections.abc import Callable, Collection
from datetime import datetime
from typing import TYPE_CHECKING

from escalate._identity import Identity, IdentityKind
from escalate.identity._contact import Contact, unlinked_except
from escalate.identity._records import (
    MergeProposal,
    MergeRecord,
    ProposalStatus,
    VerificationRecord,
)

if TYPE_CHECKING:
    from escalate.store._protocol import Store

__all__ = ["Keeps", "forgotten_merges", "forgotten_proposals", "forgotten_verifications"]

#: ``keeps(address, contact_id)``: the address is somebody else's too, and a record
#: of that contact on it is theirs (``consent._sharing``): erasure leaves it.
Keeps = Callable[[Identity, str], bool]


def _nobody(address: Identity, contact_id: str) -> bool:
    return False


def _without(
    snapshot: Contact, person: Collection[str], addresses: Collection[Identity], keeps: Keeps
) -> Contact:
    """A merge's snapshot of a contact, without the person.

    One of the person's own contacts loses every link and record, as the live
    contact does; another keeps all but the person's addresses (it is somebody
    else, who may have held or unlinked one of them), or all of them when it
    still uses them too.
    """
    if snapshot.id in person:
        return snapshot.model_copy(update={"links": (), "unlinked": ()})
    gone = [address for address in addresses if not keeps(address, snapshot.id)]
    links = tuple(link for link in snapshot.links if link.identity not in gone)
    return snapshot.model_copy(
        update={"links": links, "unlinked": unlinked_except(snapshot.unlinked, gone)}
    )


def forgotten_merges(
    store: Store,
    tenant: str,
    person: Collection[str],
    addresses: Collection[Identity],
    *,
    keeps: Keeps = _nobody,
) -> list[MergeRecord]:
    """The merges whose snapshots hold one of ``addresses``, without the person.

    An undo of one then gives the person's contact back nothing, and the other
    side only what was its own.

    Args:
        person: the ids of the person's contacts (theirs and those merged into it).
        addresses: every address erased as theirs, social accounts included (a
            snapshot's social link carries the display handle).
        keeps: which other contacts still use one of them (their snapshots keep it).
    """
    found: dict[str, MergeRecord] = {}
    for address in addresses:
        for merge in store.merges_holding(tenant, address):
            found.setdefault(merge.id, merge)
    return [
        merge.model_copy(
            update={
                "survivor_before": _without(merge.survivor_before, person, addresses, keeps),
                "absorbed_before": _without(merge.absorbed_before, person, addresses, keeps),
            }
        )
        for merge in found.values()
    ]


def forgotten_proposals(
    store: Store,
    tenant: str,
    person: Collection[str],
    addresses: Collection[Identity],
    *,
    now: datetime,
    actor: str,
    keeps: Keeps = _nobody,
) -> list[MergeProposal]:
    """The proposals naming the person (a contact of theirs, or their address), without it.

    An open one is rejected: what it asked a human to decide, whether the person
    is somebody else too, has nobody left to be about. One between others about
    an address one of them still uses is theirs, and stays.
    """
    changed: list[MergeProposal] = []
    for proposal in store.merge_proposals(tenant):
        names_them = bool(set(proposal.contact_ids) & set(person))
        if proposal.identity is None or not (names_them or proposal.identity in addresses):
            continue
        if not names_them and any(keeps(proposal.identity, c) for c in proposal.contact_ids):
            continue
        update: dict[str, object] = {"identity": None}
        if proposal.status is ProposalStatus.OPEN:
            update.update(status=ProposalStatus.REJECTED, decided_at=now, decided_by=actor)
        changed.append(proposal.model_copy(update=update))
    return changed


def forgotten_verifications(
    store: Store,
    tenant: str,
    person: Collection[str],
    addresses: Collection[Identity],
    *,
    keeps: Keeps = _nobody,
) -> list[VerificationRecord]:
    """The challenges issued to ``addresses``, and those the person started for any
    other address, without their address: none can be confirmed since.

    A challenge another contact that still uses the address started is theirs, and
    stays. One the person started for an address somebody else holds (or nobody
    does) is the person's claim to it, and goes like the rest: left, it kept the
    address they typed, and confirming it linked that address to the erased
    contact again (or proposed merging it with the holder).

    Args:
        person: the ids of the person's contacts (theirs and those merged into it).
    """
    found: dict[str, VerificationRecord] = {}
    for address in addresses:
        if address.kind is IdentityKind.SOCIAL:
            continue
        for challenge in store.verifications_of(tenant, address):
            if not keeps(address, challenge.contact_id):
                found.setdefault(challenge.id, challenge)
    for challenge in store.verifications_by(tenant, person):
        if challenge.identity is not None:
            found.setdefault(challenge.id, challenge)
    return [
        challenge.model_copy(update={"identity": None, "version": challenge.version + 1})
        for challenge in found.values()
    ]
