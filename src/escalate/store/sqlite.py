"""``SQLiteStore``: the embedded default store, on the standard library's sqlite3.

WAL journaling lets readers run while a writer commits; ``BEGIN IMMEDIATE`` takes
the write lock up front so a transaction never fails half-way on lock upgrade.
Records are stored as pydantic JSON next to the columns that are queried, and
uniqueness rules (one open handoff per thread, one owner per identity, one
pending timer per name) are enforced by indexes, not by hope.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path

from escalate._exceptions import ConcurrentUpdate, InvalidInput, StaleTimer
from escalate._identity import Identity
from escalate._models import Event, Handoff
from escalate.audit._chain import BeforeHashing, ChainHead
from escalate.consent._records import ConsentProof, ConsentRecord
from escalate.identity._contact import Contact
from escalate.store._changes import check_version
from escalate.store._decoded import Decoded
from escalate.store._group_commit import GroupCommit
from escalate.store._migrations import SQLITE_MIGRATIONS, migrate
from escalate.store._protocol import Changes, OutboxItem, Timer, TimerStatus
from escalate.store._sqlite_chain import insert_events, load_before_hashing, load_chain_heads
from escalate.store._sqlite_identity import IdentityRecordsSQL, many, ts
from escalate.store._sqlite_outbox import OutboxSQL

__all__ = ["SQLiteStore"]


_ts = ts


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the store's lock; ``ROLLBACK`` on an exception.

    A class, not a ``@contextmanager`` generator, because it wraps every commit.
    """

    __slots__ = ("_conn", "_store")

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def __enter__(self) -> sqlite3.Connection:
        self._store._lock.acquire()
        try:
            self._conn = self._store._conn
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException:
            self._store._lock.release()
            raise
        return self._conn

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        try:
            if exc_type is None:
                self._conn.execute("COMMIT")
            else:
                self._conn.execute("ROLLBACK")
        except BaseException:
            # A COMMIT that failed leaves the transaction open; the next BEGIN
            # on this connection would fail for it.
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            raise
        finally:
            self._store._lock.release()


