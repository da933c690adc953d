"""Time, injected: the ``Clock`` protocol, the system clock, and the aware-datetime guard.

The core never reads the wall clock; it asks the clock it was given, so a test
can move time with ``escalate.testing.FakeClock``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol, runtime_checkable

from escalate._exceptions import NaiveDatetimeError

__all__ = ["Clock", "SystemClock", "ensure_aware"]


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
    """Return ``value`` in UTC, or raise ``NaiveDatetimeError`` if it has no time zone."""
    if value.tzinfo is UTC:  # the common case, and already what is asked for
        return value
    if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
        raise NaiveDatetimeError(what)
    return value.astimezone(UTC)
