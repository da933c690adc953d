"""Schema migrations, in code: each is a version number and the statements that reach it.

A database is migrated forward on open, one transaction for all pending steps; a
database from a newer escalate is refused rather than misread.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence

from escalate._exceptions import SchemaTooNew

__all__ = ["SQLITE_MIGRATIONS", "Migration", "migrate"]

Migration = tuple[int, Sequence[str]]

SQLITE_MIGRATIONS: Sequence[Migration] = (
    (
        1,
        (
            """CREATE TABLE handoffs (
                tenant TEXT NOT NULL, id TEXT NOT NULL, reference TEXT NOT NULL,
                platform TEXT NOT NULL, thread_id TEXT NOT NULL, state TEXT NOT NULL,
                is_open INTEGER NOT NULL, contact_id TEXT, version INTEGER NOT NULL,
                opened_at TEXT NOT NULL, data TEXT NOT NULL,
                PRIMARY KEY (tenant, id))""",
            "CREATE UNIQUE INDEX handoffs_reference ON handoffs (tenant, reference)",
            "CREATE UNIQUE INDEX handoffs_open_thread ON handoffs (tenant, platform, thread_id)"
            " WHERE is_open = 1",
            "CREATE INDEX handoffs_open_contact ON handoffs (tenant, contact_id) WHERE is_open = 1",
            """CREATE TABLE contacts (
                tenant TEXT NOT NULL, id TEXT NOT NULL, version INTEGER NOT NULL,
                merged_into TEXT, data TEXT NOT NULL,
                PRIMARY KEY (tenant, id))""",
            """CREATE TABLE contact_identities (
                tenant TEXT NOT NULL, kind TEXT NOT NULL, value TEXT NOT NULL,
                contact_id TEXT NOT NULL,
                PRIMARY KEY (tenant, kind, value)) WITHOUT ROWID""",
            "CREATE INDEX contact_identities_contact ON contact_identities (tenant, contact_id)",
            """CREATE TABLE consent_records (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                tenant TEXT NOT NULL, address_kind TEXT NOT NULL, address TEXT NOT NULL,
                at TEXT NOT NULL, data TEXT NOT NULL)""",
            "CREATE INDEX consent_records_address ON consent_records"
            " (tenant, address_kind, address, seq)",
            """CREATE TABLE events (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                tenant TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
                handoff_id TEXT, contact_id TEXT, data TEXT NOT NULL)""",
            "CREATE INDEX events_handoff ON events (tenant, handoff_id, seq)",
            "CREATE INDEX events_contact ON events (tenant, contact_id, seq)",
            """CREATE TABLE outbox (
                id TEXT PRIMARY KEY, tenant TEXT NOT NULL, handoff_id TEXT,
                idempotency_key TEXT NOT NULL UNIQUE, status TEXT NOT NULL,
                due_at TEXT NOT NULL, created_at TEXT NOT NULL,
                attempts INTEGER NOT NULL DEFAULT 0, lease_until TEXT, claimed_by TEXT,
                stale_claim INTEGER NOT NULL DEFAULT 0, command TEXT NOT NULL, result TEXT)""",
            "CREATE INDEX outbox_due ON outbox (status, due_at)",
            "CREATE INDEX outbox_handoff ON outbox (handoff_id)",
            """CREATE TABLE timers (
                id TEXT PRIMARY KEY, tenant TEXT NOT NULL, handoff_id TEXT NOT NULL,
                name TEXT NOT NULL, due_at TEXT NOT NULL, status TEXT NOT NULL)""",
            "CREATE UNIQUE INDEX timers_pending ON timers (handoff_id, name)"
            " WHERE status = 'pending'",
            "CREATE INDEX timers_due ON timers (due_at) WHERE status = 'pending'",
        ),
    ),
    (
        2,
        (
            # Identity linking (issue 3): merges to undo, proposals for humans,
            # verification challenges (codes stored as salted hashes only).
            """CREATE TABLE contact_merges (
                tenant TEXT NOT NULL, id TEXT NOT NULL, survivor_id TEXT NOT NULL,
                absorbed_id TEXT NOT NULL, active INTEGER NOT NULL, at TEXT NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (tenant, id))""",
            "CREATE INDEX contact_merges_survivor ON contact_merges (tenant, survivor_id)"
            " WHERE active = 1",
            """CREATE TABLE merge_proposals (
                tenant TEXT NOT NULL, id TEXT NOT NULL, status TEXT NOT NULL,
                created_at TEXT NOT NULL, data TEXT NOT NULL,
                PRIMARY KEY (tenant, id))""",
            "CREATE INDEX merge_proposals_status ON merge_proposals (tenant, status, created_at)",
            """CREATE TABLE verifications (
                tenant TEXT NOT NULL, id TEXT NOT NULL, kind TEXT NOT NULL,
                value TEXT NOT NULL, created_at TEXT NOT NULL, version INTEGER NOT NULL,
                data TEXT NOT NULL,
                PRIMARY KEY (tenant, id))""",
            "CREATE INDEX verifications_address ON verifications (tenant, kind, value, created_at)",
        ),
    ),
    (
        3,
        (
            # What erase() keeps of consent records: a keyed hash of the address
            # and the shape of each fact, so a revoke still holds if the number returns.
            """CREATE TABLE consent_proofs (
                seq INTEGER PRIMARY KEY AUTOINCREMENT, id TEXT NOT NULL UNIQUE,
                tenant TEXT NOT NULL, address_hash TEXT NOT NULL, at TEXT NOT NULL,
                data TEXT NOT NULL)""",
            "CREATE INDEX consent_proofs_hash ON consent_proofs (tenant, address_hash)",
        ),
    ),
    (
        # The audit hash chain (escalate.audit): rows written before this step keep
        # NULL hashes; verification starts at each chain's first hashed event.
        4,
        (
            "ALTER TABLE events ADD COLUMN prev_hash TEXT",
            "ALTER TABLE events ADD COLUMN hash TEXT",
            """CREATE TABLE audit_chain_heads (
                tenant TEXT NOT NULL, chain TEXT NOT NULL, hash TEXT NOT NULL,
                event_id TEXT NOT NULL, length INTEGER NOT NULL,
                PRIMARY KEY (tenant, chain)) WITHOUT ROWID""",
            "CREATE INDEX handoffs_opened ON handoffs (tenant, opened_at)",
        ),
    ),
    (
        # Claim order as index order: a claim walks the first rows of these
        # instead of reading and sorting every due row (O(backlog) per claim).
        5,
        (
            "CREATE INDEX outbox_pending ON outbox (tenant, due_at, created_at, id)"
            " WHERE status = 'pending'",
            "CREATE INDEX outbox_leased ON outbox (tenant, lease_until) WHERE status = 'claimed'",
        ),
    ),
    (
        # A contact's open handoffs, in the order they are read: with the order
        # outside the index, SQLite preferred walking every handoff of the tenant
        # by opened_at (handoffs_opened) to sorting a contact's few.
        6,
        (
            "DROP INDEX handoffs_open_contact",
            "CREATE INDEX handoffs_open_contact ON handoffs (tenant, contact_id, opened_at, id)"
            " WHERE is_open = 1",
        ),
    ),
    (
        # Fewer pages per commit. In WAL mode every page a transaction touches is
        # one more frame written at commit, and a lifecycle wrote ~140 of them:
        # - outbox_due (status, due_at) moved an entry on every status change
        #   (pending, claimed, done) while only the held-rows listing read it;
        # - AUTOINCREMENT rewrote sqlite_sequence with every event appended. The
        #   audit log never deletes, so the plain rowid is just as monotonic.
        #   (consent_records keeps it: erasure deletes records, and a returning
        #   number's new records must still sort after the proofs left behind.)
        7,
        (
            """CREATE TABLE events_v7 (
                seq INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE,
                tenant TEXT NOT NULL, kind TEXT NOT NULL, at TEXT NOT NULL,
                handoff_id TEXT, contact_id TEXT, data TEXT NOT NULL,
                prev_hash TEXT, hash TEXT)""",
            "INSERT INTO events_v7 (seq, id, tenant, kind, at, handoff_id, contact_id, data,"
            " prev_hash, hash) SELECT seq, id, tenant, kind, at, handoff_id, contact_id, data,"
            " prev_hash, hash FROM events ORDER BY seq",
            "DROP TABLE events",
            "ALTER TABLE events_v7 RENAME TO events",
            "CREATE INDEX events_handoff ON events (tenant, handoff_id, seq)",
            "CREATE INDEX events_contact ON events (tenant, contact_id, seq)",
            "DELETE FROM sqlite_sequence WHERE name = 'events'",
            "DROP INDEX outbox_due",
            "CREATE INDEX outbox_held ON outbox (tenant, created_at, id) WHERE status = 'held'",
            # Timers are only found by their text id or an index: WITHOUT ROWID
            # makes the table and its id index one b-tree.
            """CREATE TABLE timers_v7 (
                id TEXT PRIMARY KEY, tenant TEXT NOT NULL, handoff_id TEXT NOT NULL,
                name TEXT NOT NULL, due_at TEXT NOT NULL, status TEXT NOT NULL) WITHOUT ROWID""",
            "INSERT INTO timers_v7 SELECT id, tenant, handoff_id, name, due_at, status FROM timers",
            "DROP TABLE timers",
            "ALTER TABLE timers_v7 RENAME TO timers",
            "CREATE UNIQUE INDEX timers_pending ON timers (handoff_id, name)"
            " WHERE status = 'pending'",
            "CREATE INDEX timers_due ON timers (due_at) WHERE status = 'pending'",
        ),
    ),
    (
        # Every handoff of a thread, closed ones too: a thread escalated again
        # must know what its earlier handoffs did (Meta allows one private reply
        # per comment, ever). The unique index above holds only the open one.
        8,
        ("CREATE INDEX handoffs_thread ON handoffs (tenant, platform, thread_id, opened_at, id)",),
    ),
    (
        # Where hashing began, per tenant: the events written before migration 4
        # (all of them lie below the first hashed row) and how many there are.
        # Verification takes no other unhashed row as "from before hashing": a
        # row prepended to a chain, or a chain stripped of its hashes, was
        # written around the store. A database created since records none.
        9,
        (
            """CREATE TABLE audit_before_hashing (
                tenant TEXT PRIMARY KEY, last_seq INTEGER NOT NULL, events INTEGER NOT NULL
            ) WITHOUT ROWID""",
            "INSERT INTO audit_before_hashing (tenant, last_seq, events)"
            " SELECT tenant, MAX(seq), COUNT(*) FROM events WHERE hash IS NULL"
            " AND seq < COALESCE((SELECT MIN(seq) FROM events WHERE hash IS NOT NULL),"
            " 9223372036854775807) GROUP BY tenant",
        ),
    ),
    (
        # A delivery report that beats the provider's answer to our send waits
        # on the claimed row for the send's settlement to apply it (a failure
        # reported then was lost when the send settled as accepted). A column
        # on the row, not a read of the audit log: a settlement checks it in
        # the UPDATE it makes anyway. Not indexed: nothing looks rows up by it.
        10,
        ("ALTER TABLE outbox ADD COLUMN reported TEXT",),
    ),
    (
        # A message that must not overtake another (an agent's text carried to
        # a new channel, behind that channel's intro) names it; a claim skips it
        # while that row is pending or claimed. In the claim walk's index, so
        # that a row following nothing (nearly all) is passed on the index alone.
        11,
        (
            "ALTER TABLE outbox ADD COLUMN after_id TEXT",
            "DROP INDEX outbox_pending",
            "CREATE INDEX outbox_pending ON outbox (tenant, due_at, created_at, id, after_id)"
            " WHERE status = 'pending'",
        ),
    ),
    (
        # A timer that no longer reads (or whose handoff or contact does not) is
        # held: told once, then out of every due read until an operator releases
        # it. A flag, not a status: a held timer is still the pending one of its
        # name, so the workflow cancelling or restarting it still ends it. Out
        # of the due index, so held rows cost a due read nothing.
        12,
        (
            "ALTER TABLE timers ADD COLUMN held INTEGER NOT NULL DEFAULT 0",
            "DROP INDEX timers_due",
            "CREATE INDEX timers_due ON timers (due_at) WHERE status = 'pending' AND held = 0",
        ),
    ),
)


def migrate(conn: sqlite3.Connection, migrations: Sequence[Migration]) -> int:
    """Bring ``conn``'s schema to the last migration; return the version reached.

    Call inside a transaction: either every pending step is applied or none is.
    """
    conn.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)")
    current = conn.execute("SELECT MAX(version) FROM schema_version").fetchone()[0] or 0
    latest = migrations[-1][0] if migrations else 0
    if current > latest:
        raise SchemaTooNew(
            f"database schema version {current} is newer than this escalate knows ({latest})"
        )
    for version, statements in migrations:
        if version <= current:
            continue
        for statement in statements:
            conn.execute(statement)
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (version,))
    return max(current, latest)
