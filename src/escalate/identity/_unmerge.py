"""Undoing a merge: what goes back to the restored contact, and what each side loses.

``unmerge`` reads the merge, the contacts it concerns and the unlinked records the
restored contact's cases were held to while merged; ``unmerge_changes`` (pure)
decides; one ``store.commit`` writes. The rule kept across chains of merges and
unmerges, in any order: a contact's cases never get back an address they lost (by
an unlink, or by an unmerge that left it with the other side) unless it is linked
to the contact again, or a merge makes the contact one with the address's holder.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from escalate._exceptions import UnmergeNotPossible
from escalate._identity import IdentityKind
from escalate.identity._contact import Contact, Link, Unlinked, unlinked_except
from escalate.identity._merge import contact_event, lineage, merged_contact_ids
from escalate.identity._records import MergeRecord
from escalate.store._changes import Changes

if TYPE_CHECKING:
    from escalate.identity._book import ContactBook
    from escalate.store._protocol import Store

__all__ = ["held_while_merged", "merges_above", "unmerge", "unmerge_changes"]


def unmerge(book: ContactBook, merge_id: str, *, actor: str) -> tuple[Contact, Contact]:
    """See ``ContactBook.unmerge``."""
    record = book.get_merge(merge_id)
    if not record.is_active:
        raise UnmergeNotPossible(f"merge {merge_id!r} was already undone")
    absorbed = book._load(record.absorbed_id)
    root = book.live(record.survivor_id)
    above = merges_above(book._store, record)
    root_after, restored, changes = unmerge_changes(
        record,
        root=root,
        absorbed=absorbed,
        origins=set(merged_contact_ids(book._store, book._tenant, absorbed.id)),
        held=held_while_merged(book._store, record, above),
        above=above,
        actor=actor,
        at=book._clock.now(),
    )
    book._store.commit(changes)
    return root_after, restored


def merges_above(store: Store, record: MergeRecord) -> tuple[MergeRecord, ...]:
    """The active merges that took ``record``'s survivor up its chain, to the live contact.

    The merge that absorbed the survivor, then the one that absorbed the contact
    it was merged into, and so on: empty when the survivor is live.
    """
    found: list[MergeRecord] = []
    for above in lineage(store, store.get_contact(record.tenant, record.survivor_id)):
        if above is None or above.merged_into is None:
            break
        joining = next(
            (
                merge
                for merge in store.active_merges_into(record.tenant, above.merged_into)
                if merge.absorbed_id == above.id
            ),
            None,
        )
        if joining is None:  # pragma: no cover - merges are never deleted
            break
        found.append(joining)
    return tuple(found)


def held_while_merged(
    store: Store, record: MergeRecord, above: Sequence[MergeRecord]
) -> tuple[Unlinked, ...]:
    """The unlinked records the absorbed contact's cases were held to through ``record``'s merge.

    While merged, its cases read the records of every contact up its chain: the
    survivor, the contact the survivor was merged into since (``above``, the
    merges that took each there: ``merges_above``), and so on up to the live
    one. What each of those recorded since the chain below it joined it (an
    unlink, an earlier unmerge that left an address with somebody else) was
    recorded for the absorbed contact's cases too. What a contact recorded before
    is its own past, which the absorbed contact's cases were not held to then.
    """
    found: list[Unlinked] = []
    chain = lineage(store, store.get_contact(record.tenant, record.survivor_id))
    for contact, joining in zip(chain, (record, *above), strict=False):
        if contact is None:  # pragma: no cover - contacts are never deleted while merged
            break
        before = set(joining.survivor_before.unlinked)
        found += [gone for gone in contact.unlinked if gone not in before]
    return tuple(found)


def unmerge_changes(
    record: MergeRecord,
    *,
    root: Contact,
    absorbed: Contact,
    origins: set[str],
    held: Sequence[Unlinked],
    above: Sequence[MergeRecord],
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
        held: the records the absorbed contact's cases were held to through the
            merge (``held_while_merged``).
        above: the active merges that took the survivor up to the root
            (``merges_above``): their snapshots of the survivor's side no longer
            hold what goes back to the absorbed contact.

    Returns:
        ``(root after, absorbed after, changes)``. Links that were the absorbed
        contact's before the merge go back with their current provenance (a link
        verified since stays verified); identities unlinked since stay unlinked,
        and are recorded as unlinked on both; links made for the survivor since
        stay with it, an identity of the absorbed contact's unlinked and linked
        again since included (``_same_link``). Each side records the phones and
        emails the other keeps as unlinked from it (``Unlinked.merge_id``): they
        are somebody else's now.
    """
    before = {link.identity.key: link for link in record.absorbed_before.links}
    own = set(before)
    moving: list[Link] = []
    staying: list[Link] = []
    for link in root.links:
        if link.origin in origins or _same_link(link, before.get(link.identity.key)):
            moving.append(
                link.model_copy(update={"origin": None}) if link.origin == absorbed.id else link
            )
        else:
            staying.append(link)
    zone = root.time_zone
    inherited = record.survivor_before.time_zone is None and zone is not None
    if root.id == record.survivor_id and inherited and zone == record.absorbed_before.time_zone:
        zone = None  # the zone came with the merge: it goes back with it
    # The absorbed contact keeps what its cases were held to while merged (its
    # identities unlinked since, and whatever the contacts above it recorded since,
    # an earlier unmerge's records included), since they may have queued messages
    # to them; the root keeps its records too, since its cases may have used them.
    taken = (gone for gone in root.unlinked if gone.identity.key in own or gone.origin in origins)
    restored_kept = unlinked_except(
        _one_each((*absorbed.unlinked, *_for(absorbed.id, origins, (*taken, *held)))),
        (link.identity for link in moving),
    )
    # While merged, either side's cases may have used the other's phones and
    # emails (a fallback, an agent's message): the unmerge says they belong to
    # somebody else, which is what an unlink says. The root's records are for the
    # survivor's cases, which follow to the root; undoing the merge that took the
    # survivor into the root gives them back to it (``origin``).
    root_parted = _parted(
        moving,
        record.id,
        actor,
        at,
        origin=None if root.id == record.survivor_id else record.survivor_id,
    )
    restored_parted = _parted(staying, record.id, actor, at, origin=None)
    root_after = root.model_copy(
        update={
            "links": tuple(staying),
            "unlinked": (*_unless_parted(root.unlinked, root_parted), *root_parted),
            "version": root.version + 1,
            "time_zone": zone,
        }
    )
    restored = absorbed.model_copy(
        update={
            "links": tuple(moving),
            "unlinked": (*_unless_parted(restored_kept, restored_parted), *restored_parted),
            "merged_into": None,
            "version": absorbed.version + 1,
        }
    )
    undone = record.model_copy(update={"undone_at": at, "undone_by": actor})
    # Merged into the survivor, the absorbed contact's links were in every snapshot
    # taken of the survivor's side since (a later merge of it into another). They
    # are the restored contact's again: undoing one of those merges must not give
    # them to the survivor, which this unmerge says is somebody else.
    left = tuple(_without_links(merge, moving) for merge in above)
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
        Changes(
            contacts=(root_after, restored),
            merges=(undone, *(merge for merge in left if merge is not None)),
            events=events,
        ),
    )


