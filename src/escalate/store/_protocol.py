"""The ``Store`` protocol and the records only the store and the engine exchange.

A store is a unit of work: ``commit(changes)`` writes a handoff transition, its
audit events, its outbox rows, its timers, its contacts and its consent records
in one transaction, or nothing at all. Every versioned record (handoff, contact)
must carry exactly the stored version plus one, so concurrent writers cannot
both win: the loser gets ``ConcurrentUpdate`` and nothing of its change is written.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from pydantic import ConfigDict

from escalate._identity import Identity
from escalate._model import Model
from escalate._models import DEFAULT_TENANT, AwareDatetime, Event, Handoff
from escalate.audit._chain import BeforeHashing, ChainHead
from escalate.consent._records import ConsentProof, ConsentRecord
from escalate.identity._contact import Contact
from escalate.identity._records import MergeProposal, MergeRecord, VerificationRecord
from escalate.store._changes import (
    Changes,
    Claim,
    IssueLimit,
    OutboxReport,
    OutboxStatus,
    OutboxUpdate,
    TimerStatus,
)
from escalate.workflow._commands import OutboxCommand

__all__ = [
    "Changes",
    "Claim",
    "IssueLimit",
    "OutboxItem",
    "OutboxReport",
    "OutboxStatus",
    "OutboxUpdate",
    "Store",
    "Timer",
    "TimerStatus",
]


class OutboxItem(Model):
    """One command waiting to be executed, written with the transition that caused it."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str = DEFAULT_TENANT
    #: ``None`` for a message tied to no handoff (a HELP answer to an unknown number).
    handoff_id: str | None
    idempotency_key: str
    command: OutboxCommand
    status: OutboxStatus = OutboxStatus.PENDING
    #: When it is due (put off by quiet hours, a retry, pacing). A message sent
    #: (``done``), or held after an attempt, keeps when it was handed to the
    #: provider: what ``PrivateMessage.sent_at`` reads (a row an earlier build
    #: settled kept its last due time instead).
    due_at: AwareDatetime
    created_at: AwareDatetime
    attempts: int = 0
    lease_until: AwareDatetime | None = None
    claimed_by: str | None = None
    #: True when this claim took over an expired lease: the previous attempt may
    #: have reached the provider, so a send must be held, not repeated.
    stale_claim: bool = False
    result: dict[str, Any] | None = None
    #: The row this one follows (``SendMessage.in_order``): it is not claimed
    #: while that row is pending or claimed, so it never overtakes it.
    after: str | None = None
    #: A delivery report that arrived while the row was claimed, its send in
    #: flight (``delivery_status``, ``error_code``, ``provider_message_id``,
    #: ``actor``): the send's settlement applies it (see ``docs/delivery.md``).
    reported: dict[str, Any] | None = None


