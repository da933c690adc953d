"""SQLiteStore's own promises: WAL, a versioned schema, reopening, and sharing one file."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import (
    ConcurrentUpdate,
    EscalateError,
    Escalator,
    HandoffState,
    InvalidInput,
    SchemaTooNew,
)
from escalate.store import Changes, OutboxItem, SQLiteStore, open_store
from escalate.store._migrations import SQLITE_MIGRATIONS
from escalate.store._sqlite_identity import ts
from escalate.testing import FakeClock
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.store._records import PHONE, T0, consent, event, handoff, moved, outbox

LATEST = SQLITE_MIGRATIONS[-1][0]


def _versions(path: Path) -> list[int]:
    with sqlite3.connect(path) as conn:
        return [row[0] for row in conn.execute("SELECT version FROM schema_version ORDER BY 1")]


def test_wal_mode_is_on(tmp_path: Path) -> None:
    """A file database is opened in WAL journal mode, which persists in the file."""
    store = SQLiteStore(tmp_path / "e.db")
    store.close()
    with sqlite3.connect(tmp_path / "e.db") as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"


def test_schema_version_table_records_each_migration(tmp_path: Path) -> None:
    """A new database records every migration it applied in schema_version."""
    store = SQLiteStore(tmp_path / "e.db")
    assert store.schema_version == LATEST
    store.close()
    assert _versions(tmp_path / "e.db") == [version for version, _ in SQLITE_MIGRATIONS]


def test_reopening_keeps_data_and_does_not_migrate_again(tmp_path: Path) -> None:
    """Reopening an existing file keeps its records and applies no migration twice."""
    path = tmp_path / "e.db"
    store = SQLiteStore(path)
    store.commit(Changes(handoffs=(handoff(),), events=(event("ev_1"),), consent=(consent("c"),)))
    store.close()
    versions = _versions(path)
    reopened = SQLiteStore(path)
    assert getattr(reopened.get_handoff("default", "ho_1"), "reference", None) == "AAAA-11"
    assert [e.id for e in reopened.events("default")] == ["ev_1"]
    assert [r.id for r in reopened.consent_records("default", PHONE)] == ["c"]
    reopened.close()
    assert _versions(path) == versions


def test_a_newer_schema_is_refused_with_a_typed_error(tmp_path: Path) -> None:
    """A database written by a newer escalate is refused with SchemaTooNew, and left unchanged."""
    path = tmp_path / "e.db"
    SQLiteStore(path).close()
    with sqlite3.connect(path) as conn:
        conn.execute("INSERT INTO schema_version (version) VALUES (?)", (LATEST + 1,))
    conn.close()
    with pytest.raises(SchemaTooNew, match="newer") as caught:
        SQLiteStore(path)
    assert isinstance(caught.value, EscalateError)
    assert _versions(path)[-1] == LATEST + 1


def test_two_stores_on_one_file_see_each_others_commits(tmp_path: Path) -> None:
    """Two SQLiteStore objects on one file (two workers) see each other's commits."""
    path = tmp_path / "e.db"
    first, second = SQLiteStore(path), SQLiteStore(path)
    first.commit(Changes(handoffs=(handoff(),)))
    seen = second.get_handoff("default", "ho_1")
    assert seen is not None
    second.commit(Changes(handoffs=(moved(seen, state=HandoffState.ACKNOWLEDGED),)))
    assert getattr(first.get_handoff("default", "ho_1"), "state", None) == "acknowledged"
    first.close()
    second.close()


def test_the_loser_of_a_race_between_two_stores_gets_concurrent_update(tmp_path: Path) -> None:
    """When two stores move the same handoff version, the second commit is refused."""
    path = tmp_path / "e.db"
    first, second = SQLiteStore(path), SQLiteStore(path)
    first.commit(Changes(handoffs=(handoff(),)))
    current = second.get_handoff("default", "ho_1")
    assert current is not None
    first.commit(Changes(handoffs=(moved(current, state=HandoffState.ACKNOWLEDGED),)))
    with pytest.raises(ConcurrentUpdate):
        second.commit(Changes(handoffs=(moved(current, state=HandoffState.RESOLVED),)))
    assert getattr(second.get_handoff("default", "ho_1"), "state", None) == "acknowledged"
    first.close()
    second.close()


