"""Data subject rights over the store: erase a person (``_export`` shows what is held).

Erasure keeps what the law asks a controller to be able to show: for every
consent record, a ``ConsentProof`` (keyed address hash, purpose, action,
source, wording version, time). Addresses, evidence (ip, user agent, exact
text), message bodies, public replies and the public post's text go, and so do
the addresses in the identity records that outlive the contact (merges'
snapshots, proposals, verification challenges: ``identity._forgetting``).
Audit events stay: they never held raw personal data (addresses in them are
redacted).

The person's messages go whatever address they were sent to: an address
unlinked from them ("this isn't me", or given to the other side by an unmerge)
no longer leads to them, but their cases' texts to it are theirs all the same
(an agent's text kept to be carried to another channel). Such an address that
nobody holds now is erased as theirs; one another contact holds is that
person's, and keeps its consent and its own messages.

An address the person shares with somebody else keeps what is theirs
(``_sharing``): the consent records and messages of the other person's cases,
and their verifications of it. The records the person's own cases made on an
address somebody else holds go, and so do the verification challenges the
person started for it (their claim to it, with the address they typed); nothing
else of that address.
"""

from __future__ import annotations

from contextlib import nullcontext
from datetime import datetime
from typing import TYPE_CHECKING, Any

from escalate._exceptions import ConcurrentUpdate
from escalate._identity import IdentityKind
from escalate._ids import new_id
from escalate._models import Event, Handoff, HandoffState
from escalate.consent._ledger_service import address_hash
from escalate.consent._policy import ConsentPolicy
from escalate.consent._records import ConsentProof
from escalate.consent._sharing import Sharers, cases_elsewhere, sharers
from escalate.identity._forgetting import (
    forgotten_merges,
    forgotten_proposals,
    forgotten_verifications,
)
from escalate.identity._merge import merged_contact_ids
from escalate.store._changes import Changes, OutboxStatus
from escalate.store._protocol import SecureErasure

if TYPE_CHECKING:
    from escalate._identity import Identity
    from escalate.identity._contact import Contact
    from escalate.store._protocol import Store

__all__ = ["ERASED", "erase_contact", "handoffs_of", "once_held"]

#: The close reason of a handoff declined because its contact was erased.
ERASED = "contact erased"


def handoffs_of(store: Store, contact: Contact) -> list[Handoff]:
    """The person's handoffs: theirs, and those of the contacts merged into theirs."""
    ids: set[str | None] = set()
    for contact_id in merged_contact_ids(store, contact.tenant, contact.id):
        ids |= {event.handoff_id for event in store.events(contact.tenant, contact_id=contact_id)}
        ids |= {h.id for h in store.open_handoffs_for_contact(contact.tenant, contact_id)}
    found = (store.get_handoff(contact.tenant, hid) for hid in sorted(i for i in ids if i))
    return [handoff for handoff in found if handoff is not None]


def _scrub_handoff(store: Store, handoff: Handoff, now: datetime, actor: str) -> None:
    """Scrub the handoff; one still open is declined, since its person is gone.

    Left open without an address, its timers would fire into a workflow that
    needs one (a reminder), and its queued sends would go on; declined, its
    timers fire into nothing and its sends are cancelled when due.
    """
    for _ in range(3):
        current = store.get_handoff(handoff.tenant, handoff.id)
        if current is None:
            return
        author = current.thread.author.with_handle(None)
        thread = current.thread.model_copy(update={"text": "", "url": None, "author": author})
        version = current.version + 1
        update: dict[str, Any] = {
            "thread": thread,
            "address": None,
            "version": version,
            "updated_at": now,
        }
        events: tuple[Event, ...] = ()
        if current.is_open:
            update.update(
                state=HandoffState.DECLINED,
                closed_at=now,
                close_reason=ERASED,
                closed_version=version,
            )
            events = (
                Event(
                    id=new_id("ev"),
                    tenant=current.tenant,
                    kind="handoff.transition",
                    at=now,
                    handoff_id=current.id,
                    contact_id=current.contact_id,
                    actor=actor,
                    data={
                        "from": current.state.value,
                        "to": HandoffState.DECLINED.value,
                        "input": "contact_erased",
                        "reason": ERASED,
                    },
                ),
            )
        try:
            store.commit(Changes(handoffs=(current.model_copy(update=update),), events=events))
            return
        except ConcurrentUpdate:
            continue


def once_held(store: Store, contact: Contact) -> list[Identity]:
    """Addresses unlinked from the person (or from a contact merged into theirs) that
    no contact holds now: nobody but the person is left for them to belong to."""
    found: dict[Identity, None] = {}
    for contact_id in merged_contact_ids(store, contact.tenant, contact.id):
        record = store.get_contact(contact.tenant, contact_id)
        for gone in record.unlinked if record is not None else ():
            if gone.identity not in contact.identities:
                found.setdefault(gone.identity)
    return [i for i in found if store.resolve_identity(contact.tenant, i) is None]


#: The rows erasure deletes by case (``Store.erase_messages``).
_MESSAGES = frozenset({"send_message", "post_public_reply"})