def _for(contact_id: str, origins: set[str], records: Iterable[Unlinked]) -> list[Unlinked]:
    """``records`` as the restored contact's own: ``origin`` kept only for one merged into it."""
    return [
        gone
        if gone.origin is None or (gone.origin in origins and gone.origin != contact_id)
        else gone.model_copy(update={"origin": None})
        for gone in records
    ]


def _without_links(merge: MergeRecord, gone: Sequence[Link]) -> MergeRecord | None:
    """``merge`` with its snapshot of the absorbed side less ``gone``; ``None`` if it held none."""
    snapshot = merge.absorbed_before
    links = tuple(
        link
        for link in snapshot.links
        if not any(_same_link(moved, link) and moved.identity == link.identity for moved in gone)
    )
    if len(links) == len(snapshot.links):
        return None
    return merge.model_copy(
        update={"absorbed_before": snapshot.model_copy(update={"links": links})}
    )


def _one_each(records: Iterable[Unlinked]) -> tuple[Unlinked, ...]:
    """The first record of each identity: a contact keeps one per address."""
    seen: set[tuple[str, str]] = set()
    kept: list[Unlinked] = []
    for gone in records:
        if gone.identity.key not in seen:
            seen.add(gone.identity.key)
            kept.append(gone)
    return tuple(kept)


def _same_link(link: Link, before: Link | None) -> bool:
    """Whether ``link`` is ``before`` (the absorbed contact's at the merge), kept since.

    Verifying it or a new display handle changes a link in place, keeping when and
    by whom it was made; an identity unlinked since and linked again (for the
    survivor: for the absorbed contact, ``origin`` says so) is a new link, whoever
    it was linked to before.
    """
    return before is not None and (link.at, link.actor, link.source, link.confidence) == (
        before.at,
        before.actor,
        before.source,
        before.confidence,
    )


def _parted(
    links: Sequence[Link],
    merge_id: str,
    actor: str,
    at: datetime,
    *,
    origin: str | None,
) -> tuple[Unlinked, ...]:
    """A record of each phone and email of ``links`` (the other side's)."""
    return tuple(
        Unlinked(identity=link.identity, at=at, actor=actor, origin=origin, merge_id=merge_id)
        for link in links
        if link.identity.kind is not IdentityKind.SOCIAL
    )


def _unless_parted(kept: Sequence[Unlinked], parted: Sequence[Unlinked]) -> tuple[Unlinked, ...]:
    """``kept`` less its records of the addresses ``parted`` records anew.

    An older record of one (an unlink's, dormant while a merge gave the address
    back) gives way to the unmerge's: the contacts merged into this side since
    that record lose the address now too, and ``held_while_merged`` gives them
    what was recorded since they joined, not before.
    """
    return unlinked_except(kept, (gone.identity for gone in parted))
