"""SQLiteStore when the database fails a write: a full disk, a lock held by another process.

The caller gets a ``StoreError`` that says whether waiting helps, nothing of the
change is written (handoff, audit events and chain, outbox rows), and the next
write after the cause is gone succeeds on the same store.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from escalate import (
    ConcurrentUpdate,
    Escalator,
    Identity,
    InvalidInput,
    OutboundMessage,
    SendResult,
    StoreBusy,
    StoreError,
    StoreFull,
    Workflow,
)
from escalate.store import Changes, SQLiteStore
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.store._records import event, handoff

PHONE = Identity.phone("+14155550142")
TABLES = ("handoffs", "events", "outbox", "timers", "consent_records", "contacts")


def _desk(store: SQLiteStore, clock: FakeClock, sms: MemoryTransport) -> Escalator:
    return Escalator(
        store,
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
    )


def _snapshot(path: Path) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables a transition writes, read by a connection of its own."""
    with sqlite3.connect(path) as conn:
        return {
            table: sorted(conn.execute(f"SELECT * FROM {table}").fetchall(), key=repr)
            for table in TABLES
        }


def _fill(store: SQLiteStore) -> None:
    """Cap the database at the pages it has, as a full disk would."""
    pages = store._conn.execute("PRAGMA page_count").fetchone()[0]
    store._conn.execute(f"PRAGMA max_page_count = {pages}")


def _free(store: SQLiteStore) -> None:
    store._conn.execute("PRAGMA max_page_count = 1073741823")


def test_a_full_database_refuses_a_transition_with_store_full_and_writes_none_of_it(
    tmp_path: Path, clock: FakeClock
) -> None:
    """A transition on a full database raises StoreFull, keeps nothing, and works once freed."""
    path = tmp_path / "e.db"
    store = SQLiteStore(path)
    sms = MemoryTransport(name="memory")
    esc = _desk(store, clock, sms)
    _fill(store)
    # Cases are taken in until one of their writes no longer fits.
    for n in range(200):
        before = _snapshot(path)
        try:
            case = esc.open(make_thread(clock, thread_id=str(n), user_id=str(100 + n)))
            esc.contact_provided(case.id, PHONE, consent=WEB_FORM_CONSENT)
        except StoreFull as exc:
            caught = exc
            break
    else:
        pytest.fail("the database never filled up")
    assert not isinstance(caught, ConcurrentUpdate)  # not retried as a conflict
    assert "free space" in str(caught)
    assert caught.code.startswith("SQLITE_FULL")
    assert not store._conn.in_transaction
    assert _snapshot(path) == before
    assert esc.verify_log().ok
    _free(store)
    case = esc.open(make_thread(clock, thread_id="after", user_id="999"))
    esc.contact_provided(case.id, PHONE, consent=WEB_FORM_CONSENT)
    assert esc.run_due().sent >= 1
    assert esc.verify_log().ok
    esc.close()


def test_a_full_database_fails_every_change_of_a_shared_commit_once(tmp_path: Path) -> None:
    """Commits queued together on a full database each raise StoreFull; none is written alone."""
    store = SQLiteStore(tmp_path / "e.db")
    _fill(store)
    errors: list[BaseException] = []
    start = threading.Barrier(8)

    def commit(n: int) -> None:
        start.wait()
        try:
            store.commit(
                Changes(
                    handoffs=(handoff(f"ho_{n}", thread_id=f"t{n}", reference=f"R{n:05d}"),),
                    # More than the free room left in any page the tables have.
                    events=tuple(event(f"ev_{n}_{i}", handoff_id=f"ho_{n}") for i in range(50)),
                )
            )
        except StoreError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=commit, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 8
    assert all(isinstance(error, StoreFull) for error in errors)
    _free(store)
    store.commit(Changes(handoffs=(handoff(),), events=(event("ev_after"),)))
    assert [e.id for e in store.events("default")] == ["ev_after"]
    store.close()


