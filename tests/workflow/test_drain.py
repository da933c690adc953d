"""stream(): keeps the pool full, keeps one key's groups in order, surfaces errors."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from escalate.workflow._drain import stream


class Source:
    """Hands out items in claims; keys repeat so one key is claimed again while running."""

    def __init__(self, items: list[tuple[str, int]]) -> None:
        self.items = list(items)
        self.claims: list[int] = []

    def claim(self, n: int) -> dict[str, list[tuple[str, int]]]:
        self.claims.append(n)
        taken, self.items = self.items[:n], self.items[n:]
        groups: dict[str, list[tuple[str, int]]] = {}
        for key, value in taken:
            groups.setdefault(key, []).append((key, value))
        return groups


def test_runs_everything_in_key_order_never_two_of_one_key_at_once() -> None:
    """Every item runs once; one key's items run in claim order and never overlap."""
    items = [(f"k{i % 5}", i) for i in range(60)]
    source, seen, active = Source(items), [], set()
    lock = threading.Lock()
    overlaps = []

    def run(group: list[tuple[str, int]]) -> list[int]:
        key = group[0][0]
        with lock:
            if key in active:
                overlaps.append(key)
            active.add(key)
        time.sleep(0.002)
        with lock:
            active.discard(key)
        return [value for _, value in group]

    with ThreadPoolExecutor(8) as pool:
        stream(claim=source.claim, run=run, done=seen.extend, pool=pool, window=4, chunk=2)
    assert sorted(seen) == list(range(60))
    assert overlaps == []
    for key in {key for key, _ in items}:
        mine = [v for v in seen if f"k{v % 5}" == key]
        assert mine == sorted(mine)
    assert max(source.claims) <= 4


def test_first_error_is_raised_after_running_groups_finish() -> None:
    """A failing group stops further claims; the others finish; the error is re-raised."""
    source, seen = Source([("a", 1), ("b", 2), ("c", 3)]), []

    def run(group: list[tuple[str, int]]) -> list[int]:
        if group[0][0] == "b":
            raise RuntimeError("store down")
        time.sleep(0.01)
        return [value for _, value in group]

    with ThreadPoolExecutor(4) as pool, pytest.raises(RuntimeError, match="store down"):
        stream(claim=source.claim, run=run, done=seen.extend, pool=pool, window=3, chunk=1)
    assert sorted(seen) == [1, 3]
