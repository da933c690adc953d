"""verify_log on SQLite rows edited with sqlite3: columns, tenants, events from before hashing."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from escalate import CorruptRecord, Escalator, Event
from escalate._ids import new_id
from escalate.audit import BeforeHashing, ProblemKind, verify_chains, verify_store
from escalate.store import Changes, SQLiteStore
from escalate.store._migrations import SQLITE_MIGRATIONS, migrate
from escalate.store._sqlite_chain import insert_events
from escalate.store._sqlite_identity import ts
from escalate.testing import FakeClock, MemoryTransport
from tests.audit.test_tampering import SQLiteTamper, run_handoffs, sqlite_escalator
from tests.conftest import make_thread


def test_an_edited_sqlite_column_is_found(tmp_path: Path, clock: FakeClock) -> None:
    """Moving an event to another handoff by editing only its indexed column is an edit too."""
    path = tmp_path / "escalate.db"
    esc = sqlite_escalator(path, clock)
    try:
        first, second = run_handoffs(esc, clock)
        moved = esc.history(first)[2]
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute("UPDATE events SET handoff_id = ? WHERE id = ?", (second, moved.id))
        conn.close()
        assert moved.id in [event.id for event in esc.history(second)]
        problems = esc.verify_log().problems
        assert ProblemKind.EDITED in {problem.kind for problem in problems}
        assert moved.id in {problem.event_id for problem in problems}
    finally:
        esc.close()


def test_events_written_before_migration_6_are_skipped(tmp_path: Path, clock: FakeClock) -> None:
    """Rows from before the hash columns existed are counted, not verified; new rows chain on."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    migrate(conn, SQLITE_MIGRATIONS[:1])
    for kind in ("handoff.opened", "handoff.transition"):
        event = Event(id=new_id("ev"), kind=kind, at=clock.now(), handoff_id="ho_old")
        conn.execute(
            "INSERT INTO events (id, tenant, kind, at, handoff_id, contact_id, data)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                event.id,
                "default",
                kind,
                "2026-01-05T15:00:00.000000Z",
                "ho_old",
                None,
                event.model_dump_json(),
            ),
        )
    conn.execute("COMMIT")
    conn.close()
    store = SQLiteStore(path)
    try:
        assert store.schema_version == SQLITE_MIGRATIONS[-1][0]
        from escalate.store import Changes

        store.commit(
            Changes(
                events=(Event(id=new_id("ev"), kind="note", at=clock.now(), handoff_id="ho_old"),)
            )
        )
        report = verify_chains("default", store.events("default"), store.chain_heads("default"))
        assert report.ok, report.problems
        assert report.events_before_hashing == 2
        assert report.events_verified == 1
        assert verify_store(store, "default").ok
        assert store.before_hashing("default") == BeforeHashing(
            tenant="default", last_seq=2, events=2
        )
    finally:
        store.close()


def write_legacy_events(conn: sqlite3.Connection, clock: FakeClock, handoff_id: str) -> None:
    """Two events as a database from before migration 4 held them: no hashes."""
    for kind in ("handoff.opened", "handoff.transition"):
        event = Event(id=new_id("ev"), kind=kind, at=clock.now(), handoff_id=handoff_id)
        conn.execute(
            "INSERT INTO events (id, tenant, kind, at, handoff_id, contact_id, data)"
            " VALUES (?, 'default', ?, ?, ?, NULL, ?)",
            (event.id, kind, ts(event.at), handoff_id, event.model_dump_json()),
        )


