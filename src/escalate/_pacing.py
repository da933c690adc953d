"""``Pacer``: per-sender send pacing, so a provider never has to answer 429.

Providers limit how fast one sender (a Twilio number, a SendGrid account) may
send. Rather than sending as fast as the worker pool allows and backing off on
429, the dispatcher asks the pacer for a slot before every send. Slots are
spaced evenly (a token bucket of depth one, i.e. GCRA), per ``(transport name,
sender)``, and each rate is configurable per provider and per number.

Even spacing at exactly ``per_second`` is not enough on its own: the time from
slot to the provider's clock varies (thread scheduling, network), and two sends a
whole second apart can land 0.99 s apart. Slots are therefore spaced so that
``per_second`` sends span ``1 + margin`` seconds; jitter below ``margin`` cannot
push a provider's 1-second count over the limit. Time and sleep are injected.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Mapping
from typing import TypeVar, overload

from escalate._exceptions import InvalidInput

__all__ = ["Pacer"]

PacingKey = tuple[str, str | None]
_Key = TypeVar("_Key", bound=str | PacingKey)


class Pacer:
    """Spaces sends per ``(transport name, sender)``.

    Args:
        rates: messages per second, keyed by transport name (every sender of that
            transport gets its own bucket at that rate) or by ``(name, sender)``
            for one number or address. The engine takes ``sender`` from the
            transport's optional ``sender`` attribute (its From number or address).
        margin: seconds of jitter allowance (see the module docstring).
        clock: a monotonic time source in seconds.
        sleep: how to wait (inject a fake in tests).

    >>> pacer = Pacer({"twilio": 10, ("twilio", "+14155550100"): 1})
    >>> pacer.rate_for("twilio", "+14155550100"), pacer.rate_for("twilio", "+14155550199")
    (1.0, 10.0)
    """

    # Two signatures because Mapping is invariant in its keys: a dict[str, float]
    # built elsewhere is no Mapping[str | PacingKey, float] (the second takes it),
    # and the second alone would lose the mixed literal of the example above (its
    # keys join to Sequence[str]).
    @overload
    def __init__(
        self,
        rates: Mapping[str | PacingKey, float] | None = None,
        *,
        margin: float = ...,
        clock: Callable[[], float] = ...,
        sleep: Callable[[float], None] = ...,
    ) -> None: ...

    @overload
    def __init__(
        self,
        rates: Mapping[_Key, float],
        *,
        margin: float = ...,
        clock: Callable[[], float] = ...,
        sleep: Callable[[float], None] = ...,
    ) -> None: ...

    def __init__(
        self,
        rates: Mapping[_Key, float] | None = None,
        *,
        margin: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if margin < 0:
            raise InvalidInput("margin must not be negative")
        self.margin = margin
        self._clock = clock
        self._sleep = sleep
        self._rates: dict[PacingKey, float] = {}
        self._next: dict[PacingKey, float] = {}
        self._lock = threading.Lock()
        for key, rate in (rates or {}).items():
            name, sender = (key, None) if isinstance(key, str) else key
            self.limit(name, rate, sender=sender)

    def limit(self, transport: str, per_second: float, *, sender: str | None = None) -> None:
        """Set the rate of one transport (all its senders), or of one of its senders."""
        if not math.isfinite(per_second) or per_second <= 0:
            raise InvalidInput("per_second must be a positive number")
        with self._lock:
            self._rates[(transport, sender)] = float(per_second)

    def rate_for(self, transport: str, sender: str | None = None) -> float | None:
        """Messages per second for this sender, or ``None`` when it is not paced."""
        return self._rates.get((transport, sender), self._rates.get((transport, None)))

    def acquire(
        self, transport: str, sender: str | None = None, *, max_wait: float = math.inf
    ) -> bool:
        """Wait for this sender's next slot and take it.

        Returns ``False`` at once, without taking a slot, when the slot is more
        than ``max_wait`` seconds away (the caller reschedules rather than blocks).
        """
        rate = self.rate_for(transport, sender)
        if rate is None:
            return True
        key = (transport, sender)
        interval = (1.0 + self.margin) / rate
        with self._lock:
            now = self._clock()
            slot = max(now, self._next.get(key, now))
            wait = slot - now
            if wait > max_wait:
                return False
            self._next[key] = slot + interval
        if wait > 0:
            self._sleep(wait)
        return True

    def __repr__(self) -> str:
        return f"Pacer(limits={len(self._rates)}, margin={self.margin})"
