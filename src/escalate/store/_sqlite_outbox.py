"""The outbox tables of ``SQLiteStore``: writing rows and settlements, claiming, reading.

A mixin, as ``_sqlite_identity``: it needs the store's ``_conn``, ``_lock`` and
``_transaction``. Claims walk two claim-ordered partial indexes (schema version 5)
so that a claim's cost does not grow with the backlog.
"""

from __future__ import annotations

import json
import logging
import sqlite3
import threading
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from escalate._clock import ensure_aware
from escalate._exceptions import ConcurrentUpdate, CorruptRecord
from escalate.store._changes import claim_token
from escalate.store._decoded import problems
from escalate.store._protocol import Changes, OutboxItem, OutboxStatus
from escalate.store._sqlite_identity import many, ts

__all__ = ["OutboxSQL"]

log = logging.getLogger("escalate")

_ts = ts

_OUTBOX_SELECT = (
    "SELECT id, tenant, handoff_id, idempotency_key, command, status, due_at, created_at,"
    " attempts, lease_until, claimed_by, stale_claim, result, reported, after_id FROM outbox"
)


_INSERT = (
    "INSERT INTO outbox (id, tenant, handoff_id, idempotency_key, status, due_at,"
    " created_at, attempts, command) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)"
)
_INSERT_FOLLOWING = (
    "INSERT INTO outbox (id, tenant, handoff_id, idempotency_key, status, due_at,"
    " created_at, attempts, command, after_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)

#: Every settlement clears the row's in-flight report (schema version 10): one
#: that a settlement must apply is checked for in its WHERE (``_REPORTED``).
_SETTLE = (
    "UPDATE outbox SET status = ?, result = ?, due_at = COALESCE(?, due_at),"
    " lease_until = NULL, claimed_by = NULL, reported = NULL"
)
#: ``IS``, not ``=``: it also matches the row carrying no report against ``NULL``.
_REPORTED = " AND reported IS ?"
#: A report that came in while the row's send is in flight, over the one last read.
_KEEP_REPORT = (
    "UPDATE outbox SET reported = ?"
    " WHERE id = ? AND status = 'claimed' AND claimed_by = ? AND reported IS ?"
)


#: Rows in one status, oldest first. The status (an enum's own value, never
#: input) is written into the SQL, not bound, so that the query can use a
#: partial index such as ``outbox_held``.
_BY_STATUS = {
    status: f"id IN (SELECT id FROM outbox WHERE tenant = ? AND status = '{status}'"  # noqa: S608
    " ORDER BY created_at, id LIMIT ?)"
    for status in OutboxStatus
}


class OutboxSQL:
    """Writes, claims and reads outbox rows; needs ``_conn``, ``_lock`` and ``_transaction``."""

    _conn: sqlite3.Connection
    _lock: threading.RLock

    if TYPE_CHECKING:

        def _transaction(self) -> AbstractContextManager[sqlite3.Connection]: ...

    def _write_outbox(self, conn: sqlite3.Connection, changes: Changes) -> None:
        # A row that follows another names it (schema 11); the rest, nearly all,
        # are written by the statement schemas before 11 take too, which the
        # upgrade tests rely on to fill a database at an older version.
        for follows in (False, True) if changes.outbox else ():
            many(
                conn,
                _INSERT_FOLLOWING if follows else _INSERT,
                [
                    (
                        item.id,
                        item.tenant,
                        item.handoff_id,
                        item.idempotency_key,
                        item.status.value,
                        _ts(item.due_at),
                        _ts(item.created_at),
                        item.attempts,
                        item.command.model_dump_json(),
                        *((item.after,) if follows else ()),
                    )
                    for item in changes.outbox
                    if (item.after is not None) is follows
                ],
            )
        for update in changes.outbox_updates:
            # A claimed row is settled by its claim token; a reconciled one by its status.
            values = (
                update.status.value,
                None if update.result is None else _json(update.result),
                _ts(update.due_at) if update.due_at else None,
                update.item_id,
            )
            params: list[object] = list(values)
            if update.from_status is None:
                sql = _SETTLE + " WHERE id = ? AND status = 'claimed' AND claimed_by = ?"
                params.append(update.claimed_by)
            else:
                sql = _SETTLE + " WHERE id = ? AND status = ?"
                params.append(update.from_status.value)
            if update.check_reported:
                sql += _REPORTED
                params.append(_report_text(update.reported))
            cursor = conn.execute(sql, params)
            if cursor.rowcount != 1:
                raise ConcurrentUpdate(
                    "outbox row is no longer claimed by this worker, or a delivery report"
                    " came in for it"
                    if update.check_reported
                    else "outbox row is no longer claimed by this worker"
                )
        for report in changes.outbox_reports:
            cursor = conn.execute(
                _KEEP_REPORT,
                (
                    _report_text(report.report),
                    report.item_id,
                    report.claimed_by,
                    _report_text(report.previous),
                ),
            )
            if cursor.rowcount != 1:
                raise ConcurrentUpdate("outbox row is no longer in flight as read")

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
        probe, params = _due_probe(_ts(now), tenant, handoff_id)
        with self._lock:
            # Most calls find nothing due: a plain read (WAL lets it run beside
            # a writer) answers that without taking the write lock. When rows
            # are due they are selected again under BEGIN IMMEDIATE below.
            if self._conn.execute(probe, params).fetchone() is None:
                return []
        with self._transaction() as conn:
            return self._claim_rows(
                conn,
                now,
                worker=worker,
                lease=lease,
                limit=limit,
                tenant=tenant,
                handoff_id=handoff_id,
            )

    def _claim_rows(
        self,
        conn: sqlite3.Connection,
        now: datetime,
        *,
        worker: str,
        lease: timedelta,
        limit: int,
        tenant: str | None,
        handoff_id: str | None,
        written: Sequence[OutboxItem] = (),
    ) -> list[OutboxItem]:
        """Claim due rows inside the caller's write transaction.

        ``written`` are rows this transaction inserted: a claimed one among them
        is returned as that record with its claim, not read back and parsed.
        """
        sql, params = _due_select(_ts(now), tenant, handoff_id, limit)
        rows = conn.execute(sql, params).fetchall()
        if not rows:
            return []
        lease_until = ensure_aware(now) + lease
        lease_ts = _ts(lease_until)
        tokens: dict[str, str] = {}
        for item_id, status in rows:
            tokens[item_id] = claim_token(worker)
            conn.execute(
                "UPDATE outbox SET status = 'claimed', lease_until = ?, claimed_by = ?,"
                " attempts = attempts + 1, stale_claim = ? WHERE id = ?",
                (lease_ts, tokens[item_id], int(status == "claimed"), item_id),
            )
        known = {item.id: item for item in written}
        if all(item_id in known for item_id in tokens):
            return [
                known[item_id].model_copy(
                    update={
                        "status": OutboxStatus.CLAIMED,
                        "lease_until": lease_until,
                        "claimed_by": token,
                        "attempts": known[item_id].attempts + 1,
                        "stale_claim": False,
                    }
                )
                for item_id, token in tokens.items()
            ]
        while True:
            placeholders = ",".join("?" * len(tokens))
            try:
                loaded = {
                    item.id: item
                    for item in self._load_outbox(conn, f"id IN ({placeholders})", list(tokens))
                }
                break
            except CorruptRecord as exc:
                # Held, out of every claim: or each claim would meet it and run nothing.
                _hold_unreadable(conn, exc)
                del tokens[str(exc.record_id)]
        claimed = [loaded[item_id] for item_id in tokens]  # claim order, as MemoryStore
        if len(tokens) < len(rows):  # others in the held rows' place (those claimed are not due)
            claimed += self._claim_rows(
                conn, now, worker=worker, lease=lease, limit=limit - len(tokens),
                tenant=tenant, handoff_id=handoff_id,
            )  # fmt: skip
        return claimed

    def erase_messages(self, tenant: str, handoff_ids: Sequence[str]) -> None:
        with self._transaction() as conn:
            many(
                conn,
                "DELETE FROM outbox WHERE handoff_id = ? AND tenant = ? AND status != 'claimed'"
                " AND json_extract(command, '$.kind') IN ('send_message', 'post_public_reply')",
                [(handoff_id, tenant) for handoff_id in handoff_ids],
            )

    def get_outbox_item(self, tenant: str, item_id: str) -> OutboxItem | None:
        with self._lock:
            found = self._load_outbox(self._conn, "tenant = ? AND id = ?", [tenant, item_id])
        return found[0] if found else None

    def outbox_with_status(
        self, tenant: str, status: OutboxStatus, *, limit: int = 100
    ) -> list[OutboxItem]:
        with self._lock:
            return self._load_outbox(self._conn, _BY_STATUS[status], [tenant, limit])

    def outbox(self, tenant: str, *, handoff_id: str | None = None) -> list[OutboxItem]:
        where, params = "tenant = ?", [tenant]
        if handoff_id is not None:
            where += " AND handoff_id = ?"
            params.append(handoff_id)
        with self._lock:
            return self._load_outbox(self._conn, where, params)

    def _load_outbox(
        self, conn: sqlite3.Connection, where: str, params: Sequence[object]
    ) -> list[OutboxItem]:
        # `where` is only ever built from constant fragments; values are bound.
        sql = _OUTBOX_SELECT + f" WHERE {where} ORDER BY created_at, id"
        return [_outbox_item(row) for row in conn.execute(sql, params).fetchall()]


def _outbox_item(row: Sequence[Any]) -> OutboxItem:
    try:
        return OutboxItem.model_validate(
            {
                "id": row[0],
                "tenant": row[1],
                "handoff_id": row[2],
                "idempotency_key": row[3],
                "command": _loads(row[4]),
                "status": row[5],
                "due_at": row[6],
                "created_at": row[7],
                "attempts": row[8],
                "lease_until": row[9],
                "claimed_by": row[10],
                "stale_claim": bool(row[11]),
                "result": _loads(row[12]) if row[12] else None,
                "reported": _loads(row[13]) if row[13] else None,
                "after": row[14],
            }
        )
    except ValueError as exc:  # json's or pydantic's, naming no row: the id is what to restore
        raise CorruptRecord(
            "outbox row", record_id=str(row[0]), handoff_id=row[2], detail=problems(exc)
        ) from None


def _hold_unreadable(conn: sqlite3.Connection, unreadable: CorruptRecord) -> None:
    conn.execute(
        "UPDATE outbox SET status = 'held', lease_until = NULL, claimed_by = NULL WHERE id = ?",
        (unreadable.record_id,),
    )
    log.warning(
        "outbox row %s cannot be read (changed outside escalate): held, not sent",
        unreadable.record_id,
    )


#: Claim order, as MemoryStore's: oldest due first; rows made together (one
#: transition's messages share due and creation times) by id, which a process
#: makes in increasing order, so they go in the order they were made.
_ORDER = " ORDER BY due_at, created_at, id LIMIT ?"
#: A pending row that follows another is free once that one left pending and
#: claimed (``OutboxItem.after``); nearly every row follows none.
_FREE = (
    "(after_id IS NULL OR NOT EXISTS (SELECT 1 FROM outbox AS before"
    " WHERE before.id = outbox.after_id AND before.status IN ('pending', 'claimed')))"
)
#: A row is due when it is pending, free and its time has come, or its lease ran out.
_DUE = (
    f"((status = 'pending' AND due_at <= ? AND {_FREE})"
    " OR (status = 'claimed' AND lease_until <= ?))"
)


def _due_select(
    now_ts: str, tenant: str | None, handoff_id: str | None, limit: int
) -> tuple[str, list[object]]:
    """The query for the due rows' ``id, status`` in claim order, and its parameters.

    Built only from constant fragments; values are bound.
    """
    if handoff_id is not None:
        # One handoff's rows, through outbox_handoff: a handful, whatever the
        # backlog of every other handoff (the walks below would read all of it).
        sql, params = _handoff_due(now_ts, tenant, handoff_id)
        return f"SELECT id, status{sql}{_ORDER}", [*params, limit]
    pending, expired, params = _due_queries(now_ts, tenant)
    # Two walks of claim-ordered partial indexes, each stopping after `limit`
    # rows, merged: an OR of the two conditions would read and sort every due
    # row on every claim.
    sql = (
        f"SELECT id, status FROM (SELECT * FROM ({pending}{_ORDER})"  # noqa: S608
        f" UNION ALL SELECT * FROM ({expired}{_ORDER})){_ORDER}"
    )
    return sql, [*params, limit, *params, limit, limit]


def _due_probe(now_ts: str, tenant: str | None, handoff_id: str | None) -> tuple[str, list[object]]:
    """A query that returns a row when any row in scope is due, and its parameters."""
    if handoff_id is not None:
        sql, params = _handoff_due(now_ts, tenant, handoff_id)
        return f"SELECT 1{sql} LIMIT 1", params
    pending, expired, params = _due_queries(now_ts, tenant)
    return f"SELECT 1 WHERE EXISTS ({pending}) OR EXISTS ({expired})", [*params, *params]


def _handoff_due(now_ts: str, tenant: str | None, handoff_id: str) -> tuple[str, list[object]]:
    """``FROM ... WHERE ...`` of one handoff's due rows, and its parameters."""
    sql = f" FROM outbox INDEXED BY outbox_handoff WHERE handoff_id = ? AND {_DUE}"
    params: list[object] = [handoff_id, now_ts, now_ts]
    if tenant is not None:
        sql += " AND tenant = ?"
        params.append(tenant)
    return sql, params


def _due_queries(now_ts: str, tenant: str | None) -> tuple[str, str, list[object]]:
    """The pending-and-due and the lease-expired row queries, and the parameters of each."""
    scope = ""
    params: list[object] = [now_ts]
    if tenant is not None:
        scope += " AND tenant = ?"
        params.append(tenant)
    columns = "SELECT id, status, due_at, created_at FROM outbox"
    pending = f"{columns} WHERE status = 'pending' AND due_at <= ?{scope} AND {_FREE}"
    expired = f"{columns} WHERE status = 'claimed' AND lease_until <= ?{scope}"
    return pending, expired, params


#: Built once: ``json.dumps`` with any option builds a new encoder on every call,
#: which cost more than encoding a settled row's small result.
_json = json.JSONEncoder(separators=(",", ":"), default=str).encode


#: An in-flight report is compared as text (``_REPORTED``), so it is written in
#: one canonical form: its keys sorted, whatever order it was built in.
_canonical = json.JSONEncoder(separators=(",", ":"), sort_keys=True, default=str).encode


def _report_text(report: Mapping[str, Any] | None) -> str | None:
    return None if report is None else _canonical(dict(report))


def _loads(text: object) -> object:
    return json.loads(str(text))
