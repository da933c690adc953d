"""The in-memory half of identity linking: merges, merge proposals and verification challenges.

A mixin of ``MemoryStore``, as ``_sqlite_identity`` is of ``SQLiteStore``: the
store owns the state and the lock, and calls ``_validate_identity_records`` and
``_apply_identity_records`` from its ``commit``. Contacts and their identity
index stay in the store itself: every handoff write checks them.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from datetime import datetime

from escalate._clock import ensure_aware
from escalate._identity import Identity
from escalate.identity._records import MergeProposal, MergeRecord, VerificationRecord
from escalate.store._changes import Changes, check_version, refuse_past_limit

__all__ = ["IdentityRecordsMemory", "IdentityKey"]

IdentityKey = tuple[str, str, str]  # tenant, kind, value


class IdentityRecordsMemory:
    """Merges, proposals and verifications in memory; needs the state and ``_lock`` of the store."""

    _lock: threading.RLock
    _merges: dict[tuple[str, str], MergeRecord]
    _proposals: dict[tuple[str, str], MergeProposal]
    _verifications: dict[tuple[str, str], VerificationRecord]
    _verifications_by_address: dict[IdentityKey, list[VerificationRecord]]

    def _validate_identity_records(self, changes: Changes) -> None:
        limit = changes.issue_limit
        for challenge in changes.verifications:
            if limit is not None and challenge.version == 1 and challenge.identity is not None:
                issued = self.count_verifications(challenge.tenant, challenge.identity, limit.since)
                refuse_past_limit(limit, issued)
            stored_challenge = self._verifications.get((challenge.tenant, challenge.id))
            check_version(
                "verification",
                challenge.version,
                stored_challenge.version if stored_challenge else None,
            )

    def _apply_identity_records(self, changes: Changes) -> None:
        for merge in changes.merges:
            self._merges[(merge.tenant, merge.id)] = merge
        for proposal in changes.merge_proposals:
            self._proposals[(proposal.tenant, proposal.id)] = proposal
        for challenge in changes.verifications:
            stored = self._verifications.get((challenge.tenant, challenge.id))
            if stored is not None and stored.identity is not None and challenge.identity is None:
                # Erased: the address index must not keep the person's address either.
                issued = self._verifications_by_address[_address_key(stored)]
                issued[:] = [kept for kept in issued if kept.id != challenge.id]
                if not issued:
                    del self._verifications_by_address[_address_key(stored)]
            elif challenge.version == 1 and challenge.identity is not None:
                self._verifications_by_address[_address_key(challenge)].append(challenge)
            self._verifications[(challenge.tenant, challenge.id)] = challenge

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

    def merges_holding(self, tenant: str, identity: Identity) -> list[MergeRecord]:
        with self._lock:
            found = [
                merge
                for merge in self._merges.values()
                if merge.tenant == tenant
                and any(
                    identity in snapshot.identities
                    or any(gone.identity == identity for gone in snapshot.unlinked)
                    for snapshot in (merge.survivor_before, merge.absorbed_before)
                )
            ]
        return sorted(found, key=lambda merge: (merge.at, merge.id))

    def merges_of(self, tenant: str, contact_ids: Collection[str]) -> list[MergeRecord]:
        ids = set(contact_ids)
        with self._lock:
            found = [
                merge
                for merge in self._merges.values()
                if merge.tenant == tenant and {merge.survivor_id, merge.absorbed_id} & ids
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

    def verifications_of(self, tenant: str, identity: Identity) -> list[VerificationRecord]:
        with self._lock:
            issued = self._verifications_by_address.get(
                (tenant, identity.kind.value, identity.value), []
            )
            found = [self._verifications[(tenant, challenge.id)] for challenge in issued]
        return sorted(found, key=lambda challenge: (challenge.created_at, challenge.id))

    def verifications_by(
        self, tenant: str, contact_ids: Collection[str]
    ) -> list[VerificationRecord]:
        ids = set(contact_ids)
        with self._lock:
            found = [
                challenge
                for challenge in self._verifications.values()
                if challenge.tenant == tenant and challenge.contact_id in ids
            ]
        return sorted(found, key=lambda challenge: (challenge.created_at, challenge.id))


def _address_key(challenge: VerificationRecord) -> IdentityKey:
    assert challenge.identity is not None  # callers index only challenges with an address
    return (challenge.tenant, challenge.identity.kind.value, challenge.identity.value)
