"""``MemoryStore``: the Store contract in process memory, for tests and short scripts.

It keeps the same promises as the durable stores (atomic commits, version
checks, uniqueness) so that a workflow tested against it behaves the same on
SQLite. ``commit`` validates the whole change before applying any of it.

This module holds the store itself, its handoffs, contacts (with their identity
index) and audit events; the rest is in mixins, one concern each:
``_memory_outbox`` (outbox rows and timers), ``_memory_identity`` (merges,
proposals, verifications) and ``_memory_consent`` (the consent ledger).
"""

from __future__ import annotations

import threading
from collections import defaultdict
from collections.abc import Sequence
from datetime import datetime

from escalate._clock import ensure_aware
from escalate._exceptions import ConcurrentUpdate
from escalate._identity import Identity
from escalate._models import Event, Handoff
from escalate.audit._chain import BeforeHashing, ChainHead, ChainKey, link_events
from escalate.consent._records import ConsentProof, ConsentRecord
from escalate.identity._contact import Contact
from escalate.identity._records import MergeProposal, MergeRecord, VerificationRecord
from escalate.store._changes import check_version
from escalate.store._memory_consent import ConsentMemory
from escalate.store._memory_identity import IdentityKey, IdentityRecordsMemory
from escalate.store._memory_outbox import OutboxMemory
from escalate.store._protocol import Changes, OutboxItem, Timer

__all__ = ["MemoryStore"]