@pytest.fixture
def busy(tmp_path: Path) -> Iterator[tuple[SQLiteStore, sqlite3.Connection]]:
    """A store with a short timeout, and another connection (another process, say)
    holding the database's write lock."""
    store = SQLiteStore(tmp_path / "e.db", timeout=0.05)
    other = sqlite3.connect(tmp_path / "e.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    yield store, other
    if other.in_transaction:
        other.execute("ROLLBACK")
    other.close()
    store.close()


def test_a_write_lock_held_past_the_timeout_is_store_busy(
    busy: tuple[SQLiteStore, sqlite3.Connection],
) -> None:
    """Commits that wait out their timeout raise StoreBusy; once the lock goes, commits work."""
    store, other = busy
    errors: list[BaseException] = []

    def commit(n: int) -> None:
        try:
            store.commit(
                Changes(handoffs=(handoff(f"ho_{n}", thread_id=f"t{n}", reference=f"R{n}"),))
            )
        except StoreError as exc:
            errors.append(exc)

    threads = [threading.Thread(target=commit, args=(n,)) for n in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(errors) == 4
    assert all(isinstance(error, StoreBusy) and "retry later" in str(error) for error in errors)
    assert store.get_handoffs("default", [f"ho_{n}" for n in range(4)]) == {}
    other.execute("ROLLBACK")
    commit(0)
    assert len(errors) == 4
    assert store.get_handoff("default", "ho_0") is not None


class LockedAfterSending(MemoryTransport):
    """Sends, then another process takes the write lock before the send is settled."""

    def __init__(self, path: Path) -> None:
        super().__init__(name="memory")
        self.other = sqlite3.connect(path, isolation_level=None, check_same_thread=False)

    def send(self, message: OutboundMessage) -> SendResult:
        result = super().send(message)
        if not self.other.in_transaction:
            self.other.execute("BEGIN IMMEDIATE")
        return result


@pytest.mark.parametrize("concurrency", [1, 4])
def test_a_lock_between_send_and_settle_never_sends_twice(
    tmp_path: Path, clock: FakeClock, concurrency: int
) -> None:
    """A send whose settlement meets a held lock raises StoreBusy; the row is held, not resent."""
    path = tmp_path / "e.db"
    sms = LockedAfterSending(path)
    esc = Escalator(
        SQLiteStore(path, timeout=0.05),
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
        concurrency=concurrency,
    )
    case = esc.open(make_thread(clock))
    esc.contact_provided(case.id, PHONE, consent=WEB_FORM_CONSENT)
    with pytest.raises(StoreBusy):
        esc.run_due()
    assert len(sms.sent) == 1
    sms.other.execute("ROLLBACK")
    esc.run_due()  # the row is still leased to the worker that sent it
    clock.advance(minutes=5)  # past that lease
    esc.run_due()
    assert len(sms.sent) == 1
    assert [row.status for row in esc.store.outbox(esc.tenant, handoff_id=case.id)].count(
        "held"
    ) == 1
    sms.other.close()
    esc.close()


def test_a_database_of_another_application_is_refused_and_its_tables_kept(
    tmp_path: Path,
) -> None:
    """A SQLite file whose tables are not escalate's raises InvalidInput; its tables are kept."""
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as conn:
        conn.execute("CREATE TABLE handoffs (x TEXT)")
        conn.execute("INSERT INTO handoffs VALUES ('theirs')")
    conn.close()
    with pytest.raises(InvalidInput, match="not escalate's"):
        SQLiteStore(path)
    with sqlite3.connect(path) as conn:
        tables = [row[0] for row in conn.execute("SELECT name FROM sqlite_master")]
        rows = conn.execute("SELECT x FROM handoffs").fetchall()
    conn.close()
    assert tables == ["handoffs"]
    assert rows == [("theirs",)]


def test_a_directory_given_as_the_database_is_invalid_input(tmp_path: Path) -> None:
    """A path that names a directory raises InvalidInput and creates nothing in it."""
    with pytest.raises(InvalidInput, match="cannot open SQLite database"):
        SQLiteStore(tmp_path)
    assert list(tmp_path.iterdir()) == []