def _none_in_flight(
    store: Store,
    contact: Contact,
    handoffs: list[Handoff],
    addresses: list[Identity],
    others: Sharers,
) -> None:
    """Refuse to finish while a worker holds one of the person's messages.

    The stores leave a row a worker is sending (its settlement must find it),
    and nothing deleted it after: the body and the number outlived an erasure
    reported done. Raised before the contact lets go of its addresses, so that
    the call again finds the row by them once it has settled (its case, declined
    now, has its queued sends cancelled).

    Raises:
        ConcurrentUpdate: such a row is claimed right now.
    """
    ids = {handoff.id for handoff in handoffs}
    held = [
        item
        for item in store.outbox(contact.tenant)
        if item.status is OutboxStatus.CLAIMED
        and (
            (item.handoff_id in ids and item.command.kind in _MESSAGES)
            or (
                (to := getattr(item.command, "to", None)) in addresses
                # Another person's case on a number both use keeps its rows.
                and item.handoff_id not in others.cases.get(to, frozenset())
            )
        )
    ]
    if held:
        raise ConcurrentUpdate(
            f"{len(held)} message(s) of contact {contact.id} are being sent right now;"
            " call erase() again once they have settled"
        )


def erase_contact(
    store: Store, contact: Contact, policy: ConsentPolicy, now: datetime, actor: str
) -> list[ConsentProof]:
    """Erase ``contact``'s personal data; return the consent proofs kept."""
    with store.erasing() if isinstance(store, SecureErasure) else nullcontext():
        return _erase(store, contact, policy, now, actor)


def _erase(
    store: Store, contact: Contact, policy: ConsentPolicy, now: datetime, actor: str
) -> list[ConsentProof]:
    tenant = contact.tenant
    kept: list[ConsentProof] = []
    # Social accounts too: a merge's snapshot of their link carries the handle.
    addresses = list(dict.fromkeys((*contact.identities, *once_held(store, contact))))
    handoffs = handoffs_of(store, contact)
    own_cases = [handoff.id for handoff in handoffs]
    # Read before anything goes: another person's cases on the person's addresses
    # (theirs, kept), and the records the person's cases made on addresses held
    # by somebody else (the person's, erased), found by the cases' addresses.
    others = sharers(
        store, tenant, merged_contact_ids(store, tenant, contact.id), own_cases, addresses
    )
    elsewhere = cases_elsewhere(store, handoffs, addresses)
    for address in addresses:
        if address.kind is IdentityKind.SOCIAL:
            continue
        hashed = address_hash(policy, tenant, address)
        records = store.consent_records(tenant, address)
        proofs = [ConsentProof.of(r, hashed) for r in records if not others.owns(r)]
        store.erase_address(
            tenant, address, proofs, keep_handoffs=others.cases.get(address, frozenset())
        )
        kept.extend(proofs)
    for address, records in elsewhere.items():
        hashed = address_hash(policy, tenant, address)
        proofs = [ConsentProof.of(record, hashed) for record in records]
        store.erase_consent_records(tenant, address, proofs)
        kept.extend(proofs)
    store.erase_messages(tenant, own_cases)
    for handoff in handoffs:
        _scrub_handoff(store, handoff, now, actor)
    _none_in_flight(store, contact, handoffs, addresses, others)

    def keeps(address: Identity, contact_id: str) -> bool:
        return others.keeps(store, tenant, address, contact_id)

    for _ in range(3):
        current = store.get_contact(tenant, contact.id) or contact
        person = merged_contact_ids(store, tenant, contact.id)
        # The addresses unlinked from the person (or from a contact merged into
        # theirs) kept their cases from texting them; those cases are declined now.
        erased = current.model_copy(
            update={"links": (), "unlinked": (), "version": current.version + 1}
        )
        forgotten = {
            merged.id: merged.model_copy(update={"unlinked": (), "version": merged.version + 1})
            for merged_id in person[1:]
            if (merged := store.get_contact(tenant, merged_id)) is not None and merged.unlinked
        }
        # Another contact that once said "this isn't me" of the person's number
        # keeps it in its own unlinked records: the person's data all the same.
        for address in addresses:
            if address.kind is IdentityKind.SOCIAL:
                continue
            for other in store.contacts_unlinked_from(tenant, address):
                if other.id == current.id or keeps(address, other.id):
                    continue
                base = forgotten.get(other.id) or other.model_copy(
                    update={"version": other.version + 1}
                )
                forgotten[other.id] = base.model_copy(
                    update={"unlinked": base.without_unlinked(address)}
                )
        merges = forgotten_merges(store, tenant, person, addresses, keeps=keeps)
        proposals = forgotten_proposals(
            store, tenant, person, addresses, now=now, actor=actor, keeps=keeps
        )
        challenges = forgotten_verifications(store, tenant, person, addresses, keeps=keeps)
        event = Event(
            id=new_id("ev"),
            tenant=tenant,
            kind="contact.erased",
            at=now,
            contact_id=contact.id,
            actor=actor,
            data={
                "identities": len(current.links),
                "consent_proofs": len(kept),
                "merges": len(merges),
                "merge_proposals": len(proposals),
                "verifications": len(challenges),
            },
        )
        changes = Changes(
            contacts=(erased, *forgotten.values()),
            merges=tuple(merges),
            merge_proposals=tuple(proposals),
            verifications=tuple(challenges),
            events=(event,),
        )
        try:
            store.commit(changes)
            break
        except ConcurrentUpdate:
            continue
    else:
        # Returning would tell the caller the person is forgotten while their
        # contact still holds their links; what ran so far is safe to run again.
        raise ConcurrentUpdate(
            f"contact {contact.id} kept changing during its erasure; call erase() again"
        )
    return kept
