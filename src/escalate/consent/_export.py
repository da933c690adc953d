"""The data subject export: everything the store holds on a person, JSON-ready.

It shows what erasure (``_erasure``) deletes or rewrites as the person's, and no
more: another person's case on a number both gave, their consent there, their
verification of it are theirs (GDPR Art. 15(4)); a verification the person
started for somebody else's address is the person's. The identity history is the
person's too (their merges, undone or not, and the proposals naming them); the
other side of a merge with somebody else appears by contact id only.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from escalate._identity import IdentityKind
from escalate.consent._erasure import handoffs_of, once_held
from escalate.consent._ledger_service import address_hash
from escalate.consent._sharing import Sharers, cases_elsewhere, sharers
from escalate.identity._merge import merged_contact_ids

if TYPE_CHECKING:
    from collections.abc import Collection

    from escalate._identity import Identity
    from escalate._models import Event, Handoff
    from escalate.consent._policy import ConsentPolicy
    from escalate.identity._contact import Contact
    from escalate.identity._records import MergeRecord, VerificationRecord
    from escalate.store._protocol import Store

__all__ = ["export_contact"]


def export_contact(store: Store, contact: Contact, policy: ConsentPolicy) -> dict[str, Any]:
    """Everything the store holds on ``contact``, JSON-ready."""
    tenant = contact.tenant
    person = merged_contact_ids(store, tenant, contact.id)
    # What erasure deletes as the person's, access shows them too: their linked
    # addresses and those unlinked from them that nobody holds now.
    held = (*contact.identities, *once_held(store, contact))
    addresses = [i for i in dict.fromkeys(held) if i.kind is not IdentityKind.SOCIAL]
    handoffs = handoffs_of(store, contact)
    handoff_ids = {handoff.id for handoff in handoffs}
    others = sharers(store, tenant, person, handoff_ids, addresses)
    # Another person's case that texted a number both gave is theirs: its
    # messages (that person's case, and their agent's words) are not the
    # person's to be shown (GDPR Art. 15(4)).
    messages = [
        item
        for item in store.outbox(tenant)
        if item.handoff_id in handoff_ids
        or (item.handoff_id is None and getattr(item.command, "to", None) in addresses)
    ]
    consent = [
        record
        for address in addresses
        for record in store.consent_records(tenant, address)
        if not others.owns(record)
    ]
    consent += [
        record for found in cases_elsewhere(store, handoffs, addresses).values() for record in found
    ]
    return {
        "contact": contact.model_dump(mode="json"),
        "consent": [record.model_dump(mode="json") for record in consent],
        "consent_proofs": [
            proof.model_dump(mode="json")
            for address in addresses
            for proof in store.consent_proofs(tenant, address_hash(policy, tenant, address))
        ],
        "handoffs": [handoff.model_dump(mode="json") for handoff in handoffs],
        "messages": [item.model_dump(mode="json") for item in messages],
        "events": [event.model_dump(mode="json") for event in _events(store, contact, handoffs)],
        # Erasure rewrites these too; the code's hash and salt stay out, as a
        # six-digit code falls to trying every one against them.
        "verifications": [
            challenge.model_dump(mode="json", exclude={"salt", "code_hash"})
            for challenge in _challenges(store, tenant, person, addresses, others)
        ],
        "merges": [_merge(merge, person) for merge in store.merges_of(tenant, person)],
        "merge_proposals": [
            proposal.model_dump(mode="json")
            for proposal in store.merge_proposals(tenant)
            if set(proposal.contact_ids) & set(person)
        ],
    }


def _challenges(
    store: Store,
    tenant: str,
    person: Collection[str],
    addresses: Collection[Identity],
    others: Sharers,
) -> list[VerificationRecord]:
    """The challenges erasure rewrites as the person's: those sent to their addresses
    (but another user's of one), and those they started for any other address.

    One of the latter names nothing of the address's holder but the address the
    person typed themself.
    """
    found: dict[str, VerificationRecord] = {}
    for address in addresses:
        for challenge in store.verifications_of(tenant, address):
            if not others.keeps(store, tenant, address, challenge.contact_id):
                found.setdefault(challenge.id, challenge)
    for challenge in store.verifications_by(tenant, person):
        if challenge.identity is not None:
            found.setdefault(challenge.id, challenge)
    return sorted(found.values(), key=lambda challenge: (challenge.created_at, challenge.id))


def _merge(merge: MergeRecord, person: Collection[str]) -> dict[str, Any]:
    """A merge of the person's contacts: both snapshots, when both sides are theirs;
    when one side is somebody else (a merge undone since), that side by id only.

    The other side's snapshot holds their phones, emails and handle: not the
    person's to be shown, and ``survivor_id``/``absorbed_id`` already name them.
    """
    data = merge.model_dump(mode="json")
    for side, contact_id in (
        ("survivor_before", merge.survivor_id),
        ("absorbed_before", merge.absorbed_id),
    ):
        if contact_id not in person:
            data[side] = {"id": contact_id}
    return data


def _events(store: Store, contact: Contact, handoffs: list[Handoff]) -> list[Event]:
    """The audit events about the person: those of their contacts (theirs and those
    merged into it) and of their cases, oldest first.

    A case's events name no contact before one is given, and a merged contact's
    case keeps naming that contact: by contact id alone both were left out.
    """
    tenant = contact.tenant
    found: dict[str, Event] = {}
    for contact_id in merged_contact_ids(store, tenant, contact.id):
        found.update((e.id, e) for e in store.events(tenant, contact_id=contact_id))
    for handoff in handoffs:
        found.update((e.id, e) for e in store.events(tenant, handoff_id=handoff.id))
    return sorted(found.values(), key=lambda event: (event.seq or 0, event.at))
