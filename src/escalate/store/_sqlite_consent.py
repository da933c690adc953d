"""The consent ledger of ``SQLiteStore``: appending records, reading them by address, erasure.

A mixin, as ``_sqlite_outbox``: it needs the store's ``_lock``, ``_transaction``,
``_all`` and its ``_consent`` cache of decoded records.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Collection, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

from escalate._identity import Identity
from escalate.consent._records import ConsentProof, ConsentRecord
from escalate.store._changes import Changes
from escalate.store._decoded import Decoded, read_row
from escalate.store._sqlite_identity import many, ts

__all__ = ["ConsentSQL"]

_ts = ts


class ConsentSQL:
    """Writes and reads consent records and erasure proofs; needs the store's connection."""

    _lock: threading.RLock
    _consent: Decoded[ConsentRecord]

    if TYPE_CHECKING:

        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

        def _all(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]: ...

    def _write_consent(self, conn: sqlite3.Connection, changes: Changes) -> None:
        rows = []
        for record in changes.consent:
            data = record.model_dump_json()
            if record.seq is None:  # as it reads back, before its seq is set from the row
                self._consent.remember(data, record)
            address = record.address
            rows.append(
                (record.id, record.tenant, address.kind.value, address.value, _ts(record.at), data)
            )
        many(
            conn,
            "INSERT INTO consent_records (id, tenant, address_kind, address, at, data)"
            " VALUES (?, ?, ?, ?, ?, ?)",
            rows,
        )

    def consent_records(self, tenant: str, address: Identity) -> list[ConsentRecord]:
        rows = self._all(
            "SELECT seq, data FROM consent_records"
            " WHERE tenant = ? AND address_kind = ? AND address = ? ORDER BY seq",
            (tenant, address.kind.value, address.value),
        )
        return [self._consent.load(str(data)).model_copy(update={"seq": seq}) for seq, data in rows]

    def consent_proofs(self, tenant: str, address_hash: str) -> list[ConsentProof]:
        rows = self._all(
            "SELECT id, data FROM consent_proofs"
            " WHERE tenant = ? AND address_hash = ? ORDER BY seq",
            (tenant, address_hash),
        )
        # Read on every send's consent check: an edited row names itself, as a record does.
        return [
            read_row(ConsentProof, str(data), record="consent proof", record_id=str(proof_id))
            for proof_id, data in rows
        ]

    def consent_history(
        self, tenant: str, address: Identity, address_hash: str
    ) -> tuple[list[ConsentProof], list[ConsentRecord]]:
        with self._lock:  # reentrant: both reads inside one hold
            return self.consent_proofs(tenant, address_hash), self.consent_records(tenant, address)

    def erase_address(
        self,
        tenant: str,
        address: Identity,
        proofs: Sequence[ConsentProof],
        *,
        keep_handoffs: Collection[str] = (),
    ) -> None:
        # Another person's cases on the address keep their records and rows; a
        # JSON array parameter keeps the statement one, however many they are.
        keep = json.dumps(sorted(keep_handoffs))
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM consent_records WHERE tenant = ? AND address_kind = ? AND address = ?"
                " AND coalesce(json_extract(data, '$.handoff_id'), '') NOT IN"
                " (SELECT value FROM json_each(?))",
                (tenant, address.kind.value, address.value, keep),
            )
            self._insert_proofs(conn, tenant, proofs)
            conn.execute(
                "DELETE FROM outbox WHERE tenant = ? AND status != 'claimed'"
                " AND json_extract(command, '$.to.kind') = ?"
                " AND json_extract(command, '$.to.value') = ?"
                " AND coalesce(handoff_id, '') NOT IN (SELECT value FROM json_each(?))",
                (tenant, address.kind.value, address.value, keep),
            )
        kept = set(keep_handoffs)
        self._consent.forget(
            lambda record: (
                record.tenant == tenant
                and record.address == address
                and record.handoff_id not in kept
            )
        )

    def erase_consent_records(
        self, tenant: str, address: Identity, proofs: Sequence[ConsentProof]
    ) -> None:
        named = {proof.id for proof in proofs}
        with self._transaction() as conn:
            many(
                conn,
                "DELETE FROM consent_records WHERE tenant = ? AND id = ?"
                " AND address_kind = ? AND address = ?",
                [(tenant, i, address.kind.value, address.value) for i in sorted(named)],
            )
            self._insert_proofs(conn, tenant, proofs)
        self._consent.forget(lambda record: record.tenant == tenant and record.id in named)

    @staticmethod
    def _insert_proofs(
        conn: sqlite3.Connection, tenant: str, proofs: Sequence[ConsentProof]
    ) -> None:
        many(
            conn,
            "INSERT INTO consent_proofs (id, tenant, address_hash, at, data)"
            " VALUES (?, ?, ?, ?, ?)",
            [(p.id, tenant, p.address_hash, _ts(p.at), p.model_dump_json()) for p in proofs],
        )
