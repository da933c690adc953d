"""SQLiteStore's group commit: concurrent commits share a transaction, refusals stay their own."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from escalate import ConcurrentUpdate, Handoff
from escalate.store import Changes, SQLiteStore

from ._records import event, handoff, moved


def _batched(
    store: SQLiteStore, writes: Sequence[Callable[[], None]]
) -> list[BaseException | None]:
    """Run ``writes`` on threads that all queue before any can write; one error slot each."""
    outcomes: list[BaseException | None] = [None] * len(writes)

    def run(index: int) -> None:
        try:
            writes[index]()
        except BaseException as exc:  # noqa: BLE001 - recorded for the test to assert on
            outcomes[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(writes))]
    with store._lock:  # the connection is busy: every commit has to queue
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while len(store._group._queue) < len(writes):
            assert time.monotonic() < deadline, "the commits never queued"
            time.sleep(0.001)
    for thread in threads:
        thread.join(10)
    return outcomes


def _count_write_commits(store: SQLiteStore) -> list[str]:
    seen: list[str] = []
    store._conn.set_trace_callback(
        lambda sql: seen.append(sql) if sql.startswith(("COMMIT", "ROLLBACK")) else None
    )
    return seen


def test_queued_commits_are_written_in_one_transaction(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite")
    handoffs = [handoff(f"ho_{i}", thread_id=f"t{i}", reference=f"AAAA-{i:02d}") for i in range(8)]
    ends = _count_write_commits(store)
    outcomes = _batched(
        store,
        [
            lambda h=h: store.commit(
                Changes(handoffs=(h,), events=(event(f"ev_{h.id}", handoff_id=h.id),))
            )
            for h in handoffs
        ],
    )
    store._conn.set_trace_callback(None)
    assert outcomes == [None] * 8
    assert ends == ["COMMIT"]
    assert [store.get_handoff("default", h.id) for h in handoffs] == handoffs
    assert len(store.events("default")) == 8
    store.close()


def test_a_refused_change_raises_in_its_own_caller_and_the_others_commit(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite")
    first = handoff("ho_1")
    store.commit(Changes(handoffs=(first,)))
    stale = moved(moved(first))  # skips a version: the store refuses it
    fresh = [handoff(f"ho_{i}", thread_id=f"t{i}", reference=f"BBBB-{i:02d}") for i in (2, 3)]
    outcomes = _batched(
        store,
        [
            lambda: store.commit(Changes(handoffs=(fresh[0],))),
            lambda: store.commit(Changes(handoffs=(stale,), events=(event("ev_stale"),))),
            lambda: store.commit(Changes(handoffs=(fresh[1],))),
        ],
    )
    assert outcomes[0] is None
    assert outcomes[2] is None
    assert isinstance(outcomes[1], ConcurrentUpdate)
    assert store.get_handoff("default", "ho_1") == first
    assert store.events("default") == []  # the refused change wrote nothing at all
    assert [store.get_handoff("default", h.id) for h in fresh] == fresh
    store.close()


def test_a_uniqueness_refusal_in_a_batch_is_a_concurrent_update(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path / "db.sqlite")
    one = handoff("ho_1", reference="CCCC-01")
    clash = handoff("ho_2", thread_id="t2", reference="CCCC-01")  # same reference
    outcomes = _batched(
        store,
        [
            lambda: store.commit(Changes(handoffs=(one,))),
            lambda: store.commit(Changes(handoffs=(clash,))),
        ],
    )
    assert outcomes[0] is None
    assert isinstance(outcomes[1], ConcurrentUpdate)
    assert store.get_handoff("default", "ho_2") is None
    store.close()


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(refused=st.lists(st.booleans(), min_size=1, max_size=6))
def test_exactly_the_acceptable_changes_of_any_batch_land(
    tmp_path_factory: pytest.TempPathFactory, refused: list[bool]
) -> None:
    store = SQLiteStore(tmp_path_factory.mktemp("group") / "db.sqlite")
    base = [
        handoff(f"ho_{i}", thread_id=f"t{i}", reference=f"DDDD-{i:02d}")
        for i in range(len(refused))
    ]
    store.commit(Changes(handoffs=base))
    # Each change moves one handoff: by one version (accepted) or two (refused).
    changes: list[Handoff] = [
        moved(moved(h)) if bad else moved(h) for h, bad in zip(base, refused, strict=True)
    ]
    outcomes = _batched(
        store,
        [
            lambda h=h: store.commit(
                Changes(handoffs=(h,), events=(event(f"ev_{h.id}", handoff_id=h.id),))
            )
            for h in changes
        ],
    )
    for h, old, bad, outcome in zip(changes, base, refused, outcomes, strict=True):
        assert isinstance(outcome, ConcurrentUpdate) if bad else outcome is None
        assert store.get_handoff("default", h.id) == (old if bad else h)
    assert len(store.events("default")) == refused.count(False)
    # A rolled-back batch left no chain head behind for the refused changes.
    assert sum(head.length for head in store.chain_heads("default")) == refused.count(False)
    store.close()
