"""The SQLite side of the audit hash chain: link and insert events, read and move chain heads.

Called by ``SQLiteStore`` inside its ``BEGIN IMMEDIATE`` transaction, which holds
SQLite's write lock: no other writer, in this process or another, can move a
chain head between reading it here and writing the new one, so chains never fork.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from escalate._models import Event
from escalate.audit._chain import BeforeHashing, ChainHead, ChainKey, Tip, chain_links, chain_of
from escalate.store._sqlite_identity import many, ts

__all__ = ["insert_events", "load_before_hashing", "load_chain_heads"]


def insert_events(conn: sqlite3.Connection, events: Sequence[Event]) -> None:
    """Link ``events`` onto their chains, insert them, and move the chains' heads."""
    if not events:
        return
    tips: dict[ChainKey, Tip] = {}
    for tenant, chain in {(event.tenant, chain_of(event)) for event in events}:
        row = conn.execute(
            "SELECT hash, event_id, length FROM audit_chain_heads WHERE tenant = ? AND chain = ?",
            (tenant, chain),
        ).fetchone()
        if row is not None:
            tips[(tenant, chain)] = row
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


def load_chain_heads(conn: sqlite3.Connection, tenant: str) -> list[ChainHead]:
    """Every recorded chain head of a tenant, by chain name."""
    rows = conn.execute(
        "SELECT chain, hash, event_id, length FROM audit_chain_heads"
        " WHERE tenant = ? ORDER BY chain",
        (tenant,),
    ).fetchall()
    return [
        ChainHead(tenant=tenant, chain=chain, hash=hash_, event_id=event_id, length=length)
        for chain, hash_, event_id, length in rows
    ]


def load_before_hashing(conn: sqlite3.Connection, tenant: str) -> BeforeHashing:
    """The tenant's events from before hashing, as migration 9 recorded them (none if no row)."""
    row = conn.execute(
        "SELECT last_seq, events FROM audit_before_hashing WHERE tenant = ?", (tenant,)
    ).fetchone()
    if row is None:
        return BeforeHashing(tenant=tenant)
    return BeforeHashing(tenant=tenant, last_seq=row[0], events=row[1])
