"""The engine's dispatcher: claim due outbox rows and run them, on the caller or a pool.

Kept apart from the engine's transitions (``_engine.py``) and the send path
(``_sending.py``): this is where rows are claimed with a lease, grouped by
handoff so one handoff's messages keep their order, run on a bounded thread
pool (the SDKs block on I/O), and where the settlements committed behind the
pool (``_settler.py``) are waited for and counted before a dispatch returns.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING

from escalate._exceptions import CorruptRecord
from escalate._models import Event, Handoff
from escalate.store._protocol import OutboxItem, OutboxStatus, OutboxUpdate
from escalate.workflow._commands import Notify, PostPublicReply, SendMessage
from escalate.workflow._drain import stream
from escalate.workflow._report import DispatchReport
from escalate.workflow._settler import Settler
from escalate.workflow._settles import Settles
from escalate.workflow._unreadable import HoldsUnreadable

if TYPE_CHECKING:
    from escalate._clock import Clock
    from escalate.store._protocol import Store

__all__ = ["Claimed", "Dispatching"]

log = logging.getLogger("escalate")

#: A claimed outbox row with its handoff as read with the claim (None: no handoff).
Claimed = tuple[OutboxItem, Handoff | None]


class Dispatching(HoldsUnreadable, Settles):
    """The ``Engine``'s methods that claim outbox rows and run them."""

    if TYPE_CHECKING:  # provided by the Engine dataclass and the SendPath mixin
        store: Store
        clock: Clock
        tenant: str
        worker: str
        lease: timedelta
        concurrency: int
        notifier: Callable[[Handoff, Notify], None]
        _pool: ThreadPoolExecutor | None
        _pool_lock: threading.Lock
        _settler: Settler | None
        _following: threading.local
        _calls: threading.Condition
        _running: int
        _closing: bool

        def _send(
            self,
            item: OutboxItem,
            handoff: Handoff | None,
            command: SendMessage,
            report: DispatchReport,
        ) -> None: ...

        def _post(
            self,
            item: OutboxItem,
            handoff: Handoff,
            command: PostPublicReply,
            report: DispatchReport,
        ) -> None: ...

        def _settle_refused(
            self, update: OutboxUpdate, events: Sequence[Event]
        ) -> tuple[str, bool] | None: ...

        def fire_timers(self, limit: int = 100) -> int: ...

    def run_due(self, *, limit: int) -> DispatchReport:
        """Fire every due timer, then drain; one dispatch call, which ``close`` waits for.

        Counted from its first timer: ``close`` closing the store under a run
        still firing timers failed that run on a closed connection.
        """
        with self._dispatch_call():
            report = DispatchReport(timers_fired=self.fire_timers(limit=limit))
            report += self._drain(batch=limit)
            return report

    def dispatch(self, *, handoff_id: str | None = None, limit: int = 100) -> DispatchReport:
        """Claim due outbox rows once and execute them, up to ``concurrency`` handoffs at once."""
        with self._dispatch_call():
            return self._dispatch_once(handoff_id=handoff_id, limit=limit)

    def dispatch_handoff(self, handoff_id: str, *, rounds: int = 5) -> None:
        """Dispatch one handoff's due rows until a round runs nothing (at most ``rounds``).

        What a result queues (a fallback's intro) is due at once, and a message
        that follows another (``in_order``) is claimed only once that one settled.
        """
        for _ in range(rounds):
            if self.dispatch(handoff_id=handoff_id).idle:
                return

    def _dispatch_once(self, *, handoff_id: str | None, limit: int) -> DispatchReport:
        groups = self._claim(limit=limit, handoff_id=handoff_id)
        try:
            if self.concurrency <= 1 or len(groups) <= 1:
                report = DispatchReport()
                for group in groups.values():
                    report += self._run_group(group)
            else:
                pool = self._executor()
                report = _collect(
                    [pool.submit(self._run_group, group) for group in groups.values()]
                )
        finally:
            # Even a group run here hands its acceptances to the settler once the
            # pool exists: what this returns has been committed.
            settled = self._flush_settled()
        report += settled
        return report

    def drain(self, *, batch: int = 100) -> DispatchReport:
        """Dispatch until no row is due, keeping every worker of the pool busy.

        Rather than claim a batch and wait for its slowest send, it keeps
        ``2 * concurrency`` handoffs queued or in flight (see ``_drain.stream``).
        """
        with self._dispatch_call():
            return self._drain(batch=batch)

    def _drain(self, *, batch: int) -> DispatchReport:
        report = DispatchReport()
        if self.concurrency <= 1:
            while True:
                # One row at a time, claimed right before it is sent: a worker that
                # dies mid-run leaves only the row it was sending in doubt (held
                # when its lease runs out), not every row it had claimed and never
                # tried. It costs a claim transaction per row.
                groups = self._claim(limit=1)
                if not groups:
                    return report
                # Claimed again even after a short claim: results may have queued
                # more work due now (a channel fallback's intro), as in stream().
                for group in groups.values():
                    report += self._run_group(group)

        def add(result: DispatchReport) -> None:
            nonlocal report
            report += result

        pool = self._executor()
        settler = self._settler
        assert settler is not None  # made with the pool
        while True:
            fed = settler.fed_count
            try:
                stream(
                    claim=lambda room: self._claim(limit=room),
                    run=self._run_group,
                    done=add,
                    pool=pool,
                    # Twice the pool: the queued half keeps workers fed between
                    # claims; claims come in chunks, since each is a write transaction.
                    window=min(batch, 2 * self.concurrency),
                    chunk=min(batch, max(1, self.concurrency // 4)),
                )
            finally:
                settled = self._flush_settled()
            report += settled
            if settler.fed_count == fed and settled.idle:
                return report
            # A report that came in while a send was in flight failed it behind
            # the pool, after the last claim perhaps: its fallback is due now. Or
            # a send settled behind it after the last claim, and the message that
            # follows it (in_order) is free now.

    def _flush_settled(self) -> DispatchReport:
        """Wait for the settlements committed behind the pool, and count them."""
        report = DispatchReport()
        if self._settler is not None:
            for counter, count in self._settler.flush().items():
                setattr(report, counter, getattr(report, counter) + count)
        return report

    def _claim(self, *, limit: int, handoff_id: str | None = None) -> dict[str, list[Claimed]]:
        """Claim due rows, grouped by handoff in claim order, each with its handoff.

        Nothing once ``close`` has begun: a row claimed then could find the pool
        shut down, and be left claimed until its lease ran out and it was held
        as if a crashed worker might have sent it. Unclaimed, it waits, pending.
        """
        if self._closing:
            return {}
        groups: dict[str, list[OutboxItem]] = {}
        for item in self.store.claim_outbox(
            self.clock.now(),
            worker=self.worker,
            lease=self.lease,
            limit=limit,
            handoff_id=handoff_id,
            # Another tenant's rows belong to its own transports and workflow.
            tenant=self.tenant,
        ):
            # A row with no handoff (a keyword answer) is a group of its own.
            groups.setdefault(item.handoff_id or item.id, []).append(item)
        # One read for the chunk instead of one per group on the workers, where
        # every read queues for the store's lock behind the other workers'.
        ids = [group[0].handoff_id for group in groups.values() if group[0].handoff_id]
        try:
            found = self.store.get_handoffs(self.tenant, ids) if ids else {}
        except CorruptRecord:
            found = self._readable_handoffs(groups)
        claimed = {
            key: [(item, found.get(item.handoff_id or "")) for item in group]
            for key, group in groups.items()
            if not group[0].handoff_id or group[0].handoff_id in found
        }
        if len(claimed) < len(groups):
            # Rows were put back to wait: claim others in their place, or a drain
            # (one row a claim) would stop at them with rows still due.
            taken = sum(len(group) for group in claimed.values())
            for key, group in self._claim(limit=limit - taken, handoff_id=handoff_id).items():
                claimed.setdefault(key, []).extend(group)
        return claimed

    def _readable_handoffs(self, groups: dict[str, list[OutboxItem]]) -> dict[str, Handoff]:
        """The claimed groups' handoffs that still read; the rows of the others wait.

        A handoff row edited by hand cannot be run: its claimed rows go back to
        pending, due again after a lease (not left claimed, which would hold
        them as possibly sent), and every other handoff's rows still run. A row
        a dead worker may have sent (``stale_claim``) is held, as it would be.
        """
        found: dict[str, Handoff] = {}
        for group in groups.values():
            handoff_id = group[0].handoff_id
            if handoff_id is None:
                continue
            try:
                handoff = self.store.get_handoff(self.tenant, handoff_id)
            except CorruptRecord as exc:
                log.warning("outbox rows of handoff %s not run: %s", handoff_id, exc)
                self._wait_for_handoff(group)
                continue
            if handoff is not None:
                found[handoff_id] = handoff
        return found

    def _executor(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(
                    max_workers=self.concurrency,
                    thread_name_prefix="escalate-dispatch",
                    initializer=self._mark_worker,
                )
                self._settler = self._settler or Settler(self.store, self._settle_refused)
            return self._pool

    @contextmanager
    def _dispatch_call(self) -> Iterator[None]:
        """Count a dispatch call running, for ``close`` to wait for."""
        with self._calls:
            self._running += 1
        self._following.calls = getattr(self._following, "calls", 0) + 1
        try:
            yield
        finally:
            self._following.calls -= 1
            with self._calls:
                self._running -= 1
                self._calls.notify_all()

    def close(self) -> None:
        """Stop the worker pool (after the tasks it is running) and the settler.

        Dispatch calls running on other threads (a scheduler's ``run_due``, a
        verb) claim nothing more and finish first: what they claimed still runs
        on the pool, and what their results queued stays pending for the next run.
        """
        if getattr(self._following, "worker", False):
            # It would wait for the run it is part of, which waits for it.
            raise RuntimeError("close() called from one of its own dispatch workers")
        mine = getattr(self._following, "calls", 0)  # a verb's notifier closing: not waited for
        with self._calls:
            self._closing = True
            self._calls.notify_all()
            self._calls.wait_for(lambda: self._running <= mine)
        try:
            self._stop_pool()
        finally:
            with self._calls:
                self._closing = False

    def _mark_worker(self) -> None:
        self._following.worker = True

    def _stop_pool(self) -> None:
        with self._pool_lock:
            pool, self._pool = self._pool, None
            settler, self._settler = self._settler, None
        if pool is not None:
            pool.shutdown(wait=True)
        if settler is not None:
            settler.close()

    def _run_group(self, claimed: Sequence[Claimed]) -> DispatchReport:
        """Execute one handoff's claimed rows in order (its messages keep their order).

        A row whose run meets a stored record that no longer reads is held (or
        put back, for its handoff's) and the rest go on: see ``_unreadable``.
        """
        report = DispatchReport()
        for item, handoff in claimed:
            # Inline, not a call per row: a try costs nothing until it catches.
            try:
                command = item.command
                if item.handoff_id is None:
                    if isinstance(command, SendMessage):
                        self._send(item, None, command, report)
                    continue
                if self._settler is not None:
                    # Its earlier rows' settlements first: the audit trail keeps their order.
                    self._settler.wait_for(item.handoff_id)
                if handoff is None:  # pragma: no cover - rows are written with their handoff
                    continue
                if isinstance(command, SendMessage):
                    self._send(item, handoff, command, report)
                elif isinstance(command, PostPublicReply):
                    self._post(item, handoff, command, report)
                else:
                    self.notifier(handoff, command.model_copy(update={"key": item.idempotency_key}))
                    self._settle(
                        item,
                        handoff,
                        OutboxStatus.DONE,
                        "notify.sent",
                        report,
                        topic=command.topic,
                    )
            except CorruptRecord as exc:
                self._hold_unreadable(item, handoff, exc, report)
        return report


def _collect(futures: Sequence[Future[DispatchReport]]) -> DispatchReport:
    """Sum the groups' reports; re-raise the first error once every group finished."""
    report = DispatchReport()
    error: BaseException | None = None
    for future in futures:
        failure = future.exception()
        if failure is not None:
            error = error or failure
            continue
        report += future.result()
    if error is not None:
        raise error
    return report
