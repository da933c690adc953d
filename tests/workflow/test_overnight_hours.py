"""BusinessHours with windows that cross midnight (22:00-06:00) or last 24 hours.

The property tests hold the class to a reference model read straight from the
documented rule: the team is open while its wall clock reads a time inside the
window of an open day, from ``opens`` that day for ``closes - opens`` (mod 24
hours, 24 hours when equal). Every window edge and every clock change in these
zones falls on a whole UTC minute, so scanning minute by minute is exact.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import example, given
from hypothesis import strategies as st

from escalate import BusinessHours, InvalidInput

#: Each zone with the instants its clocks change in 2026, both ways: at 02:00
#: (New York), 01:00 (London), 03:00 (Berlin), midnight (Santiago, Havana), by
#: half an hour (Lord Howe), at 02:45 (Chatham); Kathmandu (+05:45) never changes:
#: its instant is an ordinary night.
CHANGES = {
    "America/New_York": (datetime(2026, 3, 8, 7), datetime(2026, 11, 1, 6)),
    "Europe/London": (datetime(2026, 3, 29, 1), datetime(2026, 10, 25, 1)),
    "Europe/Berlin": (datetime(2026, 3, 29, 1), datetime(2026, 10, 25, 1)),
    "America/Santiago": (datetime(2026, 4, 5, 3), datetime(2026, 9, 6, 4)),
    "America/Havana": (datetime(2026, 3, 8, 5), datetime(2026, 11, 1, 5)),
    "Australia/Lord_Howe": (datetime(2026, 4, 4, 15), datetime(2026, 10, 3, 15, 30)),
    "Pacific/Chatham": (datetime(2026, 4, 4, 14), datetime(2026, 9, 26, 14)),
    "Asia/Kathmandu": (datetime(2026, 6, 1),),
}
DAY = timedelta(days=1)
MINUTE = timedelta(minutes=1)


def _time(minutes: int) -> time:
    return time(minutes // 60, minutes % 60)


any_time = st.integers(0, 24 * 60 - 1)


@st.composite
def windows(draw: st.DrawFn, clock: st.SearchStrategy[int]) -> tuple[time, time]:
    """An ordinary, overnight or 24-hour window: (opens, closes)."""
    opens = draw(clock)
    closes = draw(st.one_of(clock, st.just(opens)))
    return _time(opens), _time(closes)


def _reference_is_open(team: BusinessHours, at: datetime) -> bool:
    """The documented rule, read directly, from the local wall-clock reading."""
    wall = at.astimezone(ZoneInfo(team.tz)).replace(tzinfo=None)
    opens = datetime.combine(date.min, team.opens)
    length = (datetime.combine(date.min, team.closes) - opens) % DAY or DAY
    starts = (
        datetime.combine(day, team.opens)
        for day in (wall.date() - DAY, wall.date())
        if day.weekday() in team.days and day not in team.holidays
    )
    return any(start <= wall < start + length for start in starts)


def _check_against_reference(team: BusinessHours, at: datetime, span: timedelta) -> None:
    """is_open and next_open agree with the reference at ``at`` and each minute of ``span``.

    next_open must be the instant itself when open, else the first open minute
    after it, found by scanning on until one is open.
    """
    scanned: list[tuple[datetime, bool]] = []
    minute = at.replace(second=0, microsecond=0) + MINUTE
    while minute <= at + span or not scanned[-1][1]:
        scanned.append((minute, _reference_is_open(team, minute)))
        minute += MINUTE
    opening: dict[datetime, datetime] = {}
    for minute, is_open in reversed(scanned):
        opening[minute] = minute if is_open else opening[minute + MINUTE]
    open_at = _reference_is_open(team, at)
    assert team.is_open(at) is open_at
    assert team.next_open(at) == (at if open_at else opening[scanned[0][0]])
    for minute, is_open in scanned:
        assert team.is_open(minute) is is_open
        if minute <= at + span:
            assert team.next_open(minute) == opening[minute]


def _team(
    zone: str,
    window: tuple[time, time],
    days: frozenset[int],
    holidays: frozenset[int],
    at: datetime,
) -> BusinessHours:
    """A team whose holidays are days counted from ``at``'s date."""
    near = {at.date() + timedelta(days=n) for n in holidays}
    return BusinessHours(zone, opens=window[0], closes=window[1], days=days, holidays=near)


