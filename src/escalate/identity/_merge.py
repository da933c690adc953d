"""Merging and unmerging contacts, as pure functions from stored records to a ``Changes``.

The ``ContactBook`` reads, these functions decide, one ``store.commit`` writes. Keeping
them pure makes the hard rules (who survives, what goes back where on undo) testable
without a store.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from escalate._exceptions import InvalidInput
from escalate._identity import Identity, IdentityKind
from escalate._ids import new_id
from escalate._models import Event
from escalate.identity._contact import Contact, Link, Unlinked
from escalate.identity._records import MergeRecord
from escalate.store._changes import Changes

if TYPE_CHECKING:
    from escalate.store._protocol import Store

__all__ = [
    "choose_survivor",
    "contact_event",
    "merge_changes",
    "merged_contact_ids",
    "survivor_of",
    "unlinked_from",
    "unmerge_changes",
]

#: Longer merge chains than this are a loop (or a bug), not a person's history.
_MAX_CHAIN = 10_000


def _lineage(store: Store, contact: Contact | None) -> Iterator[Contact | None]:
    """``contact``, then each contact it was merged into, up to the live one.

    Ends with ``None`` when a contact on the way is missing.

    Raises:
        InvalidInput: a chain longer than 10,000 merges.
    """
    current = contact
    for _ in range(_MAX_CHAIN):
        yield current
        if current is None or current.merged_into is None:
            return
        current = store.get_contact(current.tenant, current.merged_into)
    raise InvalidInput("merge chain too long")  # pragma: no cover - needs 10,000 merges


def survivor_of(store: Store, contact: Contact) -> Contact | None:
    """The live contact ``contact`` is, or was merged into (following tombstones).

    ``None`` when a contact on the way is missing.

    Raises:
        InvalidInput: a chain longer than 10,000 merges.
    """
    *_, live = _lineage(store, contact)
    return live


def unlinked_from(
    store: Store, tenant: str, contact_id: str, identity: Identity, owner: Contact | None
) -> bool:
    """Whether ``identity`` was unlinked from the contact and is not linked to it now.

    Follows merges: the contact, or one it was merged into since, may be the one
    the identity was unlinked from (or that an unmerge took it from), and the
    live one holds its identities now. An identity neither the contact nor one
    it was merged with held (a number another contact holds, given to a case
    and left to an agent as a merge proposal) was not unlinked from it.

    Args:
        owner: the live contact holding ``identity`` now (``resolve_identity``),
            read by the caller; when it is the contact itself, nothing is read.
    """
    if owner is not None and owner.id == contact_id:
        return False
    unlinked = False
    for contact in _lineage(store, store.get_contact(tenant, contact_id)):
        if contact is None:
            break
        if owner is not None and owner.id == contact.id:
            return False  # linked to the contact its own was merged into
        unlinked = unlinked or contact.unlinked_for(identity) is not None
    return unlinked


def merged_contact_ids(store: Store, tenant: str, contact_id: str) -> list[str]:
    """``contact_id`` and every contact merged into it, directly or through others.

    A merge leaves a handoff on the contact it opened for (so an unmerge can put
    everything back): what the person did under those contacts is theirs.
    """
    found: list[str] = []
    pending = [contact_id]
    while pending:
        current = pending.pop()
        if current in found:
            continue
        found.append(current)
        pending += [m.absorbed_id for m in store.active_merges_into(tenant, current)]
    return found


def contact_event(
    contact: Contact,
    kind: str,
    at: datetime,
    actor: str = "system",
    *,
    handoff_id: str | None = None,
    identity: Identity | None = None,
    **data: Any,
) -> Event:
    """An audit event about one contact; an identity appears only redacted."""
    if identity is not None:
        data["identity"] = str(identity)
    return Event(
        id=new_id("ev"),
        tenant=contact.tenant,
        kind=kind,
        at=at,
        contact_id=contact.id,
        handoff_id=handoff_id,
        actor=actor,
        data=data,
    )


def choose_survivor(a: Contact, b: Contact) -> tuple[Contact, Contact]:
    """``(survivor, absorbed)``: the older contact survives, ties broken by id.

    Deterministic and independent of argument order, so ``merge(a, b)`` and
    ``merge(b, a)`` keep the same contact id, which is the one handoffs and CRM
    records most likely already point at.
    """
    first, second = sorted((a, b), key=lambda contact: (contact.created_at, contact.id))
    return first, second


def merge_changes(
    a: Contact, b: Contact, *, reason: str, actor: str, at: datetime
) -> tuple[Contact, MergeRecord, Changes]:
    """The survivor's next version, the merge record and the change that writes both.

    Callers check first that both are live, distinct and of one tenant.
    """
    survivor, absorbed = choose_survivor(a, b)
    links = (*survivor.links, *absorbed.links)
    merged = survivor.model_copy(
        update={
            "links": links,
            "unlinked": _rejoined(survivor.unlinked, links),
            "version": survivor.version + 1,
            # A known zone is the person's (quiet hours read it over the number's):
            # merged into a contact without one, it would be lost.
            "time_zone": survivor.time_zone or absorbed.time_zone,
        }
    )
    tombstone = absorbed.model_copy(
        update={
            "links": (),
            "unlinked": _rejoined(absorbed.unlinked, links),
            "merged_into": survivor.id,
            "version": absorbed.version + 1,
        }
    )
    record = MergeRecord(
        id=new_id("mg"),
        tenant=survivor.tenant,
        survivor_id=survivor.id,
        absorbed_id=absorbed.id,
        reason=reason,
        actor=actor,
        at=at,
        survivor_before=survivor,
        absorbed_before=absorbed,
    )
    events = (
        contact_event(
            merged,
            "contact.merged",
            at,
            actor,
            merge_id=record.id,
            absorbed_id=absorbed.id,
            reason=reason,
            identities=len(merged.links),
        ),
        contact_event(
            tombstone,
            "contact.merged_away",
            at,
            actor,
            merge_id=record.id,
            merged_into=survivor.id,
            reason=reason,
        ),
    )
    changes = Changes(contacts=(merged, tombstone), merges=(record,), events=events)
    return merged, record, changes


def unmerge_changes(
    record: MergeRecord,
    *,
    root: Contact,
    absorbed: Contact,
    origins: set[str],
    actor: str,
    at: datetime,
) -> tuple[Contact, Contact, Changes]:
    """Give the absorbed contact back what it had, plus what was linked to it since.

    Args:
        record: the active merge to undo.
        root: the live contact that now holds the merged identities (the survivor,
            or whatever the survivor was merged into later).
        absorbed: the tombstone to bring back.
        origins: the absorbed contact's id and the ids of contacts merged into it
            (still merged): a link made for one of them after the merge goes back.

    Returns:
        ``(root after, absorbed after, changes)``. Links that were the absorbed
        contact's before the merge go back with their current provenance (a link
        verified since stays verified); identities unlinked since stay unlinked,
        and are recorded as unlinked on both; links made for the survivor since
        stay with it. Each side records the phones and emails the other keeps as
        unlinked from it (``Unlinked.merge_id``): they are somebody else's now.
    """
    own = {link.identity.key for link in record.absorbed_before.links}
    moving: list[Link] = []
    staying: list[Link] = []
    for link in root.links:
        if link.identity.key in own or link.origin in origins:
            moving.append(
                link.model_copy(update={"origin": None}) if link.origin == absorbed.id else link
            )
        else:
            staying.append(link)
    zone = root.time_zone
    inherited = record.survivor_before.time_zone is None and zone is not None
    if root.id == record.survivor_id and inherited and zone == record.absorbed_before.time_zone:
        zone = None  # the zone came with the merge: it goes back with it
    # The absorbed contact's identities unlinked while merged go back as unlinked,
    # since its cases may have queued messages to them; the root keeps its record
    # too, since its cases may have used them (a fallback reads the live contact).
    unlinked = [
        gone
        for gone in root.unlinked
        if (gone.identity.key in own or gone.origin in origins)
        and absorbed.unlinked_for(gone.identity) is None
    ]
    # While merged, either side's cases may have used the other's phones and
    # emails (a fallback, an agent's message): the unmerge says they belong to
    # somebody else, which is what an unlink says. The root's records are for the
    # survivor's cases, which follow to the root; undoing the merge that took the
    # survivor into the root gives them back to it (``origin``).
    root_parted = _parted(
        root.unlinked,
        moving,
        record.id,
        actor,
        at,
        origin=None if root.id == record.survivor_id else record.survivor_id,
    )
    restored_kept = _not_held((*absorbed.unlinked, *unlinked), moving)
    restored_parted = _parted(restored_kept, staying, record.id, actor, at, origin=None)
    root_after = root.model_copy(
        update={
            "links": tuple(staying),
            "unlinked": (*root.unlinked, *root_parted),
            "version": root.version + 1,
            "time_zone": zone,
        }
    )
    restored = absorbed.model_copy(
        update={
            "links": tuple(moving),
            "unlinked": (*restored_kept, *restored_parted),
            "merged_into": None,
            "version": absorbed.version + 1,
        }
    )
    undone = record.model_copy(update={"undone_at": at, "undone_by": actor})
    events = (
        contact_event(
            root_after,
            "contact.unmerged",
            at,
            actor,
            merge_id=record.id,
            restored_id=restored.id,
            identities_returned=len(moving),
            addresses_unlinked=len(root_parted),
        ),
        contact_event(
            restored,
            "contact.restored",
            at,
            actor,
            merge_id=record.id,
            identities=len(moving),
            addresses_unlinked=len(restored_parted),
        ),
    )
    return (
        root_after,
        restored,
        Changes(contacts=(root_after, restored), merges=(undone,), events=events),
    )


def _not_held(unlinked: Sequence[Unlinked], links: Sequence[Link]) -> tuple[Unlinked, ...]:
    """The records of ``unlinked`` whose identity ``links`` do not hold.

    A link made for the absorbed contact since the merge took the identity back
    for it, as ``link`` does for a live contact.
    """
    if not unlinked:
        return ()
    held = {link.identity.key for link in links}
    return tuple(gone for gone in unlinked if gone.identity.key not in held)


def _parted(
    kept: Sequence[Unlinked],
    links: Sequence[Link],
    merge_id: str,
    actor: str,
    at: datetime,
    *,
    origin: str | None,
) -> tuple[Unlinked, ...]:
    """A record of each phone and email of ``links`` (the other side's) ``kept`` lacks.

    A record ``kept`` already has (an unlink's, dormant while the merge gave the
    address back) says the same and stays.
    """
    known = {gone.identity.key for gone in kept}
    return tuple(
        Unlinked(identity=link.identity, at=at, actor=actor, origin=origin, merge_id=merge_id)
        for link in links
        if link.identity.kind is not IdentityKind.SOCIAL and link.identity.key not in known
    )


def _rejoined(unlinked: Sequence[Unlinked], links: Sequence[Link]) -> tuple[Unlinked, ...]:
    """``unlinked`` less the unmerges' records of identities ``links`` (the merged contact's) hold.

    A merge says the contact is the one holding them after all: the unmerge's
    record is void, as ``link`` voids an unlink's. An unlink's record stays,
    dormant, for an undo of this merge to bring back (``Contact.unlinked_for``).
    """
    if not unlinked:
        return ()
    held = {link.identity.key for link in links}
    return tuple(
        gone for gone in unlinked if gone.merge_id is None or gone.identity.key not in held
    )
