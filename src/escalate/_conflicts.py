"""Outlasting optimistic-concurrency conflicts: decide again on fresh state.

A write that finds its handoff moved since it was read (``ConcurrentUpdate``)
changed nothing; another writer, a worker in this process or another, got in
first. Verbs that read, decide and write try again on what is stored now, a few
times with short jittered waits, instead of making every caller do it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

from tenacity import Retrying, retry_if_exception_type, stop_after_attempt, wait_random_exponential

__all__ = ["CONFLICT_ATTEMPTS", "outlast"]

T = TypeVar("T")

#: How many times one call decides on fresh state before it gives up: each
#: conflict is another commit to the same handoff between our read and our write,
#: so ten in a row (at most ~0.3 s of waits between them) is a burst, not a race.
CONFLICT_ATTEMPTS = 10


def _outlasting(conflict: type[BaseException], attempts: int) -> Retrying:
    """A fresh ``Retrying`` (it keeps per-call state) that retries ``conflict`` only."""
    return Retrying(
        stop=stop_after_attempt(attempts),
        wait=wait_random_exponential(multiplier=0.002, max=0.05),
        retry=retry_if_exception_type(conflict),
        reraise=True,
    )


def outlast(
    conflict: type[BaseException],
    attempt: Callable[[int], T],
    *,
    attempts: int = CONFLICT_ATTEMPTS,
) -> T:
    """``attempt(1)``; on ``conflict``, ``attempt(2)``... up to ``attempts``, then re-raise.

    ``attempt`` gets its number, so that a retry knows to read afresh. The first
    try builds no ``Retrying`` (~14 us, on every verb of every lifecycle).
    """
    try:
        return attempt(1)
    except conflict:
        if attempts <= 1:
            raise
    for retry in _outlasting(conflict, attempts - 1):
        with retry:
            return attempt(retry.retry_state.attempt_number + 1)
    raise AssertionError("unreachable: the last attempt returns or re-raises")
