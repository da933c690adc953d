"""The ``Store`` protocol and the records only the store and the engine exchange.

A store is a unit of work: ``commit(changes)`` writes a handoff transition, its
audit events, its outbox rows, its timers, its contacts and its consent records
in one transaction, or nothing at all. Every versioned record (handoff, contact)
must carry exactly the stored version plus one, so concurrent writers cannot
both win: the loser gets ``ConcurrentUpdate`` and nothing of its change is written.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel, ConfigDict

from escalate._identity import Identity
from escalate._models import DEFAULT_TENANT, AwareDatetime, Event, Handoff
from escalate.consent._records import ConsentRecord
from escalate.identity._contact import Contact
from escalate.store._changes import Changes, OutboxStatus, OutboxUpdate, TimerStatus
from escalate.workflow._commands import OutboxCommand

__all__ = [
    "Changes",
    "OutboxItem",
    "OutboxStatus",
    "OutboxUpdate",
    "Store",
    "Timer",
    "TimerStatus",
]


class OutboxItem(BaseModel):
    """One command waiting to be executed, written with the transition that caused it."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str = DEFAULT_TENANT
    handoff_id: str
    idempotency_key: str
    command: OutboxCommand
    status: OutboxStatus = OutboxStatus.PENDING
    due_at: AwareDatetime
    created_at: AwareDatetime
    attempts: int = 0
    lease_until: AwareDatetime | None = None
    claimed_by: str | None = None
    #: True when this claim took over an expired lease: the previous attempt may
    #: have reached the provider, so a send must be held, not repeated.
    stale_claim: bool = False
    result: dict[str, Any] | None = None


class Timer(BaseModel):
    """A durable timer of one handoff; one pending timer per ``(handoff_id, name)``."""

    model_config = ConfigDict(frozen=True)

    id: str
    tenant: str = DEFAULT_TENANT
    handoff_id: str
    name: str
    due_at: AwareDatetime
    status: TimerStatus = TimerStatus.PENDING


@runtime_checkable
class Store(Protocol):
    """Durable state. ``MemoryStore`` and ``SQLiteStore`` ship; both pass one contract suite."""

    def commit(self, changes: Changes) -> None:
        """Write ``changes`` atomically.

        Raises:
            ConcurrentUpdate: a versioned record moved on, a thread already has an
                open handoff, a reference code or identity is taken. Nothing was written.
        """
        ...

    def get_handoff(self, tenant: str, handoff_id: str) -> Handoff | None: ...

    def find_open_handoff(self, tenant: str, platform: str, thread_id: str) -> Handoff | None:
        """The open handoff of a public thread, if any."""
        ...

    def open_handoffs_for_contact(self, tenant: str, contact_id: str) -> list[Handoff]:
        """Open handoffs of a contact, oldest first."""
        ...

    def get_contact(self, tenant: str, contact_id: str) -> Contact | None: ...

    def resolve_identity(self, tenant: str, identity: Identity) -> Contact | None:
        """The live (not merged-away) contact an identity is linked to, if any."""
        ...

    def consent_records(self, tenant: str, address: Identity) -> list[ConsentRecord]:
        """All consent records of one address, in the order they were written."""
        ...

    def events(
        self, tenant: str, *, handoff_id: str | None = None, contact_id: str | None = None
    ) -> list[Event]:
        """Audit events, oldest first, optionally for one handoff or contact."""
        ...

    def claim_outbox(
        self,
        now: datetime,
        *,
        worker: str,
        lease: timedelta,
        limit: int = 100,
        handoff_id: str | None = None,
    ) -> list[OutboxItem]:
        """Claim due rows: pending ones due by ``now`` and claimed ones whose lease expired."""
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
        """Outbox rows, oldest first (for inspection and tests)."""
        ...

    def due_timers(self, now: datetime, *, limit: int = 100) -> list[Timer]:
        """Pending timers due by ``now``, earliest first."""
        ...

    def close(self) -> None: ...
