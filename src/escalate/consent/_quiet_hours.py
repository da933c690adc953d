"""Quiet hours: when a text may reach someone, in the recipient's own time zone.

The zone comes from the number (``phonenumbers.timezone``). A number that spans
several zones gets the window that fits all of them (a +1 605 number in Mountain
and Central time may be texted 09:00-21:00 Central). When the zones leave no
common window, or the number is not located anywhere (a toll-free +1 800 number,
which phonenumbers maps to every zone from Guam to Newfoundland), the contact's
known zone decides, else the tenant's default zone, and the answer says which
one was used. A contact's known zone always overrides.

(Windows repeat daily, so zones are compared around the clock: with 08:00-21:00,
Guam and Newfoundland do share 2.5 hours, Guam's morning being Newfoundland's
evening. That is why toll-free numbers are treated as unlocated rather than
intersected: their zone list is the numbering plan's, not the person's.)
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from phonenumbers import timezone as phone_timezone

from escalate._clock import aware_datetime
from escalate._enum import StrEnum
from escalate._exceptions import InvalidInput
from escalate._identity import Identity, IdentityKind
from escalate._phone import number_facts

__all__ = ["QuietHours", "Window", "ZoneSource", "zone_info", "zones_for_number"]

#: How far ahead to look for a common window; every window repeats daily.
_HORIZON_DAYS = 3
_DAY = timedelta(days=1)
_HORIZON = timedelta(days=_HORIZON_DAYS + 1)
_FIRST, _LAST = datetime.min.replace(tzinfo=UTC), datetime.max.replace(tzinfo=UTC)


class ZoneSource(StrEnum):
    """Which zone(s) a quiet-hours answer was computed in."""

    NUMBER = "number"  # every zone the number maps to
    CONTACT = "contact"  # the contact's known zone
    TENANT_DEFAULT = "tenant_default"  # the tenant's default zone


def zone_info(name: str) -> ZoneInfo:
    """``ZoneInfo(name)``, with a typed error for an unknown zone.

    Raises:
        InvalidInput: not an IANA zone name.
    """
    # Checked before the cache, which would raise TypeError on an unhashable name.
    if not isinstance(name, str):
        raise InvalidInput(f"a time zone is an IANA name such as 'America/New_York', not {name!r}")
    return _zone_info(name)


@lru_cache(maxsize=512)
def _zone_info(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        # OSError: with the tzdata package installed, a region folder ("America")
        # is opened as a file (IsADirectoryError), and an overlong name fails too.
        raise InvalidInput(f"unknown time zone {name!r}") from None


def clock_change(zone: ZoneInfo, before: datetime, after: datetime) -> datetime:
    """The instant in ``(before, after]`` at which ``zone``'s clock changes, in UTC.

    ``after`` must read a different UTC offset than ``before``, with one change
    between them. Time zone transitions fall on whole seconds, so a bisection
    over seconds finds it.
    """
    changed = after.astimezone(zone).utcoffset()
    low, high = math.floor(before.timestamp()), math.ceil(after.timestamp())
    while high - low > 1:
        middle = (low + high) // 2
        if datetime.fromtimestamp(middle, zone).utcoffset() == changed:
            high = middle
        else:
            low = middle
    return datetime.fromtimestamp(high, UTC)


def clock_changes(zone: ZoneInfo, start: datetime, end: datetime) -> list[datetime]:
    """The instants in ``(start, end]`` at which ``zone``'s clock changes, in UTC.

    Looked for a day at a time: no zone changes its clock twice in a day.
    """
    found = []
    offset = start.astimezone(zone).utcoffset()
    while start < end:
        step = start + _DAY if end - start > _DAY else end
        if (moved := step.astimezone(zone).utcoffset()) != offset:
            found.append(clock_change(zone, start, step))
            offset = moved
        start = step
    return found


#: Number types that are not located anywhere: phonenumbers maps them to every
#: zone of their numbering plan, which says nothing about where the person is.
_UNLOCATED = frozenset(
    {
        phonenumbers.PhoneNumberType.TOLL_FREE,
        phonenumbers.PhoneNumberType.PREMIUM_RATE,
        phonenumbers.PhoneNumberType.SHARED_COST,
        phonenumbers.PhoneNumberType.UAN,
        phonenumbers.PhoneNumberType.PERSONAL_NUMBER,
    }
)


@lru_cache(maxsize=4096)
def _zones_for_e164(e164: str) -> tuple[str, ...]:
    # The parse and the number type (the costly step) are those Identity.phone
    # made when it validated the number, when it was recently.
    parsed, number_type = number_facts(e164)
    if number_type in _UNLOCATED:
        return ()
    if phonenumbers.is_number_type_geographical(number_type, parsed.country_code or 0):
        # What time_zones_for_number does for these, without typing the number again.
        zones = phone_timezone.time_zones_for_geographical_number(parsed)
    else:
        zones = phone_timezone.time_zones_for_number(parsed)
    return tuple(zone for zone in zones if zone != "Etc/Unknown")


def zones_for_number(address: Identity) -> tuple[str, ...]:
    """The IANA zones a phone number may be in.

    Empty for an email, an unknown area, and numbers that are not located
    anywhere (toll-free, premium rate, shared cost, UAN, personal numbers).
    """
    if address.kind is not IdentityKind.PHONE:
        return ()
    return _zones_for_e164(address.value)


@dataclass(frozen=True)
class Window:
    """A quiet-hours answer: when sending may happen, and in which zone(s) it was judged.

    Attributes:
        at: the first allowed instant at or after the asked time, in UTC.
        zones: the zones the window was computed in.
        source: number, contact or tenant default.
    """

    at: datetime
    zones: tuple[str, ...]
    source: ZoneSource


@dataclass(frozen=True)
class QuietHours:
    """Texts may be sent from ``start`` (inclusive) to ``end`` (exclusive), local time.

    ``QuietHours()`` is 08:00-21:00. A window that wraps midnight
    (``start=time(22), end=time(6)``) is allowed too; ``start == end`` is refused.
    """

    start: time = time(8)
    end: time = time(21)

    def __post_init__(self) -> None:
        if not isinstance(self.start, time) or not isinstance(self.end, time):
            raise InvalidInput("QuietHours start and end must be datetime.time values")
        if self.start.tzinfo is not None or self.end.tzinfo is not None:
            raise InvalidInput("QuietHours start and end are local times; give them no tzinfo")
        if self.start == self.end:
            raise InvalidInput("QuietHours start and end must differ")

    def allows_local(self, local: time) -> bool:
        """True when a local wall-clock time is inside the sending window."""
        if self.start < self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end

    def _allowed(self, instant: datetime, zones: tuple[ZoneInfo, ...]) -> bool:
        return all(
            self.allows_local(instant.astimezone(zone).time().replace(tzinfo=None))
            for zone in zones
        )

    def _first_allowed(self, at: datetime, names: tuple[str, ...]) -> datetime | None:
        zones = tuple(zone_info(name) for name in names)
        if self._allowed(at, zones):
            return at
        # The common window, if any, opens when the last zone's window opens: when
        # its wall clock reads ``start`` (at either reading, where a clock change
        # repeats it), or when a clock change moves it into the window (past a
        # ``start`` the change skips, or back before an ``end`` it repeats).
        # Near the calendar's end, the days searched stop there (a reading past it
        # raises OverflowError, which window() turns into InvalidInput).
        until = min(at, _LAST - _HORIZON) + _HORIZON
        # From a day before: a change just before ``at`` may repeat a reading after it.
        since = max(at, _FIRST + _DAY) - _DAY
        candidates = []
        for zone in zones:
            try:
                changes = clock_changes(zone, since, until)
            except OverflowError:
                changes = []  # a change in the zone's year 10000 opens nothing
            # Only a clock change repeats a reading: without one, fold 1 is fold 0.
            folds = (0, 1) if changes else (0,)
            local_day = at.astimezone(zone).date()
            for offset in range(_HORIZON_DAYS + 1):
                day = local_day + timedelta(days=offset)
                for fold in folds:
                    start = self.start.replace(fold=fold)
                    opening = datetime.combine(day, start, tzinfo=zone).astimezone(UTC)
                    if opening > at:
                        candidates.append(opening)
            candidates += (change for change in changes if change > at)
        return next((c for c in sorted(candidates) if self._allowed(c, zones)), None)

    def window(
        self,
        address: Identity,
        at: datetime,
        *,
        known_zone: str | None = None,
        default_zone: str = "UTC",
    ) -> Window:
        """The first allowed instant at or after ``at``, with the zones it was judged in.

        Raises:
            NaiveDatetimeError: ``at`` has no time zone.
            InvalidInput: ``address`` is not an Identity, a zone name is unknown, or
                the answer would fall outside the calendar (years 1-9999).
        """
        if not isinstance(address, Identity):
            raise InvalidInput("QuietHours takes an Identity")
        at = aware_datetime(at, "at")
        try:
            return self._window(address, at, known_zone, default_zone)
        except OverflowError:
            # A local reading, or the days searched, past 9999-12-31 (or before year 1).
            raise InvalidInput("at is too near the ends of the calendar (years 1-9999)") from None

    def _window(
        self, address: Identity, at: datetime, known_zone: str | None, default_zone: str
    ) -> Window:
        if known_zone is not None:
            found = self._first_allowed(at, (known_zone,))
            if found is not None:
                return Window(found, (known_zone,), ZoneSource.CONTACT)
        zones = zones_for_number(address)
        if zones and known_zone is None:
            found = self._first_allowed(at, zones)
            if found is not None:
                return Window(found, zones, ZoneSource.NUMBER)
        found = self._first_allowed(at, (default_zone,))
        if found is None:  # pragma: no cover - a non-empty daily window always opens
            raise InvalidInput("the quiet-hours window never opens")
        return Window(found, (default_zone,), ZoneSource.TENANT_DEFAULT)

    def next_allowed(
        self,
        address: Identity,
        at: datetime,
        *,
        known_zone: str | None = None,
        default_zone: str = "UTC",
    ) -> datetime:
        """``at`` itself when a text may go now, else the window's opening (aware, UTC).

        Raises:
            NaiveDatetimeError: ``at`` has no time zone (it is a ``ValueError`` too).
            InvalidInput: ``address`` is not an Identity, or a zone name is unknown.
        """
        found = self.window(address, at, known_zone=known_zone, default_zone=default_zone).at
        return at if found == at else found
