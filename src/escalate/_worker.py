"""The worker loop: ``run_due()`` again and again until asked to stop.

``Escalator.worker()`` and ``escalate worker`` run it. A cycle that did something
is followed at once by the next (a backlog drains at full speed); an idle one
waits ``interval`` seconds. The wait is on a ``threading.Event``, so ``stop``
ends it at once instead of after a sleep, and a stop asked for mid-cycle lets
that cycle finish: every claimed row is sent and settled before the loop returns.

A cycle that meets a passing condition (another writer won a race, a rate
limit) is logged and tried again after the wait; anything else is raised,
because a worker that swallows a bug it cannot fix would hide it from the
process supervisor that can restart it and from the person paged.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass

from escalate._exceptions import ConcurrentUpdate, InvalidInput, RateLimited, StoreBusy
from escalate.workflow._report import DispatchReport

__all__ = ["PASSING_ERRORS", "WorkerSettings", "run_worker"]

logger = logging.getLogger("escalate")

#: What a cycle may raise that the next cycle can get past by itself. ``StoreBusy``
#: too: another process held the database's write lock past the timeout (a
#: stalled worker, a backup), and the loop outlasts it as it outlasts a race.
PASSING_ERRORS: tuple[type[Exception], ...] = (ConcurrentUpdate, RateLimited, StoreBusy)


@dataclass(frozen=True)
class WorkerSettings:
    """How the loop paces itself; checked when built.

    Args:
        interval: seconds to wait after a cycle that found nothing to do, or
            that met a passing error.
        limit: ``run_due(limit=...)`` of each cycle.
    """

    interval: float = 1.0
    limit: int = 100

    def __post_init__(self) -> None:
        interval = self.interval
        if isinstance(interval, bool) or not isinstance(interval, int | float):
            raise InvalidInput("interval must be a number of seconds")
        if not 0 < interval < float("inf"):
            # 0 would spin on an idle store; NaN never compares, so it lands here too.
            raise InvalidInput("interval must be a positive, finite number of seconds")
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise InvalidInput("limit must be a positive int")


def run_worker(
    run_due: Callable[[int], DispatchReport],
    settings: WorkerSettings,
    stop: threading.Event,
) -> DispatchReport:
    """Call ``run_due(limit)`` until ``stop`` is set; return what every cycle did, summed."""
    total = DispatchReport()
    while not stop.is_set():
        try:
            report = run_due(settings.limit)
        except PASSING_ERRORS as exc:
            # These name records by id or the database file, never a person,
            # so the message may be logged as it is.
            logger.warning(
                "run_due() met %s: %s; trying again in %.3g s",
                type(exc).__name__,
                exc,
                settings.interval,
            )
            stop.wait(settings.interval)
            continue
        total += report
        if report.idle:
            stop.wait(settings.interval)
    return total
