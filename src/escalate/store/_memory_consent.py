"""The consent ledger of ``MemoryStore``: records by address, erasure proofs, erasure.

A mixin, as ``_sqlite_consent`` is of ``SQLiteStore``: the store owns the state,
the lock and the sequence shared with audit events (``_seq``), and calls
``_apply_consent`` from its ``commit``.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Sequence
from typing import TYPE_CHECKING

from escalate._identity import Identity
from escalate.consent._records import ConsentProof, ConsentRecord
from escalate.store._changes import Changes
from escalate.store._memory_identity import IdentityKey

__all__ = ["ConsentMemory"]


class ConsentMemory:
    """Consent records and proofs in memory; needs the state and ``_lock`` of ``MemoryStore``."""

    _lock: threading.RLock
    _consent: dict[IdentityKey, list[ConsentRecord]]
    #: (tenant, address hash) -> the proofs of that address's erased records.
    _proofs: dict[tuple[str, str], list[ConsentProof]]
    _seq: int

    if TYPE_CHECKING:

        def _erase_outbox_to(
            self, tenant: str, address: Identity, keep_handoffs: Collection[str]
        ) -> None: ...

    def _apply_consent(self, changes: Changes) -> None:
        for record in changes.consent:
            self._seq += 1
            key = (record.tenant, record.address.kind.value, record.address.value)
            self._consent[key].append(record.model_copy(update={"seq": self._seq}))

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

    def erase_address(
        self,
        tenant: str,
        address: Identity,
        proofs: Sequence[ConsentProof],
        *,
        keep_handoffs: Collection[str] = (),
    ) -> None:
        with self._lock:
            key = (tenant, address.kind.value, address.value)
            kept = [r for r in self._consent.pop(key, ()) if r.handoff_id in keep_handoffs]
            if kept:
                self._consent[key] = kept
            self._keep_proofs(tenant, proofs)
            self._erase_outbox_to(tenant, address, keep_handoffs)

    def erase_consent_records(
        self, tenant: str, address: Identity, proofs: Sequence[ConsentProof]
    ) -> None:
        with self._lock:
            key = (tenant, address.kind.value, address.value)
            named = {proof.id for proof in proofs}
            kept = [r for r in self._consent.pop(key, ()) if r.id not in named]
            if kept:
                self._consent[key] = kept
            self._keep_proofs(tenant, proofs)

    def _keep_proofs(self, tenant: str, proofs: Sequence[ConsentProof]) -> None:
        for proof in proofs:
            self._proofs[(tenant, proof.address_hash)].append(proof)
