"""``SQLiteStore``: the embedded default store, on the standard library's sqlite3.

WAL journaling lets readers run while a writer commits; ``BEGIN IMMEDIATE`` takes
the write lock up front so a transaction never fails half-way on lock upgrade.
Records are stored as pydantic JSON next to the columns that are queried, and
uniqueness rules (one open handoff per thread, one owner per identity, one
pending timer per name) are enforced by indexes, not by hope.

This module holds the connection, the write transaction, ``commit`` and the
timers and audit events; each other table group has its own mixin:
``_sqlite_handoffs``, ``_sqlite_identity`` (contacts, merges, verifications),
``_sqlite_consent`` and ``_sqlite_outbox``, with the audit chain in ``_sqlite_chain``.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from pydantic import ValidationError

from escalate._exceptions import CorruptRecord, InvalidInput, StaleTimer
from escalate._models import Event, Handoff
from escalate.audit._chain import BeforeHashing, ChainHead
from escalate.audit._verify import AuditEntry
from escalate.consent._records import ConsentRecord
from escalate.identity._contact import Contact
from escalate.store._decoded import Decoded, problems
from escalate.store._group_commit import GroupCommit
from escalate.store._migrations import SQLITE_MIGRATIONS, migrate
from escalate.store._protocol import Changes, OutboxItem, Timer
from escalate.store._sqlite_chain import (
    MistypedRow,
    events_where,
    first_unreadable_event,
    insert_events,
    load_audit_entries,
    load_before_hashing,
    load_chain_heads,
    require_text,
)
from escalate.store._sqlite_consent import ConsentSQL
from escalate.store._sqlite_errors import store_error
from escalate.store._sqlite_handoffs import HandoffsSQL
from escalate.store._sqlite_identity import IdentityRecordsSQL, many, ts
from escalate.store._sqlite_outbox import OutboxSQL
from escalate.store._sqlite_timers import DUE_TIMERS, due_timers_of, write_holds

__all__ = ["SQLiteStore"]

log = logging.getLogger("escalate")


_ts = ts


class _Transaction:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` under the store's lock; ``ROLLBACK`` on an exception.

    A class, not a ``@contextmanager`` generator, because it wraps every commit.
    The database's own failures (a lock held too long, a full disk) leave it as
    a ``StoreError`` (``_sqlite_errors``).
    """

    __slots__ = ("_conn", "_store")

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def __enter__(self) -> sqlite3.Connection:
        self._store._lock.acquire()
        try:
            self._conn = self._store._conn
            self._conn.execute("BEGIN IMMEDIATE")
        except BaseException as exc:
            self._store._lock.release()
            _raise_mapped(exc, self._store.path)
            raise
        return self._conn

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object
    ) -> None:
        try:
            if exc_type is None:
                self._conn.execute("COMMIT")
            elif self._conn.in_transaction:
                # After some failures (a full disk) SQLite has rolled back already:
                # a second ROLLBACK would raise, and hide why the write failed.
                self._conn.execute("ROLLBACK")
        except BaseException as failed:
            # A COMMIT that failed leaves the transaction open; the next BEGIN
            # on this connection would fail for it.
            if self._conn.in_transaction:
                self._conn.execute("ROLLBACK")
            _raise_mapped(failed, self._store.path)
            raise
        finally:
            self._store._lock.release()
        if exc is not None:
            _raise_mapped(exc, self._store.path)


def _raise_mapped(exc: BaseException, path: str) -> None:
    """Raise the ``StoreError`` for an SQLite failure of the file itself; else return."""
    if isinstance(exc, sqlite3.Error):
        mapped = store_error(exc, path)
        if mapped is not None:
            raise mapped from exc