weekdays = st.frozensets(st.integers(0, 6), min_size=1)
near_days = st.frozensets(st.integers(-2, 9), max_size=3)


@given(
    zone=st.sampled_from(sorted(CHANGES)),
    window=windows(any_time),
    days=weekdays,
    holidays=near_days,
    at=st.datetimes(datetime(2025, 1, 1), datetime(2028, 1, 1), timezones=st.just(UTC)),
)
def test_open_and_next_open_agree_with_the_reference_at_any_time(
    zone: str,
    window: tuple[time, time],
    days: frozenset[int],
    holidays: frozenset[int],
    at: datetime,
) -> None:
    """For any window, weekdays, holidays and instant: open as the rule says, back when it says."""
    _check_against_reference(_team(zone, window, days, holidays, at), at, timedelta(minutes=30))


@given(
    change=st.sampled_from([(z, c) for z, cs in CHANGES.items() for c in cs]),
    edges=st.tuples(st.integers(-6, 6), st.integers(-6, 6)),
    days=weekdays,
    holidays=near_days,
    seconds=st.floats(0, 60, exclude_max=True),
)
# Closing times the fall-back repeats: 00:30-02:30 in Berlin, 22:00-23:30 and
# 00:00-23:45 in Santiago (whose clock goes back from 24:00 to 23:00).
@example(("Europe/Berlin", datetime(2026, 10, 25, 1)), (-6, 2), frozenset(range(7)), frozenset(), 0)
@example(("America/Santiago", datetime(2026, 4, 5, 3)), (-4, 2), frozenset({5}), frozenset(), 0)
@example(("America/Santiago", datetime(2026, 4, 5, 3)), (4, 3), frozenset({5}), frozenset(), 0)
def test_open_and_next_open_agree_with_the_reference_around_clock_changes(
    change: tuple[str, datetime],
    edges: tuple[int, int],
    days: frozenset[int],
    holidays: frozenset[int],
    seconds: float,
) -> None:
    """Windows edged within 90 minutes of a change's wall time, asked every minute around it.

    So opening and closing times the change skips or repeats, in windows that
    cross midnight or not, are each asked about from before, during and after.
    """
    zone, instant = change
    change_at = instant.replace(tzinfo=UTC)
    local = change_at.astimezone(ZoneInfo(zone))
    minutes = local.hour * 60 + local.minute
    window = (
        _time((minutes + 15 * edges[0]) % (24 * 60)),
        _time((minutes + 15 * edges[1]) % (24 * 60)),
    )
    at = change_at - timedelta(hours=3, seconds=seconds)
    _check_against_reference(_team(zone, window, days, holidays, at), at, timedelta(hours=4))


NIGHT = BusinessHours("America/New_York", opens=time(22), closes=time(6))


def test_a_night_shift_belongs_to_the_day_it_starts() -> None:
    """22:00-06:00 Monday to Friday: Friday's shift runs into Saturday; Sunday has none."""
    assert NIGHT.is_open(datetime(2026, 1, 17, 4, 0, tzinfo=UTC))  # Fri 23:00 EST
    assert NIGHT.is_open(datetime(2026, 1, 17, 10, 59, tzinfo=UTC))  # Sat 05:59
    assert not NIGHT.is_open(datetime(2026, 1, 17, 11, 0, tzinfo=UTC))  # Sat 06:00
    assert not NIGHT.is_open(datetime(2026, 1, 19, 8, 0, tzinfo=UTC))  # Mon 03:00
    saturday = datetime(2026, 1, 17, 15, 0, tzinfo=UTC)  # Sat 10:00
    assert NIGHT.next_open(saturday) == datetime(2026, 1, 20, 3, 0, tzinfo=UTC)
    assert NIGHT.describe_return(saturday) == "Monday 22:00 EST"
    assert NIGHT.describe_return(saturday, "es-MX") == "lunes 22:00 EST"


