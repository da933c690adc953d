"""Quiet hours on the nights the clocks change: the window opens when the wall clock says so."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalate import Identity
from escalate.consent import QuietHours

PHONE = Identity.phone("+12125550100")


def utc(year: int, month: int, day: int, hour: int = 0, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


CASES = [
    # zone, window, asked (UTC), first allowed (UTC), why
    ("America/New_York", (time(2, 30), time(20)), utc(2026, 3, 8, 6), utc(2026, 3, 8, 7),
     "02:30 is skipped: the window opens when 01:59:59 EST jumps to 03:00 EDT"),
    ("America/New_York", (time(22), time(1, 30)), utc(2026, 11, 1, 5, 45), utc(2026, 11, 1, 6),
     "closed at 01:45 EDT, the clock goes back to 01:00 EST, inside 22:00-01:30 again"),
    ("America/Santiago", (time(23, 30), time(6)), utc(2026, 4, 5, 3, 10), utc(2026, 4, 5, 3, 30),
     "23:10 on the repeated hour: 23:30 comes round again tonight, not tomorrow"),
    ("America/Godthab", (time(23, 30), time(6)), utc(2026, 10, 25, 1, 10),
     utc(2026, 10, 25, 1, 30), "Nuuk repeats 23:00-24:00; 23:30's second reading opens it"),
    ("America/Godthab", (time(23, 30), time(6)), utc(2026, 3, 28, 23),
     utc(2026, 3, 29, 1), "Nuuk skips 23:00-24:00: the window opens at the jump to 00:00"),
    ("Australia/Lord_Howe", (time(2, 15), time(20)), utc(2026, 10, 3, 15),
     utc(2026, 10, 3, 15, 30), "Lord Howe skips 02:00-02:30: open at the jump to 02:30"),
]  # fmt: skip


@pytest.mark.parametrize(("zone", "window", "asked", "expected", "why"), CASES)
def test_a_clock_change_opens_the_window_when_the_wall_clock_enters_it(
    zone: str, window: tuple[time, time], asked: datetime, expected: datetime, why: str
) -> None:
    """A start the change skips or repeats, or an end it repeats, defers to the true opening."""
    hours = QuietHours(*window)
    assert hours.next_allowed(PHONE, asked, known_zone=zone) == expected, why


#: Zones, the days they change their clocks, and the local hour the change is
#: at: 02:00 (New York), 01:00 or 02:00 (London), midnight (Santiago), 23:00
#: (Nuuk), by half an hour (Lord Howe).
CHANGES = [
    ("America/New_York", date(2026, 3, 8), 2),
    ("America/New_York", date(2026, 11, 1), 1),
    ("Europe/London", date(2026, 3, 29), 1),
    ("Europe/London", date(2026, 10, 25), 1),
    ("America/Santiago", date(2026, 4, 5), 23),
    ("America/Santiago", date(2026, 9, 6), 0),
    ("America/Godthab", date(2026, 3, 29), 23),
    ("America/Godthab", date(2026, 10, 25), 23),
    ("Australia/Lord_Howe", date(2026, 4, 5), 1),
    ("Australia/Lord_Howe", date(2026, 10, 4), 2),
]
quarter_hours = st.integers(0, 95)


@st.composite
def windows_near_a_change(draw: st.DrawFn) -> tuple[str, date, time, time]:
    """A change, and a window whose ends are often in or next to its skipped or repeated hour."""
    zone, day, hour = draw(st.sampled_from(CHANGES))
    near = st.integers(hour * 4 - 4, hour * 4 + 4).map(lambda n: n % 96)
    start, end = (draw(st.one_of(near, quarter_hours)) for _ in range(2))
    return zone, day, time(start // 4, 15 * (start % 4)), time(end // 4, 15 * (end % 4))


def _first_allowed_by_the_minute(hours: QuietHours, zone: ZoneInfo, at: datetime) -> datetime:
    """The reference: walk the real minutes (every clock change here is on one) from ``at``."""

    def allowed(instant: datetime) -> bool:
        return hours.allows_local(instant.astimezone(zone).time())

    if allowed(at):
        return at
    minute = at.replace(second=0, microsecond=0) + timedelta(minutes=1)
    while not allowed(minute):
        minute += timedelta(minutes=1)
    return minute


@settings(max_examples=300, deadline=None)
@given(change=windows_near_a_change(), seconds=st.integers(-30 * 3600, 30 * 3600))
def test_the_deferral_is_the_first_allowed_minute_around_clock_changes(
    change: tuple[str, date, time, time], seconds: int
) -> None:
    """Any window, asked around a clock change: the answer is the first instant it allows."""
    zone, day, start, end = change
    if start == end:
        return
    hours = QuietHours(start, end)
    at = datetime.combine(day, time(), tzinfo=UTC) + timedelta(seconds=seconds)
    expected = _first_allowed_by_the_minute(hours, ZoneInfo(zone), at)
    assert hours.next_allowed(PHONE, at, known_zone=zone) == expected
