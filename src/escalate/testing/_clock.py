"""``FakeClock``: time that moves only when a test says so."""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta

from escalate._clock import aware_datetime
from escalate._exceptions import InvalidInput

__all__ = ["FakeClock", "as_step", "later"]


def as_step(delta: timedelta | None, units: dict[str, float]) -> timedelta:
    """``delta``, or ``timedelta(**units)``: one or the other, never both added up silently.

    Raises:
        InvalidInput: both are given, neither, or a unit ``timedelta`` does not know.
    """
    if delta is not None:
        if units:
            raise InvalidInput(
                f"give a timedelta or units ({', '.join(sorted(units))}=...), not both"
            )
        if not isinstance(delta, timedelta):
            raise InvalidInput(f"a step is a timedelta or units (hours=1), not {delta!r}")
        return delta
    if not units:  # advance() alone moves nothing: a step was meant and forgotten
        raise InvalidInput("give a step: a timedelta or units, e.g. advance(minutes=5)")
    try:
        return timedelta(**units)
    except TypeError:
        raise InvalidInput(
            f"unknown time units {sorted(units)}: use weeks, days, hours, minutes, seconds,"
            " milliseconds or microseconds, each a number"
        ) from None
    except (ValueError, OverflowError):
        raise InvalidInput(f"time units {units} are not a finite step a clock can take") from None


def later(now: datetime, step: timedelta) -> datetime:
    """``now + step``, or ``InvalidInput`` past ``datetime.max`` instead of ``OverflowError``."""
    try:
        return now + step
    except OverflowError:
        raise InvalidInput(f"a step of {step} goes past the last date a clock can show") from None


class FakeClock:
    """A ``Clock`` for tests. Starts at ``start`` (default 2026-01-05 18:00 UTC, a Monday).

    The default is daytime across the US and Europe (10:00 in San Francisco,
    18:00 in London), so a test's first text is not deferred by quiet hours.

    >>> clock = FakeClock()
    >>> clock.advance(minutes=5)
    datetime.datetime(2026, 1, 5, 18, 5, tzinfo=datetime.timezone.utc)
    """

    def __init__(self, start: datetime | None = None) -> None:
        self._now = (
            datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
            if start is None
            else aware_datetime(start, "start")
        )
        self._lock = threading.Lock()

    def now(self) -> datetime:
        with self._lock:
            return self._now

    def advance(self, delta: timedelta | None = None, **units: float) -> datetime:
        """Move forward by ``delta`` or by ``timedelta(**units)``; return the new time.

        Raises:
            InvalidInput: both ``delta`` and units, neither, an unknown unit, a step
                back, or one past the last date a datetime can hold.
        """
        step = as_step(delta, units)
        if step < timedelta(0):
            raise InvalidInput("a FakeClock only moves forward")
        with self._lock:
            self._now = later(self._now, step)
            return self._now

    def set(self, when: datetime) -> None:
        """Jump to ``when`` (aware, not in the past).

        Raises:
            InvalidInput: ``when`` is not a datetime, is naive, or is in the past.
        """
        when = aware_datetime(when, "when")
        with self._lock:
            if when < self._now:
                raise InvalidInput("a FakeClock only moves forward")
            self._now = when

    def __repr__(self) -> str:
        return f"FakeClock({self._now.isoformat()})"
