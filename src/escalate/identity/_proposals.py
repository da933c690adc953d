"""Merge proposals: suggested merges a human accepts or rejects, never applied silently."""

from __future__ import annotations

from typing import TYPE_CHECKING

from escalate._exceptions import InvalidInput, NotFound
from escalate._identity import Identity
from escalate._ids import new_id
from escalate._models import Event
from escalate.identity._contact import Contact
from escalate.identity._merge import contact_event, merge_changes
from escalate.identity._records import MergeProposal, ProposalStatus
from escalate.store._changes import Changes

if TYPE_CHECKING:
    from escalate.identity._book import ContactBook

__all__ = ["accept_proposal", "propose", "reject_proposal"]


def propose(
    book: ContactBook, a: Contact, b: Contact, identity: Identity, reason: str
) -> tuple[MergeProposal, Changes]:
    """A merge proposal for ``a`` and ``b`` (the open one if it exists) and its change."""
    pair = tuple(sorted((a.id, b.id)))
    for proposal in book.proposals():
        if proposal.contact_ids == pair and proposal.identity == identity:
            return proposal, Changes()
    proposal = MergeProposal(
        id=new_id("mp"),
        tenant=book._tenant,
        contact_ids=(pair[0], pair[1]),
        identity=identity,
        reason=reason,
        created_at=book._clock.now(),
    )
    events = tuple(
        contact_event(
            contact,
            "contact.merge_proposed",
            proposal.created_at,
            identity=identity,
            proposal_id=proposal.id,
            other_contact_id=other.id,
            reason=reason,
        )
        for contact, other in ((a, b), (b, a))
    )
    return proposal, Changes(merge_proposals=(proposal,), events=events)


def accept_proposal(book: ContactBook, proposal_id: str, *, actor: str) -> Contact:
    """Merge the proposal's contacts (a human said yes); returns the survivor.

    Raises:
        NotFound: no such proposal; InvalidInput: it is not open;
        ContactMerged: one side was merged elsewhere meanwhile.
    """
    proposal = _open_proposal(book, proposal_id)
    first, second = book._merge_pair(*proposal.contact_ids, proposal.reason)
    now = book._clock.now()
    survivor, record, changes = merge_changes(
        first, second, reason=f"proposal {proposal.id}: {proposal.reason}", actor=actor, at=now
    )
    decided = proposal.model_copy(
        update={
            "status": ProposalStatus.ACCEPTED,
            "decided_at": now,
            "decided_by": actor,
            "merge_id": record.id,
        }
    )
    book._store.commit(
        Changes(
            contacts=changes.contacts,
            merges=changes.merges,
            merge_proposals=(decided,),
            events=changes.events,
        )
    )
    return survivor


def reject_proposal(book: ContactBook, proposal_id: str, *, actor: str) -> MergeProposal:
    """Record that a human said these are different people."""
    proposal = _open_proposal(book, proposal_id)
    now = book._clock.now()
    decided = proposal.model_copy(
        update={"status": ProposalStatus.REJECTED, "decided_at": now, "decided_by": actor}
    )
    event = Event(
        id=new_id("ev"),
        tenant=book._tenant,
        kind="contact.proposal_rejected",
        at=now,
        contact_id=proposal.contact_ids[0],
        actor=actor,
        data={"proposal_id": proposal.id, "other_contact_id": proposal.contact_ids[1]},
    )
    book._store.commit(Changes(merge_proposals=(decided,), events=(event,)))
    return decided


def _open_proposal(book: ContactBook, proposal_id: str) -> MergeProposal:
    proposal = book._store.get_merge_proposal(book._tenant, proposal_id)
    if proposal is None:
        raise NotFound(f"no merge proposal {proposal_id!r} in tenant {book._tenant!r}")
    if proposal.status is not ProposalStatus.OPEN:
        raise InvalidInput(f"proposal {proposal_id!r} is already {proposal.status.value}")
    return proposal
