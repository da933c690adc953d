"""``MemoryStore``: the Store contract in process memory, for tests and short scripts.

It keeps the same promises as the durable stores (atomic commits, version
checks, uniqueness) so that a workflow tested against it behaves the same on
SQLite. ``commit`` validates the whole change before applying any of it.
"""

from __future__ import annotations

import os
import threading
from collections import defaultdict
from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from escalate._clock import ensure_aware
from escalate._exceptions import ConcurrentUpdate, StaleTimer
from escalate._identity import Identity
from escalate._models import Event, Handoff
from escalate.audit._chain import BeforeHashing, ChainHead, ChainKey, link_events
from escalate.consent._records import ConsentProof, ConsentRecord
from escalate.identity._contact import Contact
from escalate.identity._records import MergeProposal, MergeRecord, VerificationRecord
from escalate.store._protocol import (
    Changes,
    OutboxItem,
    OutboxStatus,
    Timer,
    TimerStatus,
)

__all__ = ["MemoryStore"]

_IdentityKey = tuple[str, str, str]  # tenant, kind, value


def check_version(kind: str, new_version: int, stored_version: int | None) -> None:
    """Raise ``ConcurrentUpdate`` unless ``new_version`` is the stored one plus one."""
    expected = 1 if stored_version is None else stored_version + 1
    if new_version != expected:
        raise ConcurrentUpdate(
            f"{kind} version {new_version} does not follow stored version {stored_version}"
        )


def _same_report(item: OutboxItem | None, report: Mapping[str, Any] | None) -> bool:
    """Whether ``item`` carries exactly ``report`` as its in-flight report."""
    return item is not None and item.reported == (None if report is None else dict(report))


def claim_token(worker: str) -> str:
    """A per-claim owner tag, so a worker whose lease was taken over cannot settle the row."""
    return f"{worker}:{os.urandom(6).hex()}"


