"""``RetryPolicy``: when to try a failed send again, built on tenacity's strategies.

Retries are durable: a retryable failure reschedules the outbox row rather than
sleeping in a loop, so the policy answers one question, "how long until the next
attempt, if any?", by asking tenacity's own ``stop`` and ``wait`` objects, in the
order tenacity itself asks them (wait first, so ``stop_before_delay`` can see the
upcoming sleep). Callers who want to retry in-process instead get a tenacity
``Retrying`` configured from the same policy (``policy.retrying()``).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import tenacity
from tenacity import (
    RetryCallState,
    retry_if_exception_type,
    stop_after_attempt,
    stop_before_delay,
    wait_exponential,
    wait_random,
)
from tenacity.stop import stop_base
from tenacity.wait import wait_base

from escalate._exceptions import RetryableTransportError

__all__ = ["RetryPolicy", "wait_retry_after"]

#: Seconds: a wait longer than a year ends the retries. Only a Retry-After can ask
#: for one (in milliseconds by mistake, or a gateway's junk); honoured, it would
#: overflow the row's due time, or sleep for ever in process.
_LONGEST_WAIT = 365 * 86400.0


def _default_stop() -> stop_base:
    # Six attempts, and never schedule one past an hour after the first.
    return stop_after_attempt(6) | stop_before_delay(3600)


def _default_wait() -> wait_base:
    # 2, 4, 8 ... seconds up to 5 minutes, plus up to 2 s of jitter against herds.
    return wait_exponential(multiplier=2, max=300) + wait_random(0, 2)


class _stop_past_longest_wait(stop_base):
    """Stops when the upcoming sleep is longer than a year (or not a number)."""

    def __call__(self, retry_state: RetryCallState) -> bool:
        sleep = retry_state.upcoming_sleep
        return not math.isfinite(sleep) or sleep > _LONGEST_WAIT


class wait_retry_after(wait_base):
    """A tenacity wait that never waits less than the provider's ``Retry-After``.

    Args:
        inner: the wait strategy used otherwise; its answer is the floor's partner.
    """

    def __init__(self, inner: wait_base) -> None:
        self.inner = inner

    def __call__(self, retry_state: RetryCallState) -> float:
        delay = float(self.inner(retry_state))
        outcome = retry_state.outcome
        error = outcome.exception() if outcome is not None and outcome.failed else None
        if isinstance(error, RetryableTransportError) and error.retry_after is not None:
            delay = max(delay, float(error.retry_after))
        return delay


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with jitter, bounded by attempts and a deadline.

    Args:
        stop: a tenacity stop strategy, e.g. ``stop_after_attempt(5) | stop_before_delay(60)``
            (``stop_before_delay`` refuses an attempt that would start past the deadline;
            ``stop_after_delay`` only looks at the time already spent).
        wait: a tenacity wait strategy; a provider's Retry-After is a floor on it.

    Whatever ``stop`` says, a wait of more than a year gives up.
    Only ``RetryableTransportError`` is ever retried: it is the one failure that
    proves the provider did not accept the message.
    """

    stop: stop_base = field(default_factory=_default_stop)
    wait: wait_base = field(default_factory=_default_wait)

    def next_delay(self, *, attempt: int, elapsed: float, error: BaseException) -> float | None:
        """Seconds to wait before attempt ``attempt + 1``, or ``None`` to give up.

        Args:
            attempt: how many attempts were made, counting the one that failed.
            elapsed: seconds since the first attempt (the outbox row was written).
            error: what the failed attempt raised.
        """
        if not isinstance(error, RetryableTransportError):
            return None
        state = RetryCallState(tenacity.Retrying(), fn=None, args=(), kwargs={})
        state.attempt_number = max(attempt, 1)
        state.start_time = 0.0
        future = tenacity.Future(state.attempt_number)
        future.set_exception(error)
        state.outcome = future
        state.outcome_timestamp = max(elapsed, 0.0)
        delay = wait_retry_after(self.wait)(state)
        state.upcoming_sleep = delay
        if (self.stop | _stop_past_longest_wait())(state):
            return None
        return delay

    def retrying(self, *, sleep: Callable[[float], None] = time.sleep) -> tenacity.Retrying:
        """A tenacity ``Retrying`` for synchronous, in-process retries under this policy.

        It retries ``RetryableTransportError`` only, honours Retry-After, and
        re-raises the last error when the policy gives up::

            for attempt in policy.retrying():
                with attempt:
                    transport.send(message)

        Args:
            sleep: how to wait (inject a fake in tests).
        """
        return tenacity.Retrying(
            stop=self.stop | _stop_past_longest_wait(),
            wait=wait_retry_after(self.wait),
            retry=retry_if_exception_type(RetryableTransportError),
            sleep=sleep,
            reraise=True,
        )