class SQLiteStore(OutboxSQL, IdentityRecordsSQL):
    """A ``Store`` in one SQLite file.

    Args:
        path: the database file, created if missing; ``":memory:"`` for a private
            in-memory database.
        timeout: seconds to wait for another process's write lock.
    """

    def __init__(self, path: str | Path = "escalate.db", *, timeout: float = 30.0) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._group = GroupCommit(self._transaction, self._write)
        # Records are read back right after they are written: decode each text once.
        self._handoffs = Decoded(Handoff)
        self._contacts = Decoded(Contact)
        self._consent = Decoded(ConsentRecord)
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA foreign_keys = ON")
            if self.path != ":memory:":
                self._conn.execute("PRAGMA journal_mode = WAL")
                # WAL with synchronous=NORMAL is durable across application crashes
                # and loses at most the last commits on power loss, never corrupts.
                self._conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.DatabaseError as exc:
            # A missing directory, no permission, or a file that is not a database.
            raise InvalidInput(f"cannot open SQLite database {self.path!r}: {exc}") from None
        try:
            with self._transaction():
                migrate(self._conn, SQLITE_MIGRATIONS)
        except BaseException:
            self._conn.close()  # a refused file (SchemaTooNew) must not stay open
            raise

    @property
    def schema_version(self) -> int:
        """The schema version this database is at."""
        row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    def _transaction(self) -> _Transaction:
        return _Transaction(self)

    # -- writing ----------------------------------------------------------------

    def commit(self, changes: Changes) -> list[OutboxItem]:
        # Concurrent callers (the dispatch pool settling sends) share transactions.
        return self._group.commit(changes)

    def _write(self, conn: sqlite3.Connection, changes: Changes) -> list[OutboxItem]:
        self._write_handoffs(conn, changes)
        self._write_contacts(conn, changes)
        self._write_identity_records(conn, changes)
        self._write_rest(conn, changes)
        claim = changes.claim
        if claim is None:
            return []
        return self._claim_rows(
            conn,
            claim.now,
            worker=claim.worker,
            lease=claim.lease,
            limit=claim.limit,
            tenant=claim.tenant,
            handoff_id=claim.handoff_id,
            written=changes.outbox,
        )

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

    def _write_rest(self, conn: sqlite3.Connection, changes: Changes) -> None:
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
        self._write_events(conn, changes.events)
        self._write_outbox(conn, changes)
        # Fired first: the transition a timer causes may cancel or restart that
        # same timer, and firing must see it still pending.
        for timer_id in changes.fire_timers:
            cursor = conn.execute(
                "UPDATE timers SET status = 'fired' WHERE id = ? AND status = 'pending'",
                (timer_id,),
            )
            if cursor.rowcount != 1:
                raise StaleTimer(timer_id)
        many(
            conn,
            "UPDATE timers SET status = 'cancelled'"
            " WHERE handoff_id = ? AND name = ? AND status = 'pending'",
            list(changes.cancel_timers),
        )
        many(
            conn,
            "UPDATE timers SET due_at = ? WHERE handoff_id = ? AND name = ? AND status = 'pending'",
            [(_ts(due_at), handoff_id, name) for handoff_id, name, due_at in changes.move_timers],
        )
        for timer in changes.timers:
            conn.execute(
                "UPDATE timers SET status = 'cancelled'"
                " WHERE handoff_id = ? AND name = ? AND status = 'pending'",
                (timer.handoff_id, timer.name),
            )
            conn.execute(
                "INSERT INTO timers (id, tenant, handoff_id, name, due_at, status)"
                " VALUES (?, ?, ?, ?, ?, 'pending')",
                (timer.id, timer.tenant, timer.handoff_id, timer.name, _ts(timer.due_at)),
            )

    def _write_events(self, conn: sqlite3.Connection, events: Sequence[Event]) -> None:
        insert_events(conn, events)  # hashed and linked into their audit chains

    # -- reading ----------------------------------------------------------------

    def _one(self, sql: str, params: tuple[object, ...]) -> str | None:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return None if row is None else str(row[0])

    def _all(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

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

    def consent_records(self, tenant: str, address: Identity) -> list[ConsentRecord]:
        rows = self._all(
            "SELECT seq, data FROM consent_records"
            " WHERE tenant = ? AND address_kind = ? AND address = ? ORDER BY seq",
            (tenant, address.kind.value, address.value),
        )
        return [self._consent.load(str(data)).model_copy(update={"seq": seq}) for seq, data in rows]

    def consent_proofs(self, tenant: str, address_hash: str) -> list[ConsentProof]:
        rows = self._all(
            "SELECT data FROM consent_proofs WHERE tenant = ? AND address_hash = ? ORDER BY seq",
            (tenant, address_hash),
        )
        return [ConsentProof.model_validate_json(str(row[0])) for row in rows]

    def consent_history(
        self, tenant: str, address: Identity, address_hash: str
    ) -> tuple[list[ConsentProof], list[ConsentRecord]]:
        with self._lock:  # reentrant: both reads inside one hold
            return self.consent_proofs(tenant, address_hash), self.consent_records(tenant, address)

    def erase_address(self, tenant: str, address: Identity, proofs: Sequence[ConsentProof]) -> None:
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM consent_records WHERE tenant = ? AND address_kind = ? AND address = ?",
                (tenant, address.kind.value, address.value),
            )
            many(
                conn,
                "INSERT INTO consent_proofs (id, tenant, address_hash, at, data)"
                " VALUES (?, ?, ?, ?, ?)",
                [(p.id, tenant, p.address_hash, _ts(p.at), p.model_dump_json()) for p in proofs],
            )
            conn.execute(
                "DELETE FROM outbox WHERE tenant = ? AND status != 'claimed'"
                " AND json_extract(command, '$.to.kind') = ?"
                " AND json_extract(command, '$.to.value') = ?",
                (tenant, address.kind.value, address.value),
            )

    def events(
        self, tenant: str, *, handoff_id: str | None = None, contact_id: str | None = None
    ) -> list[Event]:
        sql = (
            "SELECT seq, data, prev_hash, hash, kind, handoff_id, contact_id FROM events"
            " WHERE tenant = ?"
        )
        params: list[object] = [tenant]
        if handoff_id is not None:
            sql += " AND handoff_id = ?"
            params.append(handoff_id)
        if contact_id is not None:
            sql += " AND contact_id = ?"
            params.append(contact_id)
        rows = self._all(sql + " ORDER BY seq", tuple(params))
        # The queried columns override the JSON: what callers filter on is what
        # verification hashes, so editing a column alone shows up as an edit. The
        # tenant too: a row copied into another tenant is read as that tenant's
        # (history shows it there), so its verification must see it there.
        return [
            Event.model_validate_json(str(data)).model_copy(
                update={
                    "tenant": tenant,
                    "seq": seq,
                    "prev_hash": prev_hash,
                    "hash": hash_,
                    "kind": kind,
                    "handoff_id": handoff,
                    "contact_id": contact,
                }
            )
            for seq, data, prev_hash, hash_, kind, handoff, contact in rows
        ]

    def chain_heads(self, tenant: str) -> list[ChainHead]:
        with self._lock:
            return load_chain_heads(self._conn, tenant)

    def before_hashing(self, tenant: str) -> BeforeHashing:
        with self._lock:
            return load_before_hashing(self._conn, tenant)

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

    def due_timers(
        self, now: datetime, *, limit: int = 100, tenant: str | None = None
    ) -> list[Timer]:
        rows = self._all(
            "SELECT id, tenant, handoff_id, name, due_at FROM timers"
            " WHERE status = 'pending' AND due_at <= ? AND (? IS NULL OR tenant = ?)"
            " ORDER BY due_at, id LIMIT ?",
            (_ts(now), tenant, tenant, limit),
        )
        return [
            Timer(
                id=str(row[0]),
                tenant=str(row[1]),
                handoff_id=str(row[2]),
                name=str(row[3]),
                due_at=datetime.fromisoformat(str(row[4])),
                status=TimerStatus.PENDING,
            )
            for row in rows
        ]

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"
