"""Record ids: opaque, unique, and ordered by creation time for index locality."""

from __future__ import annotations

import re
import time

from escalate._ids import new_id


def test_an_id_is_its_prefix_and_32_hex_digits() -> None:
    """Ids keep the ``prefix_<32 hex>`` shape stored records have always had."""
    assert re.fullmatch(r"ho_[0-9a-f]{32}", new_id("ho"))


def test_ids_are_unique() -> None:
    """Many ids made at once never repeat (80 random bits within a millisecond)."""
    ids = [new_id("ev") for _ in range(20_000)]
    assert len(set(ids)) == len(ids)


def test_ids_made_later_sort_after_earlier_ones() -> None:
    """An id made a few milliseconds later sorts after every earlier one."""
    earlier = [new_id("ob") for _ in range(100)]
    time.sleep(0.003)
    later = new_id("ob")
    assert all(later > before for before in earlier)
