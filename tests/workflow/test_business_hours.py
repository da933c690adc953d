"""BusinessHours across DST changes: the next opening is never in the past, nor late."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import BusinessHours, InvalidInput

#: Zones whose clocks change at awkward hours: 02:00 (New York), 01:00 (London),
#: 03:00 (Berlin), midnight (Santiago, Havana), by half an hour (Lord Howe).
ZONES = (
    "America/New_York",
    "Europe/London",
    "Europe/Berlin",
    "America/Santiago",
    "America/Havana",
    "Australia/Lord_Howe",
)
instants = st.datetimes(
    min_value=datetime(2025, 1, 1), max_value=datetime(2028, 1, 1), timezones=st.just(UTC)
)
#: Days those zones change their clocks on, each with its zone.
CHANGES = (
    ("America/New_York", date(2026, 3, 8)),
    ("America/New_York", date(2026, 11, 1)),
    ("Europe/London", date(2026, 3, 29)),
    ("Europe/Berlin", date(2026, 10, 25)),
    ("America/Santiago", date(2026, 9, 6)),
    ("America/Havana", date(2026, 3, 8)),
    ("Australia/Lord_Howe", date(2026, 10, 4)),
)
half_hours = st.integers(min_value=0, max_value=47).map(lambda n: time(n // 2, 30 * (n % 2)))


def _check_next_open(zone: str, opens: time, hours: int, at: datetime) -> None:
    end = datetime.combine(date(2000, 1, 1), opens) + timedelta(hours=hours)
    if end.date() != date(2000, 1, 1):
        return  # hours do not wrap midnight
    team = BusinessHours(zone, opens=opens, closes=end.time(), days=range(7))
    opening = team.next_open(at)
    assert opening >= at
    assert team.is_open(opening)
    if opening > at:
        assert not team.is_open(opening - timedelta(microseconds=1))


@given(zone=st.sampled_from(ZONES), opens=half_hours, hours=st.integers(2, 12), at=instants)
def test_next_open_is_the_first_open_instant_at_or_after_any_time(
    zone: str, opens: time, hours: int, at: datetime
) -> None:
    """Whatever the zone's DST rules: open at next_open, closed just before it, never before at."""
    _check_next_open(zone, opens, hours, at)


@given(
    change=st.sampled_from(CHANGES),
    opens=st.integers(min_value=0, max_value=7).map(lambda n: time(n // 2, 30 * (n % 2))),
    hours=st.integers(2, 12),
    minutes=st.integers(min_value=-24 * 60, max_value=48 * 60),
)
def test_next_open_around_a_clock_change_with_an_opening_in_the_small_hours(
    change: tuple[str, date], opens: time, hours: int, minutes: int
) -> None:
    """An opening time the change skips or repeats still gives the first open instant."""
    zone, day = change
    at = datetime.combine(day, time(), UTC) + timedelta(minutes=minutes)
    _check_next_open(zone, opens, hours, at)


def test_an_opening_time_the_spring_forward_skips_opens_when_the_clock_jumps() -> None:
    """Opening at 02:30 on the night 02:00 becomes 03:00: open at 03:00 EDT, not 03:30."""
    team = BusinessHours("America/New_York", opens=time(2, 30), closes=time(10), days=range(7))
    saturday_night = datetime(2026, 3, 8, 5, 0, tzinfo=UTC)  # 00:00 EST, Sunday 8 March
    assert team.next_open(saturday_night) == datetime(2026, 3, 8, 7, 0, tzinfo=UTC)
    assert team.describe_return(saturday_night) == "Sunday 03:00 EDT"


def test_an_opening_time_the_fall_back_repeats_is_not_in_the_past() -> None:
    """At 01:10 EST (the clock went back from 02:00 EDT) the 01:30 opening is 01:30 EST."""
    team = BusinessHours("America/New_York", opens=time(1, 30), closes=time(9), days=range(7))
    repeated_hour = datetime(2026, 11, 1, 6, 10, tzinfo=UTC)  # 01:10 EST, second time round
    assert not team.is_open(repeated_hour)
    assert team.next_open(repeated_hour) == datetime(2026, 11, 1, 6, 30, tzinfo=UTC)
    assert team.describe_return(repeated_hour) == "Sunday 01:30 EST"


def test_a_closing_time_the_fall_back_repeats_reopens_at_its_second_reading() -> None:
    """00:30-02:30 in Berlin, 03:00 CEST becomes 02:00 CET: the clock reads 02:00-02:30 again.

    is_open already said so; next_open answered the next night, so a post made
    at 02:40 CEST was told the team was back at 00:30 the next day.
    """
    team = BusinessHours("Europe/Berlin", opens=time(0, 30), closes=time(2, 30), days=range(7))
    after_first_close = datetime(2026, 10, 25, 0, 40, tzinfo=UTC)  # 02:40 CEST
    assert not team.is_open(after_first_close)
    assert team.next_open(after_first_close) == datetime(2026, 10, 25, 1, 0, tzinfo=UTC)
    assert team.describe_return(after_first_close) == "Sunday 02:00 CET"


def test_opening_times_with_a_time_zone_are_refused() -> None:
    """An aware opens/closes is an error at definition, not a TypeError at the first post."""
    with pytest.raises(InvalidInput, match="local times"):
        BusinessHours("America/New_York", opens=time(9, tzinfo=UTC))
    with pytest.raises(InvalidInput, match="local times"):
        BusinessHours("UTC", closes=time(17, tzinfo=timezone(timedelta(hours=-5))))


def test_an_opening_time_marked_fold_1_reads_as_the_wall_clock_time() -> None:
    """time(9, fold=1) is 09:00 like time(9): the spring-forward day still opens on time."""
    team = BusinessHours("Europe/London", opens=time(1, fold=1), closes=time(4), days=range(7))
    assert team.opens.fold == 0
    before = datetime(2025, 3, 29, 4, 0, tzinfo=UTC)  # Saturday 04:00 GMT, closed
    assert team.next_open(before) == datetime(2025, 3, 30, 1, 0, tzinfo=UTC)  # 02:00 BST


@pytest.mark.parametrize("opens", [time(17), time(18), time(23, 59)])
def test_a_late_opening_without_a_closing_time_is_refused(opens: time) -> None:
    """The default 17:00 would make it a 23-hour (or 24-hour) window nobody asked for."""
    with pytest.raises(InvalidInput, match="give closes"):
        BusinessHours("America/New_York", opens=opens)
    assert BusinessHours("America/New_York", opens=opens, closes=time(2)).closes == time(2)
    assert BusinessHours("America/New_York", opens=time(16, 59)).closes == time(17)


@given(
    zone=st.sampled_from(ZONES),
    at=st.datetimes(min_value=datetime(9999, 12, 25), timezones=st.just(UTC)),
)
def test_no_opening_before_the_calendar_ends_is_invalid_input_not_overflow(
    zone: str, at: datetime
) -> None:
    hours = BusinessHours(zone, opens=time(9), closes=time(17), days=[5, 6])
    try:
        back = hours.next_open(at)
        hours.describe_return(at)
    except InvalidInput:
        return
    assert hours.is_open(back)
    assert back >= at