class SQLiteStore(HandoffsSQL, IdentityRecordsSQL, ConsentSQL, OutboxSQL):
    """A ``Store`` in one SQLite file.

    Args:
        path: the database file, created if missing; ``":memory:"`` for a private
            in-memory database.
        timeout: seconds to wait for another process's write lock.

    Raises:
        StoreError: from any write the database fails (``StoreBusy``: the lock
            was held past ``timeout``; ``StoreFull``: no space); nothing of it
            was written.
    """

    def __init__(self, path: str | Path = "escalate.db", *, timeout: float = 30.0) -> None:
        self.path = str(path)
        self._lock = threading.RLock()
        self._group = GroupCommit(self._transaction, self._write)
        # Records are read back right after they are written: decode each text once.
        # Only each record's newest text is kept (by tenant and id): see _decoded.py.
        self._handoffs = Decoded(
            Handoff, key=_tenant_and_id, unreadable=self._unreadable("handoff", "handoffs")
        )
        self._contacts = Decoded(
            Contact, key=_tenant_and_id, unreadable=self._unreadable("contact", "contacts")
        )
        self._consent = Decoded(
            ConsentRecord,
            key=_tenant_and_id,
            unreadable=self._unreadable("consent record", "consent_records"),
        )
        try:
            self._conn = sqlite3.connect(
                self.path, timeout=timeout, isolation_level=None, check_same_thread=False
            )
            self._conn.execute("PRAGMA foreign_keys = ON")
            # A row's old text is zeroed, not left in the page's free space, where
            # the page is written anyway: an erased person's number must not be
            # readable from the file afterwards (``erasing`` does the rest).
            self._conn.execute("PRAGMA secure_delete = FAST")
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
        except sqlite3.Error as exc:
            self._conn.close()
            # Not the file's failure (that is a StoreError): a schema that is not ours.
            raise InvalidInput(
                f"cannot open SQLite database {self.path!r}: its tables are not escalate's ({exc})"
            ) from None
        except BaseException:
            self._conn.close()  # a refused file (SchemaTooNew, StoreBusy) must not stay open
            raise

    @property
    def schema_version(self) -> int:
        """The schema version this database is at."""
        row = self._conn.execute("SELECT MAX(version) FROM schema_version").fetchone()
        return int(row[0] or 0)

    @contextmanager
    def erasing(self) -> Iterator[None]:
        """Zero what the block deletes, then empty the write-ahead log (``SecureErasure``).

        Outside it, ``secure_delete = FAST`` zeroes a row's old text wherever the
        page is written anyway (an update, a delete), at no extra I/O; inside, every
        freed page is zeroed too. The log holds whole earlier pages until a
        checkpoint, so the block ends with one that truncates it. A reader in
        another process can hold that back: the log then empties at the next
        checkpoint that completes (warned here).
        """
        with self._lock:
            self._conn.execute("PRAGMA secure_delete = ON")
        try:
            yield
        finally:
            with self._lock:
                self._conn.execute("PRAGMA secure_delete = FAST")
                if self.path != ":memory:":
                    row = self._conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
                    if row[0]:
                        log.warning(
                            "SQLite write-ahead log not emptied after an erasure: a reader holds it"
                        )

    def _transaction(self) -> _Transaction:
        return _Transaction(self)

    def _unreadable(
        self, record: str, table: str
    ) -> Callable[[str, ValidationError], CorruptRecord]:
        """The ``CorruptRecord`` naming the ``table`` row whose JSON is the unreadable text."""

        def unreadable(text: str, exc: ValidationError) -> CorruptRecord:
            with self._lock:
                row = self._conn.execute(
                    f"SELECT id FROM {table} WHERE data = ? LIMIT 1",  # noqa: S608 - constant
                    (text,),
                ).fetchone()
            record_id = None if row is None else str(row[0])
            handoff_id = record_id if table == "handoffs" else None
            return CorruptRecord(
                record, record_id=record_id, handoff_id=handoff_id, detail=problems(exc)
            )

        return unreadable

    # -- writing ----------------------------------------------------------------

    def commit(self, changes: Changes) -> list[OutboxItem]:
        # Concurrent callers (the dispatch pool settling sends) share transactions.
        return self._group.commit(changes)

    def _write(self, conn: sqlite3.Connection, changes: Changes) -> list[OutboxItem]:
        # Each table group's writer is a mixin method; the timers, this module's
        # own table, are written inline: a helper would be one more call per commit.
        # A commit carries a few kinds of record only (a settled send: one event
        # and one outbox update), so a group's writer runs only when it has rows:
        # called empty, each still builds its empty batches.
        if changes.handoffs:
            self._write_handoffs(conn, changes)
        if changes.contacts:
            self._write_contacts(conn, changes)
        if changes.merges or changes.merge_proposals or changes.verifications:
            self._write_identity_records(conn, changes)
        if changes.consent:
            self._write_consent(conn, changes)
        if changes.events:
            self._write_events(conn, changes.events)
        if changes.outbox or changes.outbox_updates or changes.outbox_reports:
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
            changes.cancel_timers,
        )
        many(
            conn,
            "UPDATE timers SET due_at = ? WHERE handoff_id = ? AND name = ? AND status = 'pending'",
            ((_ts(due_at), handoff_id, name) for handoff_id, name, due_at in changes.move_timers),
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
        if changes.hold_timers or changes.release_timers:
            write_holds(conn, changes)
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

    def _write_events(self, conn: sqlite3.Connection, events: Sequence[Event]) -> None:
        # A method of its own: bench/audit_chain.py overrides it to price the chain.
        insert_events(conn, events)  # hashed and linked into their audit chains

    # -- reading ----------------------------------------------------------------

    def _one(self, sql: str, params: tuple[object, ...]) -> str | None:
        with self._lock:
            row = self._conn.execute(sql, params).fetchone()
        return None if row is None else str(row[0])

    def _all(self, sql: str, params: tuple[object, ...]) -> list[tuple[object, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def events(
        self, tenant: str, *, handoff_id: str | None = None, contact_id: str | None = None
    ) -> list[Event]:
        where, params = events_where(tenant, handoff_id, contact_id)
        sql = (
            "SELECT seq, data, prev_hash, hash, kind, handoff_id, contact_id FROM events"  # noqa: S608 - constant
            f" {where} ORDER BY seq"
        )
        try:
            rows = self._all(sql, params)
            require_text(rows)  # a text column cast to a BLOB would read back as bytes
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
        except (ValidationError, sqlite3.OperationalError, MistypedRow):
            # A row edited outside escalate (pydantic's error, or sqlite3's for
            # text that is not UTF-8; both quote the row, which may hold
            # anything): name it, and only it. Any other failure is re-raised.
            with self._lock:
                seq = first_unreadable_event(
                    self._conn, tenant, handoff_id=handoff_id, contact_id=contact_id
                )
            if seq is None:
                raise
        raise CorruptRecord("audit event", seq, handoff_id=handoff_id) from None

    def audit_entries(self, tenant: str, *, handoff_id: str | None = None) -> list[AuditEntry]:
        """The tenant's audit events (or one handoff's) as stored, each checked against its hash.

        What ``verify_store`` reads instead of ``events``: a row that no longer
        reads as an event is reported as edited rather than raised.
        """
        with self._lock:
            return load_audit_entries(self._conn, tenant, handoff_id=handoff_id)

    def chain_heads(self, tenant: str) -> list[ChainHead]:
        with self._lock:
            return load_chain_heads(self._conn, tenant)

    def before_hashing(self, tenant: str) -> BeforeHashing:
        with self._lock:
            return load_before_hashing(self._conn, tenant)

    def due_timers(
        self, now: datetime, *, limit: int = 100, tenant: str | None = None
    ) -> list[Timer]:
        rows = self._all(DUE_TIMERS, (_ts(now), tenant, tenant, limit))
        return due_timers_of(rows, now)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.path!r})"


def _tenant_and_id(record: Handoff | Contact | ConsentRecord) -> tuple[str, str]:
    return (record.tenant, record.id)
