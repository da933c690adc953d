"""The SQLite side of the audit hash chain: link and insert events, read and move chain heads.

Called by ``SQLiteStore`` inside its ``BEGIN IMMEDIATE`` transaction, which holds
SQLite's write lock: no other writer, in this process or another, can move a
chain head between reading it here and writing the new one, so chains never fork.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from pydantic import ValidationError

from escalate._exceptions import CorruptRecord
from escalate._models import Event
from escalate.audit._chain import BeforeHashing, ChainHead, ChainKey, Tip, chain_links, chain_of
from escalate.audit._stored import MISTYPED, stored_entry
from escalate.audit._verify import AuditEntry
from escalate.store._sqlite_identity import many, ts

__all__ = [
    "MistypedRow",
    "events_where",
    "first_unreadable_event",
    "insert_events",
    "load_audit_entries",
    "load_before_hashing",
    "load_chain_heads",
    "require_text",
]


def insert_events(conn: sqlite3.Connection, events: Sequence[Event]) -> None:
    """Link ``events`` onto their chains, insert them, and move the chains' heads."""
    if not events:
        return
    tips: dict[ChainKey, Tip] = {}
    for tenant, chain in {(event.tenant, chain_of(event)) for event in events}:
        row = conn.execute(
            f"SELECT {_HEAD_COLUMNS} FROM audit_chain_heads WHERE tenant = ? AND chain = ?",  # noqa: S608 - constant
            (tenant, chain),
        ).fetchone()
        if row is not None:
            tips[(tenant, chain)] = _tip(chain, row)
    links, new_tips = chain_links(events, tips)
    # The hashed canonical JSON is what is stored: one serialization per event,
    # and a row reads back as exactly the content its hash covers.
    many(
        conn,
        "INSERT INTO events (id, tenant, kind, at, handoff_id, contact_id, data,"
        " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        [
            (
                e.id,
                e.tenant,
                e.kind,
                ts(e.at),
                e.handoff_id,
                e.contact_id,
                content,
                prev_hash,
                own,
            )
            for e, content, prev_hash, own in links
        ],
    )
    many(
        conn,
        "INSERT INTO audit_chain_heads (tenant, chain, hash, event_id, length)"
        " VALUES (?, ?, ?, ?, ?) ON CONFLICT (tenant, chain) DO UPDATE SET"
        " hash = excluded.hash, event_id = excluded.event_id, length = excluded.length",
        [(*key, *tip) for key, tip in new_tips.items()],
    )


#: A head's columns as stored, with whether its text ones are text: a hash cast
#: to a BLOB would pass verification as the same text (pydantic coerces it) and
#: then link the next event to ``b'...'``, and text that is not UTF-8 would fail
#: the read with sqlite3's error.
_HEAD_COLUMNS = (
    "CAST(hash AS BLOB), CAST(event_id AS BLOB), length,"
    " typeof(hash) = 'text' AND typeof(event_id) = 'text'"
)


def _tip(chain: str, row: tuple[object, ...]) -> Tip:
    """A head row as a tip, if it still holds one (a ``length`` that is not an
    integer would fail every write to the chain with a ``TypeError``)."""
    hash_, event_id, length, texts = row
    if texts and isinstance(hash_, bytes) and isinstance(event_id, bytes):
        try:
            if isinstance(length, int):
                return hash_.decode(), event_id.decode(), length
        except UnicodeDecodeError:
            pass
    raise CorruptRecord(
        "audit chain head", record_id=chain, detail="hash, event_id or length of a wrong type"
    )


def load_chain_heads(conn: sqlite3.Connection, tenant: str) -> list[ChainHead]:
    """Every recorded chain head of a tenant, by chain name.

    Raises:
        CorruptRecord: a head row edited into something that is not a head.
    """
    rows = conn.execute(
        f"SELECT CAST(chain AS BLOB), {_HEAD_COLUMNS} FROM audit_chain_heads"  # noqa: S608 - constant
        " WHERE tenant = ? ORDER BY chain",
        (tenant,),
    ).fetchall()
    heads = []
    for stored_chain, *row in rows:
        chain = bytes(stored_chain).decode(errors="replace")
        hash_, event_id, length = _tip(chain, tuple(row))
        heads.append(
            ChainHead(tenant=tenant, chain=chain, hash=hash_, event_id=event_id, length=length)
        )
    return heads