class _CommitFailsOnce:
    """A connection whose next ``COMMIT`` fails, as on a full disk."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self.armed = True

    def execute(self, sql: str, params: object = ()) -> sqlite3.Cursor:
        if sql == "COMMIT" and self.armed:
            self.armed = False
            raise sqlite3.OperationalError("database or disk is full")
        return self._conn.execute(sql, params)  # type: ignore[arg-type]

    def __getattr__(self, name: str) -> object:
        return getattr(self._conn, name)


def test_a_commit_that_fails_is_rolled_back_and_the_store_goes_on(tmp_path: Path) -> None:
    """A failed COMMIT raises to its caller, keeps nothing, and leaves no transaction open."""
    store = SQLiteStore(tmp_path / "e.db")
    conn = store._conn
    store._conn = _CommitFailsOnce(conn)  # type: ignore[assignment]
    with pytest.raises(sqlite3.OperationalError):
        store.commit(Changes(handoffs=(handoff(),)))
    assert not conn.in_transaction
    assert store.get_handoff("default", "ho_1") is None
    store.commit(Changes(handoffs=(handoff(),)))  # the next BEGIN is not refused
    assert store.get_handoff("default", "ho_1") is not None
    store.close()


def test_sqlite_url_opens_a_file_that_an_escalator_reuses(tmp_path: Path) -> None:
    """`sqlite:///path` opens the file; a second Escalator on it finds the open handoff."""
    clock = FakeClock()
    url = f"sqlite:///{tmp_path / 'e.db'}"
    with Escalator(url, clock=clock) as first:
        opened = first.open(make_thread(clock))
    with Escalator(open_store(url), clock=clock) as second:
        assert second.open(make_thread(clock)).id == opened.id


def test_an_unopenable_file_is_a_typed_error(tmp_path: Path) -> None:
    """A path in a missing directory, or a file that is not a database, raises InvalidInput."""
    with pytest.raises(InvalidInput, match="cannot open SQLite database"):
        SQLiteStore(tmp_path / "no" / "such" / "dir.db")
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"this is not a database file, not even close" * 100)
    with pytest.raises(InvalidInput, match="cannot open SQLite database"):
        SQLiteStore(junk)


def _vm_steps(store: SQLiteStore, read: Callable[[], object]) -> int:
    """SQLite VM steps (in tens) that ``read`` takes on ``store``."""
    steps = 0

    def count() -> int:
        nonlocal steps
        steps += 1
        return 0

    store._conn.set_progress_handler(count, 10)
    read()
    store._conn.set_progress_handler(None, 0)
    return steps


def _contact_read_steps(tmp_path: Path, others: int) -> int:
    """Steps to read one contact's open handoffs beside ``others`` open handoffs."""
    store = SQLiteStore(tmp_path / f"contact-{others}.db")
    store.commit(
        Changes(
            handoffs=tuple(
                handoff(f"ho_{i}", thread_id=f"t{i}", reference=f"R{i:05d}", contact_id=f"ct_{i}")
                for i in range(others + 1)
            )
        )
    )
    steps = _vm_steps(store, lambda: store.open_handoffs_for_contact("default", "ct_0"))
    store.close()
    return steps


def test_a_contacts_open_handoffs_are_read_by_index_not_by_scan(tmp_path: Path) -> None:
    """One contact's open handoffs cost about the same beside 20 or 2,000 others."""
    assert _contact_read_steps(tmp_path, 2000) < 2 * _contact_read_steps(tmp_path, 20)


def _claim_steps(tmp_path: Path, backlog: int) -> int:
    """SQLite VM steps one claim of two rows takes with ``backlog`` rows due."""
    store = SQLiteStore(tmp_path / f"claim-{backlog}.db")
    store.commit(
        Changes(
            handoffs=(handoff("ho_1"),),
            outbox=tuple(outbox(f"ob_{index:05d}") for index in range(backlog)),
        )
    )
    claimed: list[OutboxItem] = []

    def claim() -> None:
        claimed.extend(
            store.claim_outbox(
                T0, worker="w", lease=timedelta(minutes=2), limit=2, tenant="default"
            )
        )

    steps = _vm_steps(store, claim)
    store.close()
    assert len(claimed) == 2
    return steps


def test_a_claim_reads_what_it_takes_not_the_backlog(tmp_path: Path) -> None:
    """Claiming two rows costs about the same with 20 or 2,000 rows due (index walks, no sort)."""
    assert _claim_steps(tmp_path, 2000) < 2 * _claim_steps(tmp_path, 20)


def _handoff_claim_steps(tmp_path: Path, others: int) -> int:
    """Steps to claim one handoff's due row, and probe it, beside ``others`` rows due elsewhere."""
    store = SQLiteStore(tmp_path / f"handoff-claim-{others}.db")
    store.commit(
        Changes(
            handoffs=(handoff("ho_1"), handoff("ho_2", thread_id="t2", reference="R2")),
            outbox=(
                outbox("ob_mine", handoff_id="ho_1"),
                *(outbox(f"ob_{index:05d}", handoff_id="ho_2") for index in range(others)),
            ),
        )
    )
    claimed: list[OutboxItem] = []

    def claim() -> None:
        for _ in range(2):  # the second finds nothing: the probe alone
            claimed.extend(
                store.claim_outbox(
                    T0,
                    worker="w",
                    lease=timedelta(minutes=2),
                    tenant="default",
                    handoff_id="ho_1",
                )
            )

    steps = _vm_steps(store, claim)
    store.close()
    assert [item.id for item in claimed] == ["ob_mine"]
    return steps