def test_migration_9_records_where_hashing_began(tmp_path: Path, clock: FakeClock) -> None:
    """A database hashed since migration 4 keeps its old events unchecked, and only those."""
    path = tmp_path / "old.db"
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute("BEGIN")
    migrate(conn, SQLITE_MIGRATIONS[:3])
    write_legacy_events(conn, clock, "ho_old")
    migrate(conn, SQLITE_MIGRATIONS[:-1])  # up to 8: hashing, but no record of where it began
    insert_events(conn, [Event(id=new_id("ev"), kind="note", at=clock.now(), handoff_id="ho_old")])
    conn.execute("COMMIT")
    conn.close()
    store = SQLiteStore(path)
    try:
        assert store.before_hashing("default").events == 2
        assert store.before_hashing("other").events == 0
        assert verify_store(store, "default").ok
        legacy = store.events("default")[0]
        tamper = SQLiteTamper(path)
        forged = Event(id=new_id("ev"), kind="note", at=clock.now(), handoff_id="ho_new")
        tamper.insert_after(store.events("default")[-1].id, forged)
        tamper.delete(legacy.id)
        kinds = {problem.kind for problem in verify_store(store, "default").problems}
        assert kinds == {ProblemKind.UNHASHED, ProblemKind.MISSING}
    finally:
        store.close()


def test_an_event_copied_into_another_tenant_is_found(tmp_path: Path, clock: FakeClock) -> None:
    """A row whose tenant column names another tenant is that tenant's, and an edit there."""
    path = tmp_path / "escalate.db"
    store = SQLiteStore(path)
    default = Escalator(store, transports=[MemoryTransport()], clock=clock)
    other = Escalator(store, transports=[MemoryTransport()], clock=clock, tenant="other")
    try:
        first, _ = run_handoffs(default, clock)
        victim = other.open(make_thread(clock, "2001", "44"))
        source = default.history(first)[4]
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(
            "INSERT INTO events (id, tenant, kind, at, handoff_id, contact_id, data, prev_hash,"
            " hash) SELECT 'ev_forged', 'other', kind, at, ?, contact_id, data, prev_hash, hash"
            " FROM events WHERE id = ?",
            (victim.id, source.id),
        )
        conn.close()
        forged = [event for event in other.history(victim.id) if event.kind == source.kind]
        assert forged, "the copied row shows in the other tenant's history"
        assert forged[-1].tenant == "other"
        problems = other.verify_log().problems
        assert ProblemKind.EDITED in {problem.kind for problem in problems}
        assert default.verify_log().ok
    finally:
        store.close()


@pytest.mark.parametrize(
    "column", ["data", "kind", "handoff_id", "contact_id", "prev_hash", "hash"]
)
def test_a_text_column_cast_to_a_blob_is_found(
    tmp_path: Path, clock: FakeClock, column: str
) -> None:
    """The same bytes as a BLOB hash as before, but readers no longer see the same row.

    ``WHERE handoff_id = ?`` skips a BLOB (the event vanishes from ``history``),
    and ``events()`` would hand back bytes: each is an edit, and ``history``
    raises ``CorruptRecord`` instead of returning the row changed.
    """
    path = tmp_path / "escalate.db"
    esc = sqlite_escalator(path, clock)
    try:
        first, _ = run_handoffs(esc, clock)
        victim = esc.history(first)[2]
        assert victim.contact_id is not None
        assert victim.prev_hash is not None
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(
            f"UPDATE events SET {column} = CAST({column} AS BLOB) WHERE seq = ?",
            (victim.seq,),
        )
        conn.close()
        problems = esc.verify_log().problems
        assert (ProblemKind.EDITED, victim.seq) in {(p.kind, p.seq) for p in problems}
        if column == "handoff_id":
            assert victim.seq not in [event.seq for event in esc.history(first)]
        else:
            with pytest.raises(CorruptRecord) as raised:
                esc.history(first)
            assert raised.value.seq == victim.seq
    finally:
        esc.close()


