"""The SQLite half of identity linking: contacts and their identity index, merges,
merge proposals and verification challenges.

A mixin of ``SQLiteStore``, kept apart so the store module stays readable; it
needs the store's ``_one`` and ``_all`` reads and its ``_contacts`` cache. The
merge and verification tables come from migration 2. It also holds ``ts`` and
``many``, the two helpers every SQLite module of the store writes with.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Collection, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from escalate._clock import ensure_aware, formats_last_once
from escalate._exceptions import ConcurrentUpdate
from escalate._identity import Identity
from escalate.identity._contact import Contact
from escalate.identity._records import MergeProposal, MergeRecord, VerificationRecord
from escalate.store._changes import Changes, refuse_past_limit
from escalate.store._decoded import Decoded

__all__ = ["IdentityRecordsSQL", "many", "ts"]

#: An address's challenges created since a moment: what its cap counts.
_COUNT_VERIFICATIONS = (
    "SELECT COUNT(*) FROM verifications"
    " WHERE tenant = ? AND kind = ? AND value = ? AND created_at >= ?"
)


@formats_last_once
def ts(value: datetime) -> str:
    """UTC, fixed width (``2026-01-05T18:00:00.000000Z``): string order is time order."""
    # isoformat is several times cheaper than the equivalent strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
    # and the same text for every year the store can hold (1000-9999).
    return ensure_aware(value).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


_ts = ts


def many(conn: sqlite3.Connection, sql: str, rows: Iterable[Sequence[object]]) -> None:
    """``executemany``, skipped when there is nothing to write.

    Most commits carry only a few kinds of record; an empty ``executemany`` still
    costs a statement preparation, eight times per settled send.
    """
    batch = list(rows)
    if batch:
        conn.executemany(sql, batch)


class IdentityRecordsSQL:
    """Writes and reads contacts and the identity tables.

    Needs ``_one``, ``_all`` and the ``_contacts`` cache from the store.
    """

    _contacts: Decoded[Contact]

    if TYPE_CHECKING:

        def _one(self, sql: str, params: tuple[object, ...]) -> str | None: ...

        def _all(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]: ...

    def _write_contacts(self, conn: sqlite3.Connection, changes: Changes) -> None:
        for contact in changes.contacts:
            row = (contact.version, contact.merged_into, contact.model_dump_json())
            self._contacts.remember(row[2], contact)
            if contact.version == 1:
                conn.execute(
                    "INSERT INTO contacts (version, merged_into, data, tenant, id)"
                    " VALUES (?, ?, ?, ?, ?)",
                    (*row, contact.tenant, contact.id),
                )
            else:
                cursor = conn.execute(
                    "UPDATE contacts SET version = ?, merged_into = ?, data = ?"
                    " WHERE tenant = ? AND id = ? AND version = ?",
                    (*row, contact.tenant, contact.id, contact.version - 1),
                )
                if cursor.rowcount != 1:
                    raise ConcurrentUpdate(f"contact version {contact.version} is stale")
            conn.execute(
                "DELETE FROM contact_identities WHERE tenant = ? AND contact_id = ?",
                (contact.tenant, contact.id),
            )
        # Inserted after every delete, so a merge can move identities between
        # contacts written in the same change.
        many(
            conn,
            "INSERT INTO contact_identities (tenant, kind, value, contact_id) VALUES (?, ?, ?, ?)",
            [
                (contact.tenant, identity.kind.value, identity.value, contact.id)
                for contact in changes.contacts
                if not contact.is_tombstone
                for identity in contact.identities
            ],
        )

    def _write_identity_records(self, conn: sqlite3.Connection, changes: Changes) -> None:
        many(
            conn,
            "INSERT OR REPLACE INTO contact_merges"
            " (tenant, id, survivor_id, absorbed_id, active, at, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            [
                (
                    m.tenant,
                    m.id,
                    m.survivor_id,
                    m.absorbed_id,
                    int(m.is_active),
                    _ts(m.at),
                    m.model_dump_json(),
                )
                for m in changes.merges
            ],
        )
        many(
            conn,
            "INSERT OR REPLACE INTO merge_proposals (tenant, id, status, created_at, data)"
            " VALUES (?, ?, ?, ?, ?)",
            [
                (p.tenant, p.id, p.status.value, _ts(p.created_at), p.model_dump_json())
                for p in changes.merge_proposals
            ],
        )
        for v in changes.verifications:
            # An erased challenge keeps no address, in its data or in the indexed column.
            kind, value = ("", "") if v.identity is None else v.identity.key
            if v.version == 1:
                if changes.issue_limit is not None and v.identity is not None:
                    # Inside the write transaction: no other writer can add one meanwhile.
                    (issued,) = conn.execute(
                        _COUNT_VERIFICATIONS,
                        (v.tenant, kind, value, _ts(changes.issue_limit.since)),
                    ).fetchone()
                    refuse_past_limit(changes.issue_limit, int(issued))
                conn.execute(
                    "INSERT INTO verifications (tenant, id, kind, value, created_at, version, data)"
                    " VALUES (?, ?, ?, ?, ?, 1, ?)",
                    (
                        v.tenant,
                        v.id,
                        kind,
                        value,
                        _ts(v.created_at),
                        v.model_dump_json(),
                    ),
                )
                continue
            cursor = conn.execute(
                "UPDATE verifications SET version = ?, data = ?, value = ?"
                " WHERE tenant = ? AND id = ? AND version = ?",
                (v.version, v.model_dump_json(), value, v.tenant, v.id, v.version - 1),
            )
            if cursor.rowcount != 1:
                raise ConcurrentUpdate(f"verification version {v.version} is stale")

    def get_contact(self, tenant: str, contact_id: str) -> Contact | None:
        data = self._one(
            "SELECT data FROM contacts WHERE tenant = ? AND id = ?", (tenant, contact_id)
        )
        return None if data is None else self._contacts.load(data)

    def contacts_unlinked_from(self, tenant: str, identity: Identity) -> list[Contact]:
        rows = self._all(
            "SELECT data FROM contacts WHERE tenant = ? AND EXISTS (SELECT 1 FROM"
            " json_each(contacts.data, '$.unlinked') AS gone"
            " WHERE json_extract(gone.value, '$.identity.kind') = ?"
            " AND json_extract(gone.value, '$.identity.value') = ?)",
            (tenant, identity.kind.value, identity.value),
        )
        return [self._contacts.load(str(data)) for (data,) in rows]

    def resolve_identity(self, tenant: str, identity: Identity) -> Contact | None:
        data = self._one(
            "SELECT c.data FROM contact_identities i JOIN contacts c"
            " ON c.tenant = i.tenant AND c.id = i.contact_id"
            " WHERE i.tenant = ? AND i.kind = ? AND i.value = ?",
            (tenant, identity.kind.value, identity.value),
        )
        return None if data is None else self._contacts.load(data)

    def get_merge(self, tenant: str, merge_id: str) -> MergeRecord | None:
        data = self._one(
            "SELECT data FROM contact_merges WHERE tenant = ? AND id = ?", (tenant, merge_id)
        )
        return None if data is None else MergeRecord.model_validate_json(data)

    def active_merges_into(self, tenant: str, survivor_id: str) -> list[MergeRecord]:
        rows = self._all(
            "SELECT data FROM contact_merges WHERE tenant = ? AND survivor_id = ? AND active = 1"
            " ORDER BY at, id",
            (tenant, survivor_id),
        )
        return [MergeRecord.model_validate_json(str(row[0])) for row in rows]

    def merges_holding(self, tenant: str, identity: Identity) -> list[MergeRecord]:
        # An "identity" object in a merge's JSON is a snapshot's link's or unlinked record's.
        rows = self._all(
            "SELECT data FROM contact_merges WHERE tenant = ? AND EXISTS (SELECT 1 FROM"
            " json_tree(contact_merges.data) AS node WHERE node.key = 'identity'"
            " AND node.type = 'object' AND json_extract(node.value, '$.kind') = ?"
            " AND json_extract(node.value, '$.value') = ?) ORDER BY at, id",
            (tenant, identity.kind.value, identity.value),
        )
        return [MergeRecord.model_validate_json(str(row[0])) for row in rows]

    def merges_of(self, tenant: str, contact_ids: Collection[str]) -> list[MergeRecord]:
        ids = json.dumps(sorted(contact_ids))
        rows = self._all(
            "SELECT data FROM contact_merges WHERE tenant = ?"
            " AND (survivor_id IN (SELECT value FROM json_each(?))"
            " OR absorbed_id IN (SELECT value FROM json_each(?))) ORDER BY at, id",
            (tenant, ids, ids),
        )
        return [MergeRecord.model_validate_json(str(row[0])) for row in rows]

    def get_merge_proposal(self, tenant: str, proposal_id: str) -> MergeProposal | None:
        data = self._one(
            "SELECT data FROM merge_proposals WHERE tenant = ? AND id = ?", (tenant, proposal_id)
        )
        return None if data is None else MergeProposal.model_validate_json(data)

    def merge_proposals(self, tenant: str, *, status: str | None = None) -> list[MergeProposal]:
        sql, params = "SELECT data FROM merge_proposals WHERE tenant = ?", [tenant]
        if status is not None:
            sql += " AND status = ?"
            params.append(str(status))
        rows = self._all(sql + " ORDER BY created_at, id", tuple(params))
        return [MergeProposal.model_validate_json(str(row[0])) for row in rows]

    def get_verification(self, tenant: str, challenge_id: str) -> VerificationRecord | None:
        data = self._one(
            "SELECT data FROM verifications WHERE tenant = ? AND id = ?", (tenant, challenge_id)
        )
        return None if data is None else VerificationRecord.model_validate_json(data)

    def count_verifications(self, tenant: str, identity: Identity, since: datetime) -> int:
        count = self._one(
            _COUNT_VERIFICATIONS, (tenant, identity.kind.value, identity.value, _ts(since))
        )
        return int(count or 0)

    def verifications_of(self, tenant: str, identity: Identity) -> list[VerificationRecord]:
        rows = self._all(
            "SELECT data FROM verifications WHERE tenant = ? AND kind = ? AND value = ?"
            " ORDER BY created_at, id",
            (tenant, identity.kind.value, identity.value),
        )
        return [VerificationRecord.model_validate_json(str(row[0])) for row in rows]

    def verifications_by(
        self, tenant: str, contact_ids: Collection[str]
    ) -> list[VerificationRecord]:
        # No column holds the contact: erasure and export are rare, a scan will do.
        rows = self._all(
            "SELECT data FROM verifications WHERE tenant = ?"
            " AND json_extract(data, '$.contact_id') IN (SELECT value FROM json_each(?))"
            " ORDER BY created_at, id",
            (tenant, json.dumps(sorted(contact_ids))),
        )
        return [VerificationRecord.model_validate_json(str(row[0])) for row in rows]