class Timer(Model):
    """A durable timer of one handoff; one pending timer per ``(handoff_id, name)``."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str = DEFAULT_TENANT
    handoff_id: str
    name: str
    due_at: AwareDatetime
    status: TimerStatus = TimerStatus.PENDING
    #: Set by a store for a row edited outside escalate that no longer reads
    #: (what is wrong in it: fields and problems, never values); ``due_at`` is
    #: then the time it was read as due. ``run_due`` holds such a timer rather
    #: than fire it (``Changes.hold_timers``, docs/delivery.md).
    unreadable: str | None = None


@runtime_checkable
class Store(Protocol):
    """Durable state. ``MemoryStore`` and ``SQLiteStore`` ship; both pass one contract suite."""

    def commit(self, changes: Changes) -> list[OutboxItem]:
        """Write ``changes`` atomically.

        Returns:
            The outbox rows ``changes.claim`` claimed, in claim order (none
            without a claim).

        Raises:
            ConcurrentUpdate: a versioned record moved on, a thread already has an
                open handoff, a reference code or identity is taken. Nothing was written.
        """
        ...

    def get_handoff(self, tenant: str, handoff_id: str) -> Handoff | None: ...

    def get_handoffs(self, tenant: str, handoff_ids: Sequence[str]) -> dict[str, Handoff]:
        """Handoffs by id, in one read; ids with no handoff are left out."""
        ...

    def find_open_handoff(self, tenant: str, platform: str, thread_id: str) -> Handoff | None:
        """The open handoff of a public thread, if any."""
        ...

    def thread_handoffs(self, tenant: str, platform: str, thread_id: str) -> list[Handoff]:
        """Every handoff of a public thread, open or closed, oldest first."""
        ...

    def find_handoff_by_reference(self, tenant: str, reference: str) -> Handoff | None:
        """The handoff with this reference code (open or closed), if any."""
        ...

    def open_handoffs_for_contact(self, tenant: str, contact_id: str) -> list[Handoff]:
        """Open handoffs of a contact, oldest first."""
        ...

    def get_contact(self, tenant: str, contact_id: str) -> Contact | None: ...

    def resolve_identity(self, tenant: str, identity: Identity) -> Contact | None:
        """The live (not merged-away) contact an identity is linked to, if any."""
        ...

    def contacts_unlinked_from(self, tenant: str, identity: Identity) -> list[Contact]:
        """Every contact (tombstones too) that keeps ``identity`` in ``Contact.unlinked``.

        Erasure's lookup, so rare: a scan of the tenant's contacts will do.
        """
        ...

    def get_merge(self, tenant: str, merge_id: str) -> MergeRecord | None:
        """A merge record (active or undone) by id."""
        ...

    def active_merges_into(self, tenant: str, survivor_id: str) -> list[MergeRecord]:
        """Merges not undone whose survivor is ``survivor_id``, oldest first."""
        ...

    def merges_holding(self, tenant: str, identity: Identity) -> list[MergeRecord]:
        """Merges (active or undone) whose ``survivor_before`` or ``absorbed_before``
        links ``identity`` or keeps it in ``unlinked``, oldest first.

        Erasure's lookup, so rare: a scan of the tenant's merges will do.
        """
        ...

    def merges_of(self, tenant: str, contact_ids: Collection[str]) -> list[MergeRecord]:
        """Merges (active or undone) whose survivor or absorbed contact is one of
        ``contact_ids``, oldest first.

        The data subject export's lookup, so rare: a scan of the tenant's merges will do.
        """
        ...

    def get_merge_proposal(self, tenant: str, proposal_id: str) -> MergeProposal | None: ...

    def merge_proposals(self, tenant: str, *, status: str | None = None) -> list[MergeProposal]:
        """Merge proposals, oldest first, optionally only those with ``status``."""
        ...

    def get_verification(self, tenant: str, challenge_id: str) -> VerificationRecord | None: ...

    def count_verifications(self, tenant: str, identity: Identity, since: datetime) -> int:
        """How many verification challenges ``identity`` got at or after ``since``."""
        ...

    def verifications_of(self, tenant: str, identity: Identity) -> list[VerificationRecord]:
        """Every verification challenge issued to ``identity``, oldest first (erasure's)."""
        ...

    def verifications_by(
        self, tenant: str, contact_ids: Collection[str]
    ) -> list[VerificationRecord]:
        """Every verification challenge started for one of ``contact_ids``
        (``VerificationRecord.contact_id``), erased ones included, oldest first.

        Erasure's and the export's lookup, so rare: a scan of the tenant's
        challenges will do.
        """
        ...

    def consent_records(self, tenant: str, address: Identity) -> list[ConsentRecord]:
        """All consent records of one address, in the order they were written."""
        ...

    def consent_proofs(self, tenant: str, address_hash: str) -> list[ConsentProof]:
        """The proofs erased consent records left for an address hash, in write order."""
        ...

    def consent_history(
        self, tenant: str, address: Identity, address_hash: str
    ) -> tuple[list[ConsentProof], list[ConsentRecord]]:
        """``consent_proofs`` and ``consent_records`` of one address, read together.

        Every send reads both; one call lets a store answer from one snapshot
        and, under a dispatch pool, queue for its lock once instead of twice.
        """
        ...

    def erase_address(
        self,
        tenant: str,
        address: Identity,
        proofs: Sequence[ConsentProof],
        *,
        keep_handoffs: Collection[str] = (),
    ) -> None:
        """Atomically replace the address's consent records by ``proofs`` and delete the
        outbox rows addressed to it (unless a worker holds one right now).

        The records and rows of the handoffs in ``keep_handoffs`` stay: they are
        the cases of another person who uses the address too (their consent,
        their messages), and ``proofs`` holds none of their records.
        """
        ...

    def erase_consent_records(
        self, tenant: str, address: Identity, proofs: Sequence[ConsentProof]
    ) -> None:
        """Atomically replace the address's consent records that ``proofs`` name (a
        proof keeps its record's id) by them; its other records and its outbox rows
        stay (a person's records on an address somebody else holds)."""
        ...

    def erase_messages(self, tenant: str, handoff_ids: Sequence[str]) -> None:
        """Delete the messages of these handoffs: private ones (``SendMessage`` rows),
        whatever address they went to, and public replies (``PostPublicReply``,
        which greet the author by handle); unless a worker holds one right now."""
        ...

    def events(
        self, tenant: str, *, handoff_id: str | None = None, contact_id: str | None = None
    ) -> list[Event]:
        """Audit events, oldest first, optionally for one handoff or contact.

        ``commit`` links every event into its audit chain (``prev_hash``, ``hash``)
        and records the chain's new head in the same transaction.
        """
        ...

    def chain_heads(self, tenant: str) -> list[ChainHead]:
        """The recorded head of every audit chain of a tenant (see ``escalate.audit``)."""
        ...

    def before_hashing(self, tenant: str) -> BeforeHashing:
        """The tenant's events from before the audit log was hashed: none unless the
        store's data predates hashing (see ``escalate.audit.BeforeHashing``)."""
        ...

    def handoffs_opened(
        self, tenant: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[Handoff]:
        """Handoffs opened in ``[since, until)`` (either bound optional), oldest first."""
        ...

    def claim_outbox(
        self,
        now: datetime,
        *,
        worker: str,
        lease: timedelta,
        limit: int = 100,
        handoff_id: str | None = None,
        tenant: str | None = None,
    ) -> list[OutboxItem]:
        """Claim due rows: pending ones due by ``now`` and claimed ones whose lease expired.

        A pending row whose ``after`` row is still pending or claimed is not due
        yet: it waits until that row has settled (sent, failed, held...).
        ``tenant`` (and ``handoff_id``) restrict the claim; ``None`` claims for every tenant.
        """
        ...

    def get_outbox_item(self, tenant: str, item_id: str) -> OutboxItem | None:
        """One outbox row by id (``OutboundMessage.id`` is the row's id)."""
        ...

    def outbox_with_status(
        self, tenant: str, status: OutboxStatus, *, limit: int = 100
    ) -> list[OutboxItem]:
        """Rows in one status, oldest first (``HELD`` ones wait for reconciliation)."""
        ...

    def outbox(self, tenant: str, *, handoff_id: str | None = None) -> list[OutboxItem]:
        """Outbox rows, oldest first: for inspection and tests, and one handoff's for
        a step that reads its private messages (``Step(uses_messages=True)``)."""
        ...

    def due_timers(
        self, now: datetime, *, limit: int = 100, tenant: str | None = None
    ) -> list[Timer]:
        """Pending timers due by ``now``, earliest first; of one tenant, or of all for ``None``.

        A held timer (``Changes.hold_timers``) is not due until it is released.
        """
        ...

    def close(self) -> None: ...


@runtime_checkable
class SecureErasure(Protocol):
    """A store whose files can keep erased data past its deletion (a log, free space).

    Erasure (``esc.consent.erase``) runs inside ``store.erasing()``: what it
    deletes and overwrites there must not stay readable in the store's files
    once the block ends. A store with nothing of the kind (``MemoryStore``) need
    not implement it.
    """

    def erasing(self) -> AbstractContextManager[None]:
        """A block whose deleted and overwritten data is unrecoverable when it ends."""
        ...
