"""Time, injected: the ``Clock`` protocol, the system clock, and the aware-datetime guard.

The core never reads the wall clock; it asks the clock it was given, so a test
can move time with ``escalate.testing.FakeClock``.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from functools import wraps
from typing import Protocol, runtime_checkable

from escalate._exceptions import InvalidInput, NaiveDatetimeError

__all__ = ["Clock", "SystemClock", "aware_datetime", "ensure_aware", "formats_last_once"]


@runtime_checkable
class Clock(Protocol):
    """Anything that tells the current time as an aware datetime."""

    def now(self) -> datetime:
        """Return the current instant, timezone-aware."""
        ...


class SystemClock:
    """The real clock, in UTC."""

    def now(self) -> datetime:
        return datetime.now(UTC)  # noqa: TID251 - the one place that reads the wall clock

    def __repr__(self) -> str:
        return "SystemClock()"


def ensure_aware(value: datetime, what: str = "datetime") -> datetime:
    """Return ``value`` in UTC, or raise ``NaiveDatetimeError`` if it has no time zone.

    Raises:
        NaiveDatetimeError: no time zone.
        InvalidInput: in UTC it would fall before year 1 or after year 9999.
    """
    if value.tzinfo is UTC:  # the common case, and already what is asked for
        return value
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(what)
    try:
        return value.astimezone(UTC)
    except OverflowError:
        # 9999-12-31 23:00-05:00 is past datetime.max once in UTC.
        raise InvalidInput(f"{what} is outside the calendar once in UTC (years 1-9999)") from None


def aware_datetime(value: object, what: str) -> datetime:
    """``value`` in UTC if it is an aware datetime.

    Raises:
        InvalidInput: not a datetime at all (a date string, say).
        NaiveDatetimeError: a datetime without a time zone.
    """
    if not isinstance(value, datetime):
        raise InvalidInput(f"{what} must be a timezone-aware datetime, not {type(value).__name__}")
    return ensure_aware(value, what)


def formats_last_once(format_time: Callable[[datetime], str]) -> Callable[[datetime], str]:
    """``format_time``, remembering its last answer by the datetime object asked.

    One change stamps most of its records with the same ``now`` object, so its
    text is made once. (One tuple, read and replaced whole: threads never see a
    mismatched pair. It holds the datetime, so an ``is`` hit is never a reused id.)
    """
    last: list[tuple[datetime | None, str]] = [(None, "")]

    @wraps(format_time)
    def formatted(value: datetime) -> str:
        seen, text = last[0]
        if seen is value:
            return text
        text = format_time(value)
        last[0] = (value, text)
        return text

    return formatted
