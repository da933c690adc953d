"""Merging contacts, as pure functions from stored records to a ``Changes``, and merge chains.

The ``ContactBook`` reads, these functions decide, one ``store.commit`` writes. Keeping
them pure makes the hard rules (who survives) testable without a store. Following
a contact up the contacts it was merged into (``lineage``) is here too: undoing a
merge is in ``_unmerge.py``.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from escalate._exceptions import InvalidInput
from escalate._identity import Identity
from escalate._ids import new_id
from escalate._models import Event
from escalate.identity._contact import Contact, Link, Unlinked, unlinked_except
from escalate.identity._records import MergeRecord
from escalate.store._changes import Changes

if TYPE_CHECKING:
    from escalate.store._protocol import Store

__all__ = [
    "choose_survivor",
    "contact_event",
    "lineage",
    "merge_changes",
    "merged_contact_ids",
    "survivor_of",
    "unlinked_from",
]

#: Longer merge chains than this are a loop (or a bug), not a person's history.
_MAX_CHAIN = 10_000


def lineage(store: Store, contact: Contact | None) -> Iterator[Contact | None]:
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
    *_, live = lineage(store, contact)
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
    for contact in lineage(store, store.get_contact(tenant, contact_id)):
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


def _rejoined(unlinked: Sequence[Unlinked], links: Sequence[Link]) -> tuple[Unlinked, ...]:
    """``unlinked`` less the unmerges' records of identities ``links`` (the merged contact's) hold.

    A merge says the contact is the one holding them after all: the unmerge's
    record is void, as ``link`` voids an unlink's. An unlink's record stays,
    dormant, for an undo of this merge to bring back (``Contact.unlinked_for``).
    Should the address leave the merged contact again, whatever takes it (an
    unlink, an unmerge) records it again.
    """
    return unlinked_except(unlinked, (link.identity for link in links), unmerges_only=True)
