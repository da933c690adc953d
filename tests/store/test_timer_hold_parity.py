"""Holds and releases in one ``Changes`` are judged alike by every store.

Found by a review: ``MemoryStore`` checked a change's holds and releases against
the timers as they were before it, one by one, where ``SQLiteStore`` writes them
after the change's fired, cancelled and restarted timers, holds before releases.
So the same ``Changes`` was refused by one store and taken by the other: a timer
named twice in ``hold_timers``, held and released in one change, or restarted
and held in one change (``MemoryStore`` then kept a cancelled timer as held).
"""

from __future__ import annotations

from typing import Any

import pytest

from escalate import StaleTimer
from escalate.store import Changes, Store
from tests.store._records import event, timer
from tests.store.test_timer_holds import _due, _seeded


def test_a_timer_named_twice_in_one_hold_is_refused_whole(store: Store) -> None:
    """The second hold of it finds it held: the change writes nothing."""
    _seeded(store)
    with pytest.raises(StaleTimer):
        store.commit(Changes(hold_timers=("tm_1", "tm_1"), events=(event("ev_twice"),)))
    assert store.events("default") == []
    assert sorted(_due(store)) == ["tm_1", "tm_2"]


def test_a_hold_and_its_release_in_one_change_leave_the_timer_due(store: Store) -> None:
    """Holds are written before releases: held, then released, the timer is due."""
    _seeded(store)
    store.commit(Changes(hold_timers=("tm_1",), release_timers=(("ho_1", "tm_1"),)))
    assert sorted(_due(store)) == ["tm_1", "tm_2"]
    with pytest.raises(StaleTimer):  # nothing left to release
        store.commit(Changes(release_timers=(("ho_1", "tm_1"),)))


@pytest.mark.parametrize("how", ["cancel", "restart", "fire"])
def test_a_timer_ended_in_the_same_change_cannot_be_held_or_released(
    store: Store, how: str
) -> None:
    """Cancelled, restarted or fired by the change, it is no longer pending to hold or release."""
    _seeded(store)
    ends = {
        "cancel": Changes(cancel_timers=(("ho_1", "remind"),)),
        "restart": Changes(timers=(timer("tm_3", name="remind"),)),
        "fire": Changes(fire_timers=("tm_1",)),
    }[how]
    with pytest.raises(StaleTimer):
        store.commit(Changes(**_fields(ends), hold_timers=("tm_1",)))
    store.commit(Changes(hold_timers=("tm_1",)))
    with pytest.raises(StaleTimer):
        store.commit(Changes(**_fields(ends), release_timers=(("ho_1", "tm_1"),)))
    assert _due(store) == ["tm_2"]


def _fields(changes: Changes) -> dict[str, Any]:
    return {
        "cancel_timers": changes.cancel_timers,
        "timers": changes.timers,
        "fire_timers": changes.fire_timers,
    }
