"""The handoffs table of ``SQLiteStore``: writing a handoff's versions, and every handoff query.

A mixin, as ``_sqlite_outbox``: it needs the store's ``_one`` and ``_all`` reads
and its ``_handoffs`` cache of decoded records. ``_write_handoffs`` runs in every
transition's commit, so it is written for that hot path (see its comments).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from escalate._models import Handoff
from escalate.store._changes import Changes, check_version
from escalate.store._decoded import Decoded
from escalate.store._sqlite_identity import ts

__all__ = ["HandoffsSQL"]

_ts = ts


class HandoffsSQL:
    """Writes and reads handoffs; needs ``_one``, ``_all`` and ``_handoffs`` from the store."""

    _handoffs: Decoded[Handoff]

    if TYPE_CHECKING:

        def _one(self, sql: str, params: tuple[object, ...]) -> str | None: ...

        def _all(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]: ...

    def _write_handoffs(self, conn: sqlite3.Connection, changes: Changes) -> None:
        for handoff in changes.handoffs:
            data = handoff.model_dump_json()
            self._handoffs.remember(data, handoff)
            if handoff.version == 1:
                conn.execute(
                    "INSERT INTO handoffs (reference, platform, thread_id, state, is_open,"
                    " contact_id, version, opened_at, data, tenant, id)"
                    " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        handoff.reference,
                        handoff.thread.platform,
                        handoff.thread.thread_id,
                        handoff.state.value,
                        int(handoff.is_open),
                        handoff.contact_id,
                        handoff.version,
                        _ts(handoff.opened_at),
                        data,
                        handoff.tenant,
                        handoff.id,
                    ),
                )
                continue
            key = (handoff.tenant, handoff.id, handoff.version - 1)
            # SQLite rewrites an index entry whenever its column is SET, even to
            # the same value: set only what every transition changes, unless the
            # indexed columns really moved (closing, or a new contact). The
            # closing write is known to move is_open: it skips the narrow try.
            cursor = None
            if handoff.closed_version != handoff.version:
                cursor = conn.execute(
                    "UPDATE handoffs SET state = ?, version = ?, data = ? WHERE tenant = ?"
                    " AND id = ? AND version = ? AND is_open = ? AND contact_id IS ?",
                    (
                        handoff.state.value,
                        handoff.version,
                        data,
                        *key,
                        int(handoff.is_open),
                        handoff.contact_id,
                    ),
                )
            if cursor is None or cursor.rowcount != 1:
                cursor = conn.execute(
                    "UPDATE handoffs SET state = ?, is_open = ?, contact_id = ?, version = ?,"
                    " data = ? WHERE tenant = ? AND id = ? AND version = ?",
                    (
                        handoff.state.value,
                        int(handoff.is_open),
                        handoff.contact_id,
                        handoff.version,
                        data,
                        *key,
                    ),
                )
            if cursor.rowcount != 1:
                stored = conn.execute(
                    "SELECT version FROM handoffs WHERE tenant = ? AND id = ?",
                    (handoff.tenant, handoff.id),
                ).fetchone()
                check_version("handoff", handoff.version, stored[0] if stored else None)

    def get_handoff(self, tenant: str, handoff_id: str) -> Handoff | None:
        data = self._one(
            "SELECT data FROM handoffs WHERE tenant = ? AND id = ?", (tenant, handoff_id)
        )
        return None if data is None else self._handoffs.load(data)

    def get_handoffs(self, tenant: str, handoff_ids: Sequence[str]) -> dict[str, Handoff]:
        # One bound JSON array: no SQL built from input, no bound-variable limit.
        rows = self._all(
            "SELECT data FROM handoffs WHERE tenant = ? AND id IN (SELECT value FROM json_each(?))",
            (tenant, json.dumps(list(handoff_ids))),
        )
        handoffs = (self._handoffs.load(str(row[0])) for row in rows)
        return {handoff.id: handoff for handoff in handoffs}

    def find_handoff_by_reference(self, tenant: str, reference: str) -> Handoff | None:
        data = self._one(
            "SELECT data FROM handoffs WHERE tenant = ? AND reference = ?", (tenant, reference)
        )
        return None if data is None else self._handoffs.load(data)

    def find_open_handoff(self, tenant: str, platform: str, thread_id: str) -> Handoff | None:
        data = self._one(
            "SELECT data FROM handoffs WHERE tenant = ? AND platform = ? AND thread_id = ?"
            " AND is_open = 1",
            (tenant, platform, thread_id),
        )
        return None if data is None else self._handoffs.load(data)

    def thread_handoffs(self, tenant: str, platform: str, thread_id: str) -> list[Handoff]:
        rows = self._all(
            "SELECT data FROM handoffs WHERE tenant = ? AND platform = ? AND thread_id = ?"
            " ORDER BY opened_at, id",
            (tenant, platform, thread_id),
        )
        return [self._handoffs.load(str(row[0])) for row in rows]

    def open_handoffs_for_contact(self, tenant: str, contact_id: str) -> list[Handoff]:
        rows = self._all(
            "SELECT data FROM handoffs WHERE tenant = ? AND contact_id = ? AND is_open = 1"
            " ORDER BY opened_at, id",
            (tenant, contact_id),
        )
        return [self._handoffs.load(str(row[0])) for row in rows]

    def handoffs_opened(
        self, tenant: str, *, since: datetime | None = None, until: datetime | None = None
    ) -> list[Handoff]:
        sql, params = "SELECT data FROM handoffs WHERE tenant = ?", [tenant]
        if since is not None:
            sql += " AND opened_at >= ?"
            params.append(_ts(since))
        if until is not None:
            sql += " AND opened_at < ?"
            params.append(_ts(until))
        rows = self._all(sql + " ORDER BY opened_at, id", tuple(params))
        return [self._handoffs.load(str(row[0]), keep=False) for row in rows]
