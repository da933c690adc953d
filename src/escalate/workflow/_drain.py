"""Keep a worker pool full of outbox work: claim as tasks finish, not batch by batch.

Claiming a batch and waiting for its slowest send leaves workers idle at every
batch boundary (measured: 72-85% of the pool's capacity). Instead, ``stream``
keeps ``window`` groups queued or in flight and claims again, in chunks, as each
finishes. Groups are keyed (by handoff): a key with a task in flight gets its
newly claimed items after that task, so one handoff's messages keep their order.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import Executor, Future
from queue import SimpleQueue
from typing import TypeVar

__all__ = ["stream"]

Item = TypeVar("Item")
Result = TypeVar("Result")


def stream(
    *,
    claim: Callable[[int], dict[str, list[Item]]],
    run: Callable[[list[Item]], Result],
    done: Callable[[Result], None],
    pool: Executor,
    window: int,
    chunk: int,
) -> None:
    """Claim and run groups until a claim comes back short and nothing is running.

    Args:
        claim: claims up to ``n`` items, grouped by key.
        run: executes one group (on the pool).
        done: receives each group's result (on the calling thread).
        window: how many groups to keep queued or in flight.
        chunk: the smallest claim worth a transaction while work is in flight.

    Raises:
        The first error a group raised, once every running group has finished.
    """
    running: dict[Future[Result], str] = {}
    waiting: dict[str, list[Item]] = {}
    # Finished tasks report here: O(1) per completion, unlike wait() on every future.
    finished: SimpleQueue[Future[Result]] = SimpleQueue()
    error: BaseException | None = None
    exhausted = False

    def submit(key: str, group: list[Item]) -> None:
        future = pool.submit(run, group)
        running[future] = key
        future.add_done_callback(finished.put)

    while True:
        room = window - len(running)
        if error is None and not exhausted and (room >= chunk or not running):
            groups = claim(room)
            exhausted = sum(len(group) for group in groups.values()) < room
            busy = set(running.values())
            for key, group in groups.items():
                if key in busy:
                    waiting.setdefault(key, []).extend(group)
                else:
                    submit(key, group)
        if not running:
            if error is not None:
                raise error
            return
        future = finished.get()
        key = running.pop(future)
        failure = future.exception()
        if failure is not None:
            error = error or failure
        else:
            done(future.result())
            exhausted = False  # results may have queued more work
        if key in waiting:
            submit(key, waiting.pop(key))
