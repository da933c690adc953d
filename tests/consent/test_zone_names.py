"""Every place that takes an IANA zone name refuses a bad one with InvalidInput."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from escalate import BusinessHours, ConsentPolicy, Escalator, Identity, InvalidInput
from escalate.consent import QuietHours
from escalate.testing import FakeClock
from tests.conftest import make_thread

#: Names that are no zone: tzdata's region folders (which ZoneInfo tries to open
#: as a file, raising IsADirectoryError when the tzdata package is installed), a
#: name too long for the file system, an unhashable list (TypeError from the
#: zone cache), and plain unknown ones.
NOT_ZONES: list[object] = [
    "America", "Europe", "Etc", "x" * 300, "Mars/Base", "", "America/", ["UTC"],
]  # fmt: skip


@pytest.mark.parametrize("name", NOT_ZONES)
def test_a_name_that_is_no_zone_is_invalid_input_everywhere(name: object) -> None:
    """BusinessHours, ConsentPolicy, set_time_zone, known_zone: InvalidInput, never OSError."""
    with pytest.raises(InvalidInput, match="time zone"):
        BusinessHours(name)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="time zone"):
        ConsentPolicy(default_zone=name)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="time zone"):
        QuietHours().window(
            Identity.phone("+12125550100"),
            datetime(2026, 1, 5, tzinfo=UTC),
            known_zone=name,  # type: ignore[arg-type]
        )
    clock = FakeClock(datetime(2026, 1, 5, tzinfo=UTC))
    esc = Escalator("memory://", clock=clock)
    esc.open(make_thread(clock, thread_id="1", user_id="100"))
    contact = esc.contacts.resolve(Identity.social("x", "100"))
    assert contact is not None
    with pytest.raises(InvalidInput, match="time zone"):
        esc.contacts.set_time_zone(contact.id, name)  # type: ignore[arg-type]
    unchanged = esc.contacts.get(contact.id)
    assert unchanged is not None
    assert unchanged.time_zone is None
