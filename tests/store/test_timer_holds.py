"""Held timers: out of every due read until released, yet still the pending timer of their name.

``run_due`` holds a timer it cannot fire for a record that no longer reads
(``Changes.hold_timers``); an operator releases it (``Changes.release_timers``).
Every store keeps these promises (the ``store`` fixture runs each), and
``SQLiteStore`` reads a row whose due time was edited as a timer that says so.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from escalate import Escalator, StaleTimer
from escalate.store import Changes, SQLiteStore, Store
from escalate.store._migrations import SQLITE_MIGRATIONS
from escalate.testing import FakeClock
from tests.conftest import make_thread
from tests.store._records import T0, event, handoff, timer

LATER = T0 + timedelta(hours=1)


def _seeded(store: Store) -> None:
    store.commit(
        Changes(
            handoffs=(handoff("ho_1"),),
            timers=(timer("tm_1", name="remind"), timer("tm_2", name="abandon")),
        )
    )


def _due(store: Store) -> list[str]:
    return [t.id for t in store.due_timers(LATER)]


def test_a_held_timer_is_not_due_until_released(store: Store) -> None:
    """Held, a due timer leaves every due read; released, it is due again as it was."""
    _seeded(store)
    store.commit(Changes(hold_timers=("tm_1",), events=(event("ev_held"),)))
    assert _due(store) == ["tm_2"]
    store.commit(Changes(release_timers=(("ho_1", "tm_1"),)))
    assert sorted(_due(store)) == ["tm_1", "tm_2"]
    store.commit(Changes(fire_timers=("tm_1",)))
    assert _due(store) == ["tm_2"]


def test_a_timer_is_held_once(store: Store) -> None:
    """A second hold (another worker met it too) is refused whole: its event is not written."""
    _seeded(store)
    store.commit(Changes(hold_timers=("tm_1",)))
    with pytest.raises(StaleTimer):
        store.commit(Changes(hold_timers=("tm_1",), events=(event("ev_twice"),)))
    assert [e.id for e in store.events("default")] == []
    with pytest.raises(StaleTimer):
        store.commit(Changes(hold_timers=("tm_missing",)))


def test_only_a_held_timer_of_that_handoff_is_released(store: Store) -> None:
    """Releasing a timer not held, or naming another handoff, is refused and writes nothing."""
    _seeded(store)
    with pytest.raises(StaleTimer):
        store.commit(Changes(release_timers=(("ho_1", "tm_1"),), events=(event("ev_no"),)))
    store.commit(Changes(hold_timers=("tm_1",)))
    with pytest.raises(StaleTimer):
        store.commit(Changes(release_timers=(("ho_2", "tm_1"),)))
    assert store.events("default") == []
    assert _due(store) == ["tm_2"]


def test_cancelling_or_restarting_a_held_timer_ends_it(store: Store) -> None:
    """Still the pending timer of its name, a held one is ended by a cancel or a restart."""
    _seeded(store)
    store.commit(Changes(hold_timers=("tm_1", "tm_2")))
    store.commit(Changes(cancel_timers=(("ho_1", "remind"),)))
    store.commit(Changes(timers=(timer("tm_3", name="abandon"),)))
    for ended in ("tm_1", "tm_2"):
        with pytest.raises(StaleTimer):
            store.commit(Changes(release_timers=(("ho_1", ended),)))
    assert _due(store) == ["tm_3"]


def test_a_moved_held_timer_stays_held(store: Store) -> None:
    """Moving a held timer (quiet hours) changes its time, not its hold."""
    _seeded(store)
    store.commit(Changes(hold_timers=("tm_1",)))
    store.commit(Changes(move_timers=(("ho_1", "remind", T0 - timedelta(hours=1)),)))
    assert _due(store) == ["tm_2"]


@pytest.mark.parametrize(
    ("text", "detail"),
    [
        ("2026-01-05 18:00", "due_at: no time zone"),
        ("0", "due_at: not a time"),
        ("2026-00-01T00:00:00Z", "due_at: not a time"),
    ],
)
def test_an_edited_due_time_reads_as_an_unreadable_timer(
    tmp_path: Path, text: str, detail: str
) -> None:
    """SQLite reads a row whose due time was edited as a timer due now, saying what is wrong."""
    store = SQLiteStore(tmp_path / "e.db")
    _seeded(store)
    with sqlite3.connect(store.path) as conn:
        conn.execute("UPDATE timers SET due_at = ? WHERE id = 'tm_1'", (text,))
    conn.close()
    by_id = {t.id: t for t in store.due_timers(LATER)}
    assert by_id["tm_1"].unreadable == detail
    assert by_id["tm_1"].due_at == LATER
    assert text not in detail
    assert by_id["tm_2"].unreadable is None
    store.commit(Changes(hold_timers=("tm_1",)))
    assert _due(store) == ["tm_2"]
    store.close()


def test_a_version_11_database_gains_the_held_column(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Schema 12 adds timers.held: a timer started before it is due, held and released after."""
    path = tmp_path / "v11.db"
    clock = FakeClock(T0)
    with monkeypatch.context() as patch:
        patch.setattr("escalate.store.sqlite.SQLITE_MIGRATIONS", SQLITE_MIGRATIONS[:11])
        old = Escalator(SQLiteStore(path), clock=clock, dispatch_immediately=False)
        opened = old.open(make_thread(clock))
        # Writes only: this escalate reads due timers through the column of schema 12.
        assert old.store.schema_version == 11  # type: ignore[attr-defined]
        old.close()
    with sqlite3.connect(path) as conn:
        before = [row[0] for row in conn.execute("SELECT id FROM timers ORDER BY due_at, id")]
    conn.close()
    assert before
    far = T0 + timedelta(days=30)
    store = SQLiteStore(path)
    assert store.schema_version == SQLITE_MIGRATIONS[-1][0] == 12
    assert [t.id for t in store.due_timers(far)] == before
    store.commit(Changes(hold_timers=(before[0],)))
    assert [t.id for t in store.due_timers(far)] == before[1:]
    store.commit(Changes(release_timers=((opened.id, before[0]),)))
    assert [t.id for t in store.due_timers(far)] == before
    with sqlite3.connect(path) as conn:
        (index,) = conn.execute("SELECT sql FROM sqlite_master WHERE name = 'timers_due'")
        plan = conn.execute(
            "EXPLAIN QUERY PLAN SELECT id FROM timers"
            " WHERE status = 'pending' AND held = 0 AND due_at <= ? ORDER BY due_at, id",
            ("9999",),
        ).fetchall()
    conn.close()
    assert "held = 0" in index[0]
    assert "timers_due" in str(plan)  # held rows are outside the index a due read walks
    store.close()
