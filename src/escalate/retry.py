"""``RetryPolicy``: when to try a failed send again, built on tenacity's strategies.

Retries are durable: a retryable failure reschedules the outbox row rather than
sleeping in a loop, so the policy answers one question, "how long until the next
attempt, if any?", by asking tenacity's own ``stop`` and ``wait`` objects.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import tenacity
from tenacity import (
    RetryCallState,
    stop_after_attempt,
    stop_after_delay,
    wait_exponential,
    wait_random,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from escalate._exceptions import RetryableTransportError

__all__ = ["RetryPolicy"]


def _default_stop() -> stop_base:
    return stop_after_attempt(6) | stop_after_delay(3600)


def _default_wait() -> wait_base:
    # 2, 4, 8 ... seconds up to 5 minutes, plus up to 2 s of jitter against herds.
    return wait_exponential(multiplier=2, max=300) + wait_random(0, 2)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by attempts and a deadline.

    Args:
        stop: a tenacity stop strategy (``stop_after_attempt(5) | stop_after_delay(60)``).
        wait: a tenacity wait strategy; a provider's Retry-After is a floor on it.

    Only ``RetryableTransportError`` is ever retried: it is the one failure that
    proves the provider did not accept the message.
    """

    stop: stop_base = field(default_factory=_default_stop)
    wait: wait_base = field(default_factory=_default_wait)

    def next_delay(self, *, attempt: int, elapsed: float, error: BaseException) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` to give up.

        Args:
            attempt: how many attempts were made, counting the one that failed.
            elapsed: seconds since the first attempt.
            error: what the failed attempt raised.
        """
        if not isinstance(error, RetryableTransportError):
            return None
        state = RetryCallState(tenacity.Retrying(), fn=None, args=(), kwargs={})
        state.attempt_number = attempt
        state.start_time = 0.0
        state.outcome_timestamp = elapsed
        if self.stop(state):
            return None
        delay = float(self.wait(state))
        if error.retry_after is not None:
            delay = max(delay, error.retry_after)
        return delay
