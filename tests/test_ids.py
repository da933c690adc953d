"""Record ids: opaque, unique, and ordered by creation time for index locality."""

from __future__ import annotations

import os
import re
import time

import pytest

from escalate import _ids
from escalate._ids import new_id


def test_an_id_is_its_prefix_and_32_hex_digits() -> None:
    """Ids keep the ``prefix_<32 hex>`` shape stored records have always had."""
    assert re.fullmatch(r"ho_[0-9a-f]{32}", new_id("ho"))


def test_ids_are_unique() -> None:
    """Many ids made at once never repeat (counted on within a millisecond)."""
    ids = [new_id("ev") for _ in range(20_000)]
    assert len(set(ids)) == len(ids)


def test_ids_made_later_sort_after_earlier_ones() -> None:
    """An id made a few milliseconds later sorts after every earlier one."""
    earlier = [new_id("ob") for _ in range(100)]
    time.sleep(0.003)
    later = new_id("ob")
    assert all(later > before for before in earlier)


def test_one_process_ids_always_increase_even_within_a_millisecond() -> None:
    """Rows made together (a transition's messages) sort in the order they were made."""
    ids = [new_id("ob")[3:] for _ in range(20_000)]
    assert ids == sorted(ids)
    assert len(set(ids)) == len(ids)


def test_ids_keep_increasing_when_the_clock_steps_back(monkeypatch: pytest.MonkeyPatch) -> None:
    first = new_id("ev")
    monkeypatch.setattr(time, "time_ns", lambda: 1_000_000_000)  # 1970
    assert new_id("ev") > first


def test_the_80_bits_roll_into_the_next_millisecond(monkeypatch: pytest.MonkeyPatch) -> None:
    millis = time.time_ns() // 1_000_000 + 10_000
    monkeypatch.setattr(time, "time_ns", lambda: millis * 1_000_000)
    monkeypatch.setattr(_ids._last_id, "millis", millis)
    monkeypatch.setattr(_ids._last_id, "bits", (1 << 80) - 1)
    rolled = new_id("ev")
    assert rolled[3:15] == f"{millis + 1:012x}"


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_does_not_count_on_from_its_parents_last_id() -> None:
    """Parent and child would otherwise both make the parent's next id."""
    new_id("ev")
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child
        os.write(write, new_id("ev").encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    child = os.read(read, 64).decode()
    os.close(read)
    parent = new_id("ev")
    assert child != parent
    assert child[3:15] != parent[3:15] or abs(int(child[15:], 16) - int(parent[15:], 16)) > 1