def test_a_stripped_chain_under_an_edited_before_hashing_row_needs_exported_heads(
    tmp_path: Path, clock: FakeClock
) -> None:
    """What docs/audit.md says the store alone cannot see: its record of old events edited too."""
    path = tmp_path / "escalate.db"
    esc = sqlite_escalator(path, clock)
    try:
        first, _ = run_handoffs(esc, clock)
        exported = esc.verify_log().heads
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(
            "UPDATE events SET prev_hash = NULL, hash = NULL WHERE handoff_id = ?", (first,)
        )
        conn.execute("DELETE FROM audit_chain_heads WHERE chain = ?", (f"handoff:{first}",))
        conn.execute(
            "INSERT INTO audit_before_hashing (tenant, last_seq, events) VALUES (?, ?, ?)",
            ("default", 10**9, len(esc.history(first))),
        )
        conn.close()
        assert esc.verify_log().ok, "the store alone cannot see it"
        assert esc.store.before_hashing("default").events, "but a new store records none"
        against_export = verify_chains("default", esc.store.events("default"), exported)
        assert [p.kind for p in against_export.problems] == [ProblemKind.HEAD_MISMATCH]
    finally:
        esc.close()


@pytest.mark.parametrize("literal", ["NaN", "Infinity", "-Infinity", "1e400", "-1e999"])
def test_a_null_edited_into_a_non_finite_float_is_found(
    tmp_path: Path, clock: FakeClock, literal: str
) -> None:
    """Pydantic's JSON form writes NaN and the infinities as null: the edit must not hash alike."""
    path = tmp_path / "escalate.db"
    esc = sqlite_escalator(path, clock)
    try:
        first, _ = run_handoffs(esc, clock)
        victim = next(event for event in esc.history(first) if event.kind == "consent.recorded")
        assert victim.data["rule"] is None
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(
            "UPDATE events SET data = replace(data, '\"rule\":null', '\"rule\":' || ?)"
            " WHERE seq = ?",
            (literal, victim.seq),
        )
        conn.close()
        edited = next(event for event in esc.history(first) if event.seq == victim.seq)
        assert edited.data["rule"] is not None, "readers see the float"
        problems = esc.verify_log().problems
        assert [(p.kind, p.seq) for p in problems] == [(ProblemKind.EDITED, victim.seq)]
    finally:
        esc.close()


@pytest.mark.parametrize(
    "edit",
    [
        "hash = CAST(hash AS BLOB)",
        "event_id = CAST(event_id AS BLOB)",
        "length = CAST(CAST(length AS TEXT) AS BLOB)",
        "length = 'twelve'",
        "length = length + 0.5",
        "hash = CAST(X'ff' AS TEXT)",  # not UTF-8: sqlite3's own error, quoting it
        "event_id = CAST(X'ff' AS TEXT)",
    ],
)
def test_a_head_row_that_is_no_longer_a_head_raises_corrupt_record(
    tmp_path: Path, clock: FakeClock, edit: str
) -> None:
    """Not a pass, a TypeError on the next write, or the next event linked to ``b'...'``."""
    path = tmp_path / "escalate.db"
    esc = sqlite_escalator(path, clock)
    try:
        first, second = run_handoffs(esc, clock)
        chain = f"handoff:{second}"
        conn = sqlite3.connect(path, isolation_level=None)
        conn.execute(f"UPDATE audit_chain_heads SET {edit} WHERE chain = ?", (chain,))
        count = conn.execute("SELECT COUNT(*) FROM events").fetchone()[0]
        with pytest.raises(CorruptRecord) as raised:
            esc.verify_log()
        assert raised.value.record_id == chain
        note = Event(id=new_id("ev"), kind="note", at=clock.now(), handoff_id=second)
        with pytest.raises(CorruptRecord):
            esc.store.commit(Changes(events=(note,)))
        assert conn.execute("SELECT COUNT(*) FROM events").fetchone()[0] == count
        conn.close()
        esc.store.commit(
            Changes(events=(Event(id=new_id("ev"), kind="note", at=clock.now(), handoff_id=first),))
        )
        assert esc.history(first)[-1].kind == "note", "other chains are written as before"
    finally:
        esc.close()