def test_a_handoffs_claim_reads_its_own_rows_not_every_due_row(tmp_path: Path) -> None:
    """A verb's claim of its handoff's rows costs the same beside 20 or 2,000 rows due elsewhere."""
    assert _handoff_claim_steps(tmp_path, 2000) < 2 * _handoff_claim_steps(tmp_path, 20)


def test_a_version_6_database_upgrades_with_its_records_and_audit_chains(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema 7 rebuilds events and timers: rows, order, hashes and claims all survive."""
    path = tmp_path / "v6.db"
    clock = FakeClock(T0)
    with monkeypatch.context() as patch:
        patch.setattr("escalate.store.sqlite.SQLITE_MIGRATIONS", SQLITE_MIGRATIONS[:6])
        # Writes only: this escalate settles a claimed row through a column of
        # schema 10. The rows it leaves due are claimed and settled after the upgrade.
        old = Escalator(SQLiteStore(path), clock=clock, dispatch_immediately=False)
        opened = old.open(make_thread(clock))
        old.contact_provided(opened.id, PHONE, consent=WEB_FORM_CONSENT)
        assert old.store.schema_version == 6  # type: ignore[attr-defined]
        before = old.history(opened.id)
        old.close()
    with sqlite3.connect(path) as conn:  # due timers are read through a column of schema 12
        pending_timers = [
            row[0]
            for row in conn.execute(
                "SELECT id FROM timers WHERE status = 'pending' ORDER BY due_at, id"
            )
        ]
    conn.close()
    store = SQLiteStore(path)
    assert store.schema_version == LATEST
    esc = Escalator(store, clock=clock)
    assert [(e.id, e.seq, e.hash) for e in esc.history(opened.id)] == [
        (e.id, e.seq, e.hash) for e in before
    ]
    assert [t.id for t in store.due_timers(T0 + timedelta(days=30))] == pending_timers
    esc.resolve(opened.id)
    after = esc.history(opened.id)
    assert max(e.seq or 0 for e in after) > max(e.seq or 0 for e in before)
    assert esc.verify_log().ok
    with sqlite3.connect(path) as conn:
        names = {row[0] for row in conn.execute("SELECT name FROM sqlite_master")}
        sequences = {row[0] for row in conn.execute("SELECT name FROM sqlite_sequence")}
    assert "outbox_due" not in names
    assert {"outbox_held", "events_handoff", "events_contact", "timers_pending"} <= names
    assert "events" not in sequences
    esc.close()


def test_a_version_8_database_gains_the_in_flight_report_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema 10 adds outbox.reported: rows queued before it are claimed and settled after it."""
    path = tmp_path / "v8.db"
    clock = FakeClock(T0)
    with monkeypatch.context() as patch:
        patch.setattr("escalate.store.sqlite.SQLITE_MIGRATIONS", SQLITE_MIGRATIONS[:8])
        old = Escalator(SQLiteStore(path), clock=clock, dispatch_immediately=False)
        opened = old.open(make_thread(clock))
        assert old.store.schema_version == 8  # type: ignore[attr-defined]
        old.close()
    store = SQLiteStore(path)
    assert store.schema_version == LATEST
    [row] = store.outbox("default", handoff_id=opened.id)
    assert row.reported is None
    esc = Escalator(store, clock=clock)
    assert esc.run_due().posted == 1
    assert esc.outbox.get(row.id).status.value == "done"
    esc.close()


@given(st.datetimes(min_value=datetime(1001, 1, 1), timezones=st.timezones()))
def test_stored_times_are_fixed_width_utc_text_in_time_order(value: datetime) -> None:
    """A stored time is the UTC instant as fixed-width text, the strftime form of old."""
    text = ts(value)
    utc = value.astimezone(UTC)
    assert text == utc.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    assert len(text) == 27
    assert datetime.fromisoformat(text) == utc


@given(
    st.lists(
        st.datetimes(min_value=datetime(1001, 1, 1), timezones=st.just(UTC)), min_size=2, max_size=6
    )
)
def test_a_time_formatted_again_is_formatted_afresh(values: list[datetime]) -> None:
    """The last time formatted is remembered by identity: any other gives its own text."""
    for value in [*values, *values[::-1]]:
        assert ts(value) == ts(value) == value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