def test_a_holiday_cancels_the_shift_that_starts_on_it_only() -> None:
    """Holiday on Friday: Thursday's shift still ends Friday 06:00; no shift Friday night."""
    team = BusinessHours(
        "America/New_York", opens=time(22), closes=time(6), holidays={date(2026, 1, 16)}
    )
    assert team.is_open(datetime(2026, 1, 16, 8, 0, tzinfo=UTC))  # Fri 03:00
    assert not team.is_open(datetime(2026, 1, 17, 4, 0, tzinfo=UTC))  # Fri 23:00
    assert team.describe_return(datetime(2026, 1, 16, 12, 0, tzinfo=UTC)) == "Monday 22:00 EST"


@pytest.mark.parametrize("at", [time(0), time(8)])
def test_closes_equal_to_opens_is_a_24_hour_window(at: time) -> None:
    """Mon-Fri from ``at`` to ``at``: open all week from Monday's opening to Saturday's."""
    team = BusinessHours("Europe/London", opens=at, closes=at)
    monday = datetime.combine(date(2026, 1, 12), at, tzinfo=UTC)
    for hours in (0, 23, 24, 100, 5 * 24 - 1):
        assert team.is_open(monday + timedelta(hours=hours))
    assert not team.is_open(monday + timedelta(days=5))
    assert team.next_open(monday + timedelta(days=5)) == monday + timedelta(days=7)


def test_a_night_shift_on_the_spring_forward_night_is_an_hour_shorter() -> None:
    """22:00 EST to 06:00 EDT: open across the jump from 02:00 to 03:00, closed at 06:00 EDT."""
    team = BusinessHours("America/New_York", opens=time(22), closes=time(6), days=range(7))
    assert team.is_open(datetime(2026, 3, 8, 6, 59, tzinfo=UTC))  # 01:59 EST
    assert team.is_open(datetime(2026, 3, 8, 7, 0, tzinfo=UTC))  # 03:00 EDT
    assert not team.is_open(datetime(2026, 3, 8, 10, 0, tzinfo=UTC))  # 06:00 EDT


def test_a_closing_time_the_fall_back_repeats_is_reached_twice() -> None:
    """22:00-01:30 on the night 02:00 EDT becomes 01:00 EST: back at 01:00 EST till 01:30."""
    team = BusinessHours("America/New_York", opens=time(22), closes=time(1, 30), days=range(7))
    after_first_close = datetime(2026, 11, 1, 5, 45, tzinfo=UTC)  # 01:45 EDT
    assert not team.is_open(after_first_close)
    assert team.next_open(after_first_close) == datetime(2026, 11, 1, 6, 0, tzinfo=UTC)
    assert team.describe_return(after_first_close) == "Sunday 01:00 EST"
    assert not team.is_open(datetime(2026, 11, 1, 6, 30, tzinfo=UTC))  # 01:30 EST


def test_an_opening_time_a_midnight_fall_back_repeats_opens_at_its_second_reading() -> None:
    """Santiago goes from 24:00 back to 23:00: a 23:30-01:00 shift reopens at 23:30 (-04)."""
    team = BusinessHours("America/Santiago", opens=time(23, 30), closes=time(1), days=range(7))
    assert team.is_open(datetime(2026, 4, 5, 2, 45, tzinfo=UTC))  # 23:45 -03, first pass
    second_pass = datetime(2026, 4, 5, 3, 10, tzinfo=UTC)  # 23:10 -04
    assert not team.is_open(second_pass)
    assert team.next_open(second_pass) == datetime(2026, 4, 5, 3, 30, tzinfo=UTC)
    assert team.is_open(datetime(2026, 4, 5, 4, 59, tzinfo=UTC))  # 00:59 -04, Sunday


def test_no_window_within_400_days_is_an_error_for_a_night_shift_too() -> None:
    """Holidays covering every day a shift could start on: InvalidInput, not a loop."""
    first = date(2026, 1, 1)
    team = BusinessHours(
        "Europe/London",
        opens=time(22),
        closes=time(6),
        holidays={first + timedelta(days=n) for n in range(-1, 401)},
    )
    with pytest.raises(InvalidInput, match="no open day"):
        team.next_open(datetime(2026, 1, 1, 12, tzinfo=UTC))
