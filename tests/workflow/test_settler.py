"""The settler: accepted sends settle behind the pool, batched, in order, never lost."""

from __future__ import annotations

import threading
from collections import Counter
from datetime import timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalate import ConcurrentUpdate
from escalate.store import Changes, MemoryStore, OutboxItem, OutboxStatus, OutboxUpdate
from escalate.workflow._settler import Settler
from tests.store._records import T0, event, handoff, outbox


class GatedStore(MemoryStore):
    """A MemoryStore whose commits wait for ``gate`` and are counted (or fail on demand)."""

    def __init__(self) -> None:
        super().__init__()
        self.gate = threading.Event()
        self.gate.set()
        self.commits = 0
        self.entered = threading.Event()
        self.failure: Exception | None = None

    def commit(self, changes: Changes) -> None:
        self.entered.set()
        assert self.gate.wait(10), "the test never opened the gate"
        if self.failure is not None:
            raise self.failure
        super().commit(changes)
        self.commits += 1


def _claimed(store: MemoryStore, count: int) -> list[OutboxItem]:
    store.commit(
        Changes(
            handoffs=(handoff("ho_1"),),
            outbox=tuple(outbox(f"ob_{index:03d}") for index in range(count)),
        )
    )
    return store.claim_outbox(T0, worker="w", lease=timedelta(minutes=2), limit=count)


def _done(item: OutboxItem, *, token: str | None = None) -> OutboxUpdate:
    return OutboxUpdate(
        item_id=item.id,
        status=OutboxStatus.DONE,
        claimed_by=item.claimed_by or "" if token is None else token,
    )


def _submit(settler: Settler, item: OutboxItem, update: OutboxUpdate) -> None:
    settler.submit("ho_1", update, (event(f"ev_{item.id}"),), "sent")


def test_what_queues_while_a_commit_runs_is_written_in_one_more_commit() -> None:
    store = GatedStore()
    items = _claimed(store, 10)
    store.commits = 0
    store.entered.clear()
    store.gate.clear()
    settler = Settler(store)
    _submit(settler, items[0], _done(items[0]))
    assert store.entered.wait(10)  # the first settlement is being written alone
    for item in items[1:]:
        _submit(settler, item, _done(item))
    store.gate.set()
    assert settler.flush() == Counter(sent=10)
    assert store.commits == 2
    assert {row.status for row in store.outbox("default")} == {OutboxStatus.DONE}
    assert len(store.events("default")) == 10
    assert settler.close() == Counter()


@settings(max_examples=40, deadline=None)
@given(stale=st.lists(st.booleans(), min_size=1, max_size=12))
def test_a_refused_settlement_is_dropped_alone(stale: list[bool]) -> None:
    """A settlement whose lease was taken over writes nothing; the rest of its batch commits."""
    store = GatedStore()
    items = _claimed(store, len(stale))
    store.gate.clear()
    settler = Settler(store)
    for item, is_stale in zip(items, stale, strict=True):
        _submit(settler, item, _done(item, token="someone-else" if is_stale else None))
    store.gate.set()
    assert settler.flush() == Counter(sent=stale.count(False))
    settler.close()
    statuses = {row.id: row.status for row in store.outbox("default")}
    events = {e.id for e in store.events("default")}
    for item, is_stale in zip(items, stale, strict=True):
        assert statuses[item.id] is (OutboxStatus.CLAIMED if is_stale else OutboxStatus.DONE)
        assert (f"ev_{item.id}" in events) is not is_stale


def test_a_store_failure_is_raised_by_flush_and_leaves_the_rows_claimed() -> None:
    store = GatedStore()
    items = _claimed(store, 3)
    store.failure = OSError("disk I/O error")
    settler = Settler(store)
    for item in items:
        _submit(settler, item, _done(item))
    with pytest.raises(OSError, match="disk I/O error"):
        settler.flush()
    # Still claimed: the lease runs out and the rows are held, never sent again.
    assert {row.status for row in store.outbox("default")} == {OutboxStatus.CLAIMED}
    store.failure = None
    assert settler.close() == Counter()


def test_wait_for_returns_once_the_handoffs_settlements_committed() -> None:
    store = GatedStore()
    (item,) = _claimed(store, 1)
    store.gate.clear()
    settler = Settler(store)
    settler.wait_for("ho_1")  # nothing queued: returns at once
    _submit(settler, item, _done(item))
    waited = threading.Event()
    waiter = threading.Thread(target=lambda: (settler.wait_for("ho_1"), waited.set()))
    waiter.start()
    settler.wait_for("ho_other")  # another handoff's rows do not wait
    assert not waited.wait(0.05)
    store.gate.set()
    waiter.join(10)
    assert waited.is_set()
    assert store.outbox("default")[0].status is OutboxStatus.DONE
    settler.close()


def test_close_flushes_and_a_closed_settler_takes_nothing() -> None:
    store = GatedStore()
    (item,) = _claimed(store, 1)
    settler = Settler(store)
    _submit(settler, item, _done(item))
    assert settler.close() == Counter(sent=1)
    with pytest.raises(RuntimeError, match="closed"):
        _submit(settler, item, _done(item))


def test_the_store_itself_refuses_a_stale_settlement() -> None:
    """The premise of the fallback above: a wrong claim token is a ConcurrentUpdate."""
    store = MemoryStore()
    (item,) = _claimed(store, 1)
    with pytest.raises(ConcurrentUpdate):
        store.commit(Changes(outbox_updates=(_done(item, token="someone-else"),)))


def test_a_refused_settlement_goes_to_the_refused_hook_which_counts_it() -> None:
    """The store refused a settlement: the hook settles it and says what it counted, or
    that the row is gone (nothing counted), or fails (flush raises it); fed inputs count."""
    store = GatedStore()
    items = _claimed(store, 3)
    answers: list[tuple[str, bool] | Exception | None] = [
        ("failed", True),
        None,
        RuntimeError("store gone"),
    ]
    asked: list[str] = []

    def refused(update: OutboxUpdate, events: object) -> tuple[str, bool] | None:
        asked.append(update.item_id)
        answer = answers.pop(0)
        if isinstance(answer, Exception):
            raise answer
        return answer

    settler = Settler(store, refused)
    for item in items[:2]:
        _submit(settler, item, _done(item, token="refused"))
    assert settler.flush() == Counter(failed=1)
    assert settler.fed_count == 1
    _submit(settler, items[2], _done(items[2], token="refused"))
    with pytest.raises(RuntimeError, match="store gone"):
        settler.flush()
    assert asked == [item.id for item in items]
    assert settler.fed_count == 1
    assert settler.close() == Counter()