class MemoryStore(OutboxMemory, IdentityRecordsMemory, ConsentMemory):
    """An in-memory ``Store``. Thread-safe; loses everything when the process ends."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._handoffs: dict[tuple[str, str], Handoff] = {}
        self._open_threads: dict[tuple[str, str, str], str] = {}
        self._thread_handoffs: dict[tuple[str, str, str], list[str]] = {}
        self._references: dict[tuple[str, str], str] = {}
        self._contacts: dict[tuple[str, str], Contact] = {}
        self._identity_index: dict[IdentityKey, str] = {}
        self._consent: dict[IdentityKey, list[ConsentRecord]] = defaultdict(list)
        self._events: list[Event] = []
        self._outbox: dict[str, OutboxItem] = {}
        self._outbox_by_handoff: dict[str, set[str]] = {}
        self._idempotency_keys: set[str] = set()
        self._timers: dict[str, Timer] = {}
        self._pending_timers: dict[tuple[str, str], str] = {}
        self._held_timers: set[str] = set()
        self._proofs: dict[tuple[str, str], list[ConsentProof]] = defaultdict(list)
        self._seq = 0
        self._merges: dict[tuple[str, str], MergeRecord] = {}
        self._proposals: dict[tuple[str, str], MergeProposal] = {}
        self._verifications: dict[tuple[str, str], VerificationRecord] = {}
        self._verifications_by_address: dict[IdentityKey, list[VerificationRecord]] = defaultdict(
            list
        )
        self._chain_heads: dict[ChainKey, ChainHead] = {}

    # -- writing ----------------------------------------------------------------

    def commit(self, changes: Changes) -> list[OutboxItem]:
        with self._lock:
            index_updates = self._validate(changes)
            self._apply(changes, index_updates)
            claim = changes.claim
            if claim is None:
                return []
            return self.claim_outbox(
                claim.now,
                worker=claim.worker,
                lease=claim.lease,
                limit=claim.limit,
                handoff_id=claim.handoff_id,
                tenant=claim.tenant,
            )

    def _validate(self, changes: Changes) -> dict[IdentityKey, str | None]:
        seen: set[str] = set()
        # Uniqueness holds within the change too, as the SQL stores' indexes enforce.
        references: dict[tuple[str, str], str] = {}
        open_threads: dict[tuple[str, str, str], str | None] = {}
        for handoff in changes.handoffs:
            if handoff.id in seen:
                raise ConcurrentUpdate("one change writes the same handoff twice")
            seen.add(handoff.id)
            stored = self._handoffs.get((handoff.tenant, handoff.id))
            check_version("handoff", handoff.version, stored.version if stored else None)
            reference_key = (handoff.tenant, handoff.reference)
            owner = references.get(reference_key, self._references.get(reference_key))
            if owner not in (None, handoff.id):
                raise ConcurrentUpdate("reference code already in use")
            references[reference_key] = handoff.id
            thread_key = (handoff.tenant, handoff.thread.platform, handoff.thread.thread_id)
            if handoff.is_open:
                holder = open_threads.get(thread_key, self._open_threads.get(thread_key))
                if holder not in (None, handoff.id):
                    raise ConcurrentUpdate("this thread already has an open handoff")
                open_threads[thread_key] = handoff.id
            elif self._open_threads.get(thread_key) == handoff.id:
                open_threads[thread_key] = None  # closed here: the thread is free

        # The identity index after the change: drop what the written contacts
        # held, then add what their new versions hold (a merge moves identities).
        index_updates: dict[IdentityKey, str | None] = {}
        for contact in changes.contacts:
            if contact.id in seen:
                raise ConcurrentUpdate("one change writes the same contact twice")
            seen.add(contact.id)
            stored_contact = self._contacts.get((contact.tenant, contact.id))
            check_version(
                "contact", contact.version, stored_contact.version if stored_contact else None
            )
            if stored_contact is not None:
                for identity in stored_contact.identities:
                    key = (contact.tenant, identity.kind.value, identity.value)
                    if self._identity_index.get(key) == contact.id:
                        index_updates.setdefault(key, None)
        for contact in changes.contacts:
            if contact.is_tombstone:
                continue
            for identity in contact.identities:
                key = (contact.tenant, identity.kind.value, identity.value)
                current = (
                    index_updates[key] if key in index_updates else self._identity_index.get(key)
                )
                if current not in (None, contact.id):
                    raise ConcurrentUpdate("identity is already linked to another contact")
                index_updates[key] = contact.id

        self._validate_identity_records(changes)
        self._validate_work(changes)
        return index_updates

    def _apply(self, changes: Changes, index_updates: dict[IdentityKey, str | None]) -> None:
        for handoff in changes.handoffs:
            self._handoffs[(handoff.tenant, handoff.id)] = handoff
            self._references[(handoff.tenant, handoff.reference)] = handoff.id
            thread_key = (handoff.tenant, handoff.thread.platform, handoff.thread.thread_id)
            if handoff.version == 1:
                self._thread_handoffs.setdefault(thread_key, []).append(handoff.id)
            if handoff.is_open:
                self._open_threads[thread_key] = handoff.id
            elif self._open_threads.get(thread_key) == handoff.id:
                del self._open_threads[thread_key]
        for contact in changes.contacts:
            self._contacts[(contact.tenant, contact.id)] = contact
        for key, owner in index_updates.items():
            if owner is None:
                self._identity_index.pop(key, None)
            else:
                self._identity_index[key] = owner
        self._apply_identity_records(changes)
        self._apply_consent(changes)
        linked, heads = link_events(changes.events, self._chain_heads)
        self._chain_heads.update(heads)
        for event in linked:
            self._seq += 1
            self._events.append(event.model_copy(update={"seq": self._seq}))
        self._apply_work(changes)

    # -- reading ----------------------------------------------------------------

    def get_handoff(self, tenant: str, handoff_id: str) -> Handoff | None:
        return self._handoffs.get((tenant, handoff_id))

    def get_handoffs(self, tenant: str, handoff_ids: Sequence[str]) -> dict[str, Handoff]:
        found = (self._handoffs.get((tenant, handoff_id)) for handoff_id in handoff_ids)
        return {handoff.id: handoff for handoff in found if handoff is not None}

    def find_handoff_by_reference(self, tenant: str, reference: str) -> Handoff | None:
        handoff_id = self._references.get((tenant, reference))
        return self._handoffs.get((tenant, handoff_id)) if handoff_id else None

    def find_open_handoff(self, tenant: str, platform: str, thread_id: str) -> Handoff | None:
        handoff_id = self._open_threads.get((tenant, platform, thread_id))
        return self._handoffs.get((tenant, handoff_id)) if handoff_id else None

    def thread_handoffs(self, tenant: str, platform: str, thread_id: str) -> list[Handoff]:
        with self._lock:
            ids = list(self._thread_handoffs.get((tenant, platform, thread_id), ()))
            found = [self._handoffs[(tenant, handoff_id)] for handoff_id in ids]
        return sorted(found, key=lambda handoff: (handoff.opened_at, handoff.id))

    def open_handoffs_for_contact(self, tenant: str, contact_id: str) -> list[Handoff]:
        with self._lock:
            found = [
                handoff
                for (handoff_tenant, _), handoff in self._handoffs.items()
                if handoff_tenant == tenant and handoff.contact_id == contact_id and handoff.is_open
            ]
        return sorted(found, key=lambda handoff: handoff.opened_at)

    def get_contact(self, tenant: str, contact_id: str) -> Contact | None:
        return self._contacts.get((tenant, contact_id))

    def resolve_identity(self, tenant: str, identity: Identity) -> Contact | None:
        contact_id = self._identity_index.get((tenant, identity.kind.value, identity.value))
        return self._contacts.get((tenant, contact_id)) if contact_id else None

    def contacts_unlinked_from(self, tenant: str, identity: Identity) -> list[Contact]:
        with self._lock:
            contacts = list(self._contacts.values())
        return [
            contact
            for contact in contacts
            # Not ``unlinked_for``: it skips a record the contact holds the address
            # past (a merge brought it back), and erasure must remove that one too.
            if contact.tenant == tenant
            and any(gone.identity == identity for gone in contact.unlinked)
        ]

    def events(
        self, tenant: str, *, handoff_id: str | None = None, contact_id: str | None = None
    ) -> list[Event]:
        with self._lock:
            return [
                event
                for event in self._events
                if event.tenant == tenant
                and (handoff_id is None or event.handoff_id == handoff_id)
                and (contact_id is None or event.contact_id == contact_id)
            ]

    def chain_heads(self, tenant: str) -> list[ChainHead]:
        with self._lock:
            heads = [head for head in self._chain_heads.values() if head.tenant == tenant]
        return sorted(heads, key=lambda head: head.chain)

    def before_hashing(self, tenant: str) -> BeforeHashing:
        return BeforeHashing(tenant=tenant)  # every event it ever held was hashed

    def handoffs_opened(
        self, tenant: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[Handoff]:
        since = None if since is None else ensure_aware(since, "since")
        until = None if until is None else ensure_aware(until, "until")
        with self._lock:
            found = [
                handoff
                for (handoff_tenant, _), handoff in self._handoffs.items()
                if handoff_tenant == tenant
                and (since is None or handoff.opened_at >= since)
                and (until is None or handoff.opened_at < until)
            ]
        return sorted(found, key=lambda handoff: (handoff.opened_at, handoff.id))

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"MemoryStore(handoffs={len(self._handoffs)}, contacts={len(self._contacts)})"