class MemoryStore:
    """An in-memory ``Store``. Thread-safe; loses everything when the process ends."""

    def __init__(self) -> None:
        self._lock = threading.RLock()
        self._handoffs: dict[tuple[str, str], Handoff] = {}
        self._open_threads: dict[tuple[str, str, str], str] = {}
        self._thread_handoffs: dict[tuple[str, str, str], list[str]] = {}
        self._references: dict[tuple[str, str], str] = {}
        self._contacts: dict[tuple[str, str], Contact] = {}
        self._identity_index: dict[_IdentityKey, str] = {}
        self._consent: dict[_IdentityKey, list[ConsentRecord]] = defaultdict(list)
        self._events: list[Event] = []
        self._outbox: dict[str, OutboxItem] = {}
        self._idempotency_keys: set[str] = set()
        self._timers: dict[str, Timer] = {}
        self._pending_timers: dict[tuple[str, str], str] = {}
        self._proofs: dict[tuple[str, str], list[ConsentProof]] = defaultdict(list)
        self._seq = 0
        self._merges: dict[tuple[str, str], MergeRecord] = {}
        self._proposals: dict[tuple[str, str], MergeProposal] = {}
        self._verifications: dict[tuple[str, str], VerificationRecord] = {}
        self._verifications_by_address: dict[_IdentityKey, list[VerificationRecord]] = defaultdict(
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

    def _validate(self, changes: Changes) -> dict[_IdentityKey, str | None]:
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
        index_updates: dict[_IdentityKey, str | None] = {}
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

        self._validate_rest(changes)
        return index_updates

    def _validate_rest(self, changes: Changes) -> None:
        """Verifications, outbox rows and timers (the records with no identity index)."""
        keys: set[str] = set()
        for challenge in changes.verifications:
            stored_challenge = self._verifications.get((challenge.tenant, challenge.id))
            check_version(
                "verification",
                challenge.version,
                stored_challenge.version if stored_challenge else None,
            )
        for item in changes.outbox:
            if item.idempotency_key in self._idempotency_keys or item.idempotency_key in keys:
                raise ConcurrentUpdate("outbox idempotency key already used")
            keys.add(item.idempotency_key)
        for timer_id in changes.fire_timers:
            timer = self._timers.get(timer_id)
            if timer is None or timer.status is not TimerStatus.PENDING:
                raise StaleTimer(timer_id)
        for update in changes.outbox_updates:
            stored_item = self._outbox.get(update.item_id)
            if update.from_status is not None:
                if stored_item is None or stored_item.status is not update.from_status:
                    raise ConcurrentUpdate(f"outbox row is no longer {update.from_status.value}")
            elif (
                stored_item is None
                or stored_item.status is not OutboxStatus.CLAIMED
                or stored_item.claimed_by != update.claimed_by
            ):
                raise ConcurrentUpdate("outbox row is no longer claimed by this worker")
            if update.check_reported and not _same_report(stored_item, update.reported):
                raise ConcurrentUpdate("a delivery report came in for the outbox row")
        for report in changes.outbox_reports:
            stored_item = self._outbox.get(report.item_id)
            if (
                stored_item is None
                or stored_item.status is not OutboxStatus.CLAIMED
                or stored_item.claimed_by != report.claimed_by
                or not _same_report(stored_item, report.previous)
            ):
                raise ConcurrentUpdate("outbox row is no longer in flight as read")

    def _apply(self, changes: Changes, index_updates: dict[_IdentityKey, str | None]) -> None:
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
        for merge in changes.merges:
            self._merges[(merge.tenant, merge.id)] = merge
        for proposal in changes.merge_proposals:
            self._proposals[(proposal.tenant, proposal.id)] = proposal
        for challenge in changes.verifications:
            if challenge.version == 1:
                address = (
                    challenge.tenant,
                    challenge.identity.kind.value,
                    challenge.identity.value,
                )
                self._verifications_by_address[address].append(challenge)
            self._verifications[(challenge.tenant, challenge.id)] = challenge
        for record in changes.consent:
            self._seq += 1
            key = (record.tenant, record.address.kind.value, record.address.value)
            self._consent[key].append(record.model_copy(update={"seq": self._seq}))
        linked, heads = link_events(changes.events, self._chain_heads)
        self._chain_heads.update(heads)
        for event in linked:
            self._seq += 1
            self._events.append(event.model_copy(update={"seq": self._seq}))
        for item in changes.outbox:
            self._outbox[item.id] = item
            self._idempotency_keys.add(item.idempotency_key)
        for update in changes.outbox_updates:
            stored_item = self._outbox[update.item_id]
            self._outbox[update.item_id] = stored_item.model_copy(
                update={
                    "status": update.status,
                    "result": update.result,
                    "due_at": ensure_aware(update.due_at) if update.due_at else stored_item.due_at,
                    "lease_until": None,
                    "claimed_by": None,
                    "reported": None,
                }
            )
        for report in changes.outbox_reports:
            stored_item = self._outbox[report.item_id]
            self._outbox[report.item_id] = stored_item.model_copy(
                update={"reported": dict(report.report)}
            )
        for handoff_id, name in changes.cancel_timers:
            self._finish_timer(self._pending_timers.get((handoff_id, name)), TimerStatus.CANCELLED)
        for timer_id in changes.fire_timers:
            self._finish_timer(timer_id, TimerStatus.FIRED)
        for handoff_id, name, due_at in changes.move_timers:
            pending = self._pending_timers.get((handoff_id, name))
            if pending is not None:
                moved = self._timers[pending].model_copy(update={"due_at": ensure_aware(due_at)})
                self._timers[pending] = moved
        for timer in changes.timers:
            self._finish_timer(
                self._pending_timers.get((timer.handoff_id, timer.name)), TimerStatus.CANCELLED
            )
            self._timers[timer.id] = timer
            self._pending_timers[(timer.handoff_id, timer.name)] = timer.id

    def _finish_timer(self, timer_id: str | None, status: TimerStatus) -> None:
        timer = self._timers.get(timer_id) if timer_id else None
        if timer is None or timer.status is not TimerStatus.PENDING:
            return
        self._timers[timer.id] = timer.model_copy(update={"status": status})
        self._pending_timers.pop((timer.handoff_id, timer.name), None)

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

    def get_merge(self, tenant: str, merge_id: str) -> MergeRecord | None:
        return self._merges.get((tenant, merge_id))

    def active_merges_into(self, tenant: str, survivor_id: str) -> list[MergeRecord]:
        with self._lock:
            found = [
                merge
                for merge in self._merges.values()
                if merge.tenant == tenant and merge.survivor_id == survivor_id and merge.is_active
            ]
        return sorted(found, key=lambda merge: (merge.at, merge.id))

    def get_merge_proposal(self, tenant: str, proposal_id: str) -> MergeProposal | None:
        return self._proposals.get((tenant, proposal_id))

    def merge_proposals(self, tenant: str, *, status: str | None = None) -> list[MergeProposal]:
        with self._lock:
            found = [
                proposal
                for proposal in self._proposals.values()
                if proposal.tenant == tenant and (status is None or proposal.status == status)
            ]
        return sorted(found, key=lambda proposal: (proposal.created_at, proposal.id))

    def get_verification(self, tenant: str, challenge_id: str) -> VerificationRecord | None:
        return self._verifications.get((tenant, challenge_id))

    def count_verifications(self, tenant: str, identity: Identity, since: datetime) -> int:
        since = ensure_aware(since, "since")
        with self._lock:
            issued = self._verifications_by_address.get(
                (tenant, identity.kind.value, identity.value), []
            )
            return sum(1 for challenge in issued if challenge.created_at >= since)

    def consent_records(self, tenant: str, address: Identity) -> list[ConsentRecord]:
        with self._lock:
            return list(self._consent.get((tenant, address.kind.value, address.value), ()))

    def consent_proofs(self, tenant: str, address_hash: str) -> list[ConsentProof]:
        with self._lock:
            return list(self._proofs.get((tenant, address_hash), ()))

    def consent_history(
        self, tenant: str, address: Identity, address_hash: str
    ) -> tuple[list[ConsentProof], list[ConsentRecord]]:
        with self._lock:
            return self.consent_proofs(tenant, address_hash), self.consent_records(tenant, address)

    def erase_address(self, tenant: str, address: Identity, proofs: Sequence[ConsentProof]) -> None:
        with self._lock:
            self._consent.pop((tenant, address.kind.value, address.value), None)
            for proof in proofs:
                self._proofs[(tenant, proof.address_hash)].append(proof)
            for item in list(self._outbox.values()):
                command = item.command
                if (
                    item.tenant == tenant
                    and item.status is not OutboxStatus.CLAIMED
                    and getattr(command, "to", None) == address
                ):
                    del self._outbox[item.id]

    def erase_messages(self, tenant: str, handoff_ids: Sequence[str]) -> None:
        erased = set(handoff_ids)
        with self._lock:
            for item in list(self._outbox.values()):
                if (
                    item.tenant == tenant
                    and item.handoff_id in erased
                    and item.status is not OutboxStatus.CLAIMED
                    and item.command.kind == "send_message"
                ):
                    del self._outbox[item.id]

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
        now = ensure_aware(now, "now")
        with self._lock:
            due = [
                item
                for item in self._outbox.values()
                if (handoff_id is None or item.handoff_id == handoff_id)
                and (tenant is None or item.tenant == tenant)
                and (
                    (
                        item.status is OutboxStatus.PENDING
                        and item.due_at <= now
                        and self._free(item)
                    )
                    or (
                        item.status is OutboxStatus.CLAIMED
                        and item.lease_until is not None
                        and item.lease_until <= now
                    )
                )
            ]
            due.sort(key=lambda item: (item.due_at, item.created_at, item.id))
            claimed = []
            for item in due[:limit]:
                updated = item.model_copy(
                    update={
                        "status": OutboxStatus.CLAIMED,
                        "lease_until": now + lease,
                        "claimed_by": claim_token(worker),
                        "attempts": item.attempts + 1,
                        "stale_claim": item.status is OutboxStatus.CLAIMED,
                    }
                )
                self._outbox[item.id] = updated
                claimed.append(updated)
            return claimed

    def _free(self, item: OutboxItem) -> bool:
        """Whether the row ``item`` follows (if any) has left pending and claimed."""
        before = self._outbox.get(item.after) if item.after is not None else None
        return before is None or before.status not in (OutboxStatus.PENDING, OutboxStatus.CLAIMED)

    def get_outbox_item(self, tenant: str, item_id: str) -> OutboxItem | None:
        item = self._outbox.get(item_id)
        return item if item is not None and item.tenant == tenant else None

    def outbox_with_status(
        self, tenant: str, status: OutboxStatus, *, limit: int = 100
    ) -> list[OutboxItem]:
        with self._lock:
            items = [
                item
                for item in self._outbox.values()
                if item.tenant == tenant and item.status is status
            ]
        return sorted(items, key=lambda item: (item.created_at, item.id))[:limit]

    def outbox(self, tenant: str, *, handoff_id: str | None = None) -> list[OutboxItem]:
        with self._lock:
            items = [
                item
                for item in self._outbox.values()
                if item.tenant == tenant and (handoff_id is None or item.handoff_id == handoff_id)
            ]
        return sorted(items, key=lambda item: (item.created_at, item.id))

    def due_timers(
        self, now: datetime, *, limit: int = 100, tenant: str | None = None
    ) -> list[Timer]:
        now = ensure_aware(now, "now")
        with self._lock:
            due = [
                self._timers[timer_id]
                for timer_id in self._pending_timers.values()
                if self._timers[timer_id].due_at <= now
                and (tenant is None or self._timers[timer_id].tenant == tenant)
            ]
        return sorted(due, key=lambda timer: (timer.due_at, timer.id))[:limit]

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"MemoryStore(handoffs={len(self._handoffs)}, contacts={len(self._contacts)})"
