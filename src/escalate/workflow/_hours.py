"""``BusinessHours``: when the team is in, in its own time zone, minus holidays.

Used by the default workflow so that an off-hours public acknowledgement says
when the team is back. Pure: every method takes the instant it is asked about.

The team is open exactly while its wall clock reads a time inside one of its
windows: one per open day, from ``opens`` that day to ``closes`` the same day,
or the next day when ``closes`` is not after ``opens`` (a night shift).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from escalate._clock import aware_datetime
from escalate._exceptions import InvalidInput
from escalate._locale import language_of
from escalate.consent._quiet_hours import clock_change, zone_info

__all__ = ["BusinessHours"]

_WEEKDAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
}
_MONTHS = {
    "en": (
        "January", "February", "March", "April", "May", "June",
        "July", "August", "September", "October", "November", "December",
    ),
    "es": (
        "enero", "febrero", "marzo", "abril", "mayo", "junio",
        "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre",
    ),
}  # fmt: skip
#: A weekday alone names the return only within the coming week.
_WEEK = timedelta(days=7)
_DAY = timedelta(days=1)
_DEFAULT_CLOSES = time(17, 0)
#: How far ahead next_open looks for an open day before giving up.
_HORIZON_DAYS = 400


@dataclass(frozen=True, init=False)
class BusinessHours:
    """Opening hours in one time zone.

    Each open day has one window, from ``opens`` to ``closes``. When ``closes``
    is at or before ``opens`` the window ends the next day (22:00-06:00), and
    ``closes == opens`` makes it 24 hours. A window belongs to the day it opens:
    ``days`` and ``holidays`` say whether it opens at all, and one that opened
    runs to its closing time even into a holiday or an unlisted day.

    Args:
        tz: an IANA zone name, e.g. ``"America/New_York"``.
        opens: local opening time (default 09:00).
        closes: local closing time (default 17:00); at or before ``opens``, the
            next day's. Required when ``opens`` is 17:00 or later.
        days: weekdays a window opens on, Monday = 0 (default Monday to Friday).
        holidays: local dates no window opens on.

    Raises:
        InvalidInput: unknown zone, aware ``opens`` or ``closes``, ``closes``
            left out with ``opens`` at or after 17:00, bad weekday,
            holiday not a date, or no open day at all.
    """

    tz: str
    opens: time = time(9, 0)
    closes: time = time(17, 0)
    days: frozenset[int] = frozenset(range(5))
    holidays: frozenset[date] = field(default_factory=frozenset)

    def __init__(
        self,
        tz: str,
        opens: time = time(9, 0),
        closes: time | None = None,
        days: Iterable[int] = range(5),
        holidays: Iterable[date] = (),
    ) -> None:
        zone_info(tz)
        if closes is None:
            if isinstance(opens, time) and opens.replace(tzinfo=None) >= _DEFAULT_CLOSES:
                # The default closing time would silently turn ``opens=time(18)``
                # into an 18:00-17:00 night shift (or 17:00 into 24 hours).
                raise InvalidInput(
                    "opens is at or after the default closing time 17:00: give closes too"
                    " (at or before opens for a window that ends the next day)"
                )
            closes = _DEFAULT_CLOSES
        if not isinstance(opens, time) or not isinstance(closes, time):
            raise InvalidInput("opens and closes must be datetime.time values")
        if opens.tzinfo is not None or closes.tzinfo is not None:
            # Compared with local wall-clock times, an aware one would raise
            # TypeError at the first off-hours post instead of here.
            raise InvalidInput("opens and closes are local times in tz; give them no tzinfo")
        # fold=1 would move the opening to the later offset on a DST-change day.
        opens, closes = opens.replace(fold=0), closes.replace(fold=0)
        holiday_set = _set_of(holidays, "holidays")
        if not all(isinstance(d, date) and not isinstance(d, datetime) for d in holiday_set):
            # A datetime or a "2026-07-03" string never equals a date: that
            # holiday would silently count as a working day.
            raise InvalidInput("holidays must be datetime.date values (not datetimes or text)")
        day_set = _set_of(days, "days")
        if not day_set or not day_set <= set(range(7)):
            raise InvalidInput("days must be a non-empty set of weekdays 0-6 (Monday = 0)")
        object.__setattr__(self, "tz", tz)
        object.__setattr__(self, "opens", opens)
        object.__setattr__(self, "closes", closes)
        object.__setattr__(self, "days", day_set)
        object.__setattr__(self, "holidays", holiday_set)

    @property
    def zone(self) -> ZoneInfo:
        return zone_info(self.tz)

    def _local(self, at: datetime) -> datetime:
        try:
            return aware_datetime(at, "at").astimezone(self.zone)
        except OverflowError:
            # Within hours of datetime.max the local reading can fall past 9999-12-31.
            raise InvalidInput("at is too close to the end of the calendar (year 9999)") from None

    def _open_day(self, day: date) -> bool:
        return day.weekday() in self.days and day not in self.holidays

    def is_open(self, at: datetime) -> bool:
        """True when ``at`` falls within opening hours."""
        local = self._local(at)
        day, clock = local.date(), local.time()
        if self.opens < self.closes:
            return self._open_day(day) and self.opens <= clock < self.closes
        # Past midnight, the window open now (if any) is the one that opened yesterday.
        return (clock >= self.opens and self._open_day(day)) or (
            clock < self.closes and self._open_day(day - _DAY)
        )

    def _next_start(self, local: datetime) -> datetime | None:
        """The first window start after a local reading, as a naive one, if one is near."""
        day, wall = local.date(), local.replace(tzinfo=None)
        for _ in range(_HORIZON_DAYS):
            start = datetime.combine(day, self.opens)
            if start > wall and self._open_day(day):
                return start
            day += _DAY
        return None

    def next_open(self, at: datetime) -> datetime:
        """The next opening instant at or after ``at`` (``at`` itself when open), in UTC.

        Raises:
            InvalidInput: no open day within the next 400 days (holidays cover all),
                or none before the calendar ends (``datetime.max``).
        """
        at = aware_datetime(at, "at")
        if self.is_open(at):
            return at
        try:
            return self._next_open_after(at)
        except OverflowError:
            # datetime arithmetic past 9999-12-31 raises OverflowError, which a
            # caller catching EscalateError would not expect from a bad date.
            raise InvalidInput("no opening before the end of the calendar (year 9999)") from None

    def _next_open_after(self, at: datetime) -> datetime:
        zone, now = self.zone, at
        # The team opens when the wall clock reaches a window's start, or when a
        # clock change moves it into a window: forward past a start the change
        # skips, or back into one (a closing time the change repeats). Between
        # changes the clock moves with real time, so walk from change to change.
        local = now.astimezone(zone)
        start = self._next_start(local)
        while start is not None:
            wall = local.replace(tzinfo=None)
            # A day at a time, so that no two clock changes fall in one step.
            step = min(start - wall, _DAY)
            ahead = now + step
            if ahead.astimezone(zone).utcoffset() == local.utcoffset():
                if ahead - now == start - wall:
                    return ahead
                now, local = ahead, ahead.astimezone(zone)
                continue
            now = clock_change(zone, now, ahead)
            if self.is_open(now):
                return now
            local = now.astimezone(zone)
            start = self._next_start(local)
        raise InvalidInput(f"no open day in the next {_HORIZON_DAYS} days")

    def describe_return(self, at: datetime, locale: str = "en") -> str:
        """When the team is back after ``at``, for a public reply: ``Monday 09:00 EST``.

        A return a week or more away names its date too (``Monday 5 January 09:00
        EST``): after a long closure, "Monday" alone would be read as the next one.
        ``locale`` is ``en`` or ``es`` (a regional tag counts as its language);
        any other gets English.
        """
        at = aware_datetime(at, "at")
        back = self._local(self.next_open(at))
        language = language_of(locale) if isinstance(locale, str) else "en"
        if language not in _WEEKDAYS:
            language = "en"
        day = _WEEKDAYS[language][back.weekday()]
        if back.date() - self._local(at).date() >= _WEEK:
            month = _MONTHS[language][back.month - 1]
            day += f" {back.day} de {month}" if language == "es" else f" {back.day} {month}"
        return f"{day} {back:%H:%M} {back.tzname()}"


def _set_of(values: Iterable[Any], what: str) -> frozenset[Any]:
    """``frozenset(values)``, or InvalidInput for one that is no collection of values."""
    try:
        return frozenset(values)
    except TypeError:  # not iterable (days=5), or unhashable items (holidays=[[...]])
        raise InvalidInput(f"{what} must be a collection, not {values!r}") from None