def load_before_hashing(conn: sqlite3.Connection, tenant: str) -> BeforeHashing:
    """The tenant's events from before hashing, as migration 9 recorded them (none if no row)."""
    row = conn.execute(
        "SELECT last_seq, events FROM audit_before_hashing WHERE tenant = ?", (tenant,)
    ).fetchone()
    if row is None:
        return BeforeHashing(tenant=tenant)
    return BeforeHashing(tenant=tenant, last_seq=row[0], events=row[1])


#: The event columns, every text one read as the bytes stored: a row edited into
#: text that is not UTF-8 must not stop the read of every other row.
_STORED_COLUMNS = (
    "seq, CAST(id AS BLOB), CAST(data AS BLOB), CAST(prev_hash AS BLOB), CAST(hash AS BLOB),"
    " CAST(kind AS BLOB), CAST(handoff_id AS BLOB), CAST(contact_id AS BLOB)"
)
#: Whether a text column holds something else: the store writes only text (or
#: NULL), and a value cast to a BLOB reads back as the same bytes above while
#: ``WHERE handoff_id = ?`` no longer finds it and ``events()`` returns bytes.
_MISTYPED = (
    "(typeof(data) != 'text' OR typeof(kind) != 'text'"
    " OR typeof(handoff_id) NOT IN ('text', 'null') OR typeof(contact_id) NOT IN ('text', 'null')"
    " OR typeof(prev_hash) NOT IN ('text', 'null') OR typeof(hash) NOT IN ('text', 'null'))"
)


def _stored_rows(
    tenant: str, handoff_id: str | None, contact_id: str | None
) -> tuple[str, tuple[object, ...]]:
    """The query for these events as stored, with whether each has a column that is not text."""
    where, params = events_where(tenant, handoff_id, contact_id)
    sql = f"SELECT {_STORED_COLUMNS}, {_MISTYPED} FROM events {where} ORDER BY seq"  # noqa: S608 - constant
    return sql, params


def load_audit_entries(
    conn: sqlite3.Connection, tenant: str, *, handoff_id: str | None = None
) -> list[AuditEntry]:
    """The tenant's events (or one handoff's) as stored, each checked against its hash."""
    sql, params = _stored_rows(tenant, handoff_id, None)
    entries = []
    for row in conn.execute(sql, params):
        entry = stored_entry(tenant, row[:8])
        if row[8] and entry.hash is not None:
            entry = entry._replace(fault=MISTYPED)
        entries.append(entry)
    return entries


def first_unreadable_event(
    conn: sqlite3.Connection,
    tenant: str,
    *,
    handoff_id: str | None = None,
    contact_id: str | None = None,
) -> int | None:
    """The ``seq`` of the first of these events whose row does not read as an event, if any.

    Only called once a read has failed, to tell a row edited outside escalate
    (which it names) from any other failure.
    """
    sql, params = _stored_rows(tenant, handoff_id, contact_id)
    for seq, _, data, *columns, mistyped in conn.execute(sql, params):
        if mistyped:
            return int(seq)
        try:
            for text in columns:  # each one sqlite3 decodes for events()
                if text is not None:
                    text.decode()
            Event.model_validate_json(data)
        except (UnicodeDecodeError, ValidationError):
            return int(seq)
    return None


def events_where(
    tenant: str, handoff_id: str | None, contact_id: str | None
) -> tuple[str, tuple[object, ...]]:
    """The ``WHERE`` clause, and its parameters, of a read of events."""
    sql = "WHERE tenant = ?"
    params: list[object] = [tenant]
    if handoff_id is not None:
        sql += " AND handoff_id = ?"
        params.append(handoff_id)
    if contact_id is not None:
        sql += " AND contact_id = ?"
        params.append(contact_id)
    return sql, tuple(params)


class MistypedRow(Exception):
    """An event row read with a column that is not text: edited outside escalate."""


def require_text(rows: Sequence[Sequence[object]]) -> None:
    """Raise ``MistypedRow`` if any value read is bytes: a column cast to a BLOB."""
    if any(isinstance(value, bytes) for row in rows for value in row):
        raise MistypedRow
