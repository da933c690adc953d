"""Settle accepted sends behind the worker pool, many per transaction.

A worker that waits for its row's settlement to commit is a worker not sending:
under a pool of 64 that wait (a queue for the store, then a ``COMMIT``) was
about 2% of every send's cycle. Once the provider has accepted a message,
nothing that follows depends on when its row is marked sent, so the worker hands
the settlement (the row update and its audit event) to the ``Settler`` and takes
its next row. The settler's thread commits everything handed to it so far in one
transaction.

What this does not change:

- Never twice: until its settlement commits, the row is still claimed under its
  lease. If the process dies first, the lease runs out and the row is held for
  reconciliation, exactly as when a worker dies between send and settle.
- Order per handoff: a worker about to run another row of a handoff first waits
  for that handoff's earlier settlements (``wait_for``), so its audit events keep
  the order things happened in.
- Only acceptances go this way. A refusal, a failure or a retry is settled by the
  worker itself, because what it does next (fall back, feed the workflow)
  depends on that settlement having committed.
- Refusals stay with their own row: a batch that the store refuses (a lease
  taken over mid-send) is committed again one settlement at a time, and only the
  refused one is dropped, with a warning, as a synchronous settle would.
- A delivery report that came in while the send was in flight refuses its
  row's settlement too (see ``_reported``): the engine's ``refused`` hook then
  settles the row as the report says, feeding the workflow a failure, on this
  thread. The handoff stays waited for (``wait_for``) until that is written,
  and ``fed_count`` tells a dispatcher that rows may have been queued meanwhile.
- A store failure is not lost: ``flush`` raises the first one, after the rest
  of the queue was written.
"""

from __future__ import annotations

import logging
import threading
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from escalate._exceptions import ConcurrentUpdate
from escalate._models import Event
from escalate.store._protocol import Changes, OutboxUpdate, Store

__all__ = ["Refused", "Settler"]

log = logging.getLogger("escalate")

#: Settles a row whose settlement the store refused: returns the DispatchReport
#: counter it counted towards and whether it fed the row's handoff an input, or
#: None when the row is no longer this worker's (it logs why).
Refused = Callable[[OutboxUpdate, Sequence[Event]], tuple[str, bool] | None]


@dataclass(frozen=True)
class _Settlement:
    handoff_id: str | None
    update: OutboxUpdate
    events: Sequence[Event]
    #: The DispatchReport counter it counts towards once committed.
    counter: str


class Settler:
    """Commits settlements handed over by workers, on one thread of its own."""

    def __init__(self, store: Store, refused: Refused | None = None) -> None:
        self._store = store
        self._refused = refused
        #: How many inputs the ``refused`` hook fed, ever. A dispatcher compares
        #: its readings before and after a flush: a fallback may be due now.
        self.fed_count = 0
        self._changed = threading.Condition()
        self._queued: list[_Settlement] = []
        self._writing: list[_Settlement] = []
        self._counts: Counter[str] = Counter()
        self._error: BaseException | None = None
        self._closed = False
        self._thread = threading.Thread(target=self._run, name="escalate-settler", daemon=True)
        self._thread.start()

    def submit(
        self,
        handoff_id: str | None,
        update: OutboxUpdate,
        events: Sequence[Event],
        counter: str,
    ) -> None:
        """Queue one row's settlement and its audit events; returns at once."""
        with self._changed:
            if self._closed:
                raise RuntimeError("the settler is closed")
            self._queued.append(_Settlement(handoff_id, update, events, counter))
            self._changed.notify_all()

    def wait_for(self, handoff_id: str) -> None:
        """Return once no settlement of ``handoff_id`` is queued or being written."""
        with self._changed:
            self._changed.wait_for(lambda: not self._pending(handoff_id))

    def flush(self) -> Counter[str]:
        """Wait for everything queued; return what committed since the last flush.

        Raises:
            The first error the store raised while writing, once the queue is empty.
        """
        with self._changed:
            self._changed.wait_for(lambda: not self._queued and not self._writing)
            counts, self._counts = self._counts, Counter()
            error, self._error = self._error, None
        if error is not None:
            raise error
        return counts

    def close(self) -> Counter[str]:
        """Flush, then stop the thread."""
        try:
            return self.flush()
        finally:
            with self._changed:
                self._closed = True
                self._changed.notify_all()
            self._thread.join()

    def _pending(self, handoff_id: str) -> bool:
        return any(s.handoff_id == handoff_id for s in (*self._queued, *self._writing))

    def _run(self) -> None:
        while True:
            with self._changed:
                self._changed.wait_for(lambda: self._queued or self._closed)
                if not self._queued:
                    return
                self._writing, self._queued = self._queued, []
            committed = self._write(self._writing)
            with self._changed:
                self._counts.update(settlement.counter for settlement in committed)
                self._writing = []
                self._changed.notify_all()

    def _write(self, batch: list[_Settlement]) -> list[_Settlement]:
        """Commit ``batch`` in one transaction, or one by one if the store refuses it."""
        try:
            self._store.commit(_merged(batch))
            return batch
        except ConcurrentUpdate:
            pass
        except Exception as exc:  # noqa: BLE001 - handed to flush(), which raises it
            self._keep(exc)
            return []
        committed = []
        for settlement in batch:
            try:
                self._store.commit(_merged([settlement]))
            except ConcurrentUpdate:
                settled = self._settle_refused(settlement)
                if settled is not None:
                    committed.append(settled)
                continue
            except Exception as exc:  # noqa: BLE001 - handed to flush(), which raises it
                self._keep(exc)
                continue
            committed.append(settlement)
        return committed

    def _settle_refused(self, settlement: _Settlement) -> _Settlement | None:
        """Hand a refused settlement to the ``refused`` hook; what it counted, if anything."""
        if self._refused is None:
            # The row's lease was taken over mid-send; its new owner settles it.
            log.warning("outbox row %s was taken over by another worker", settlement.update.item_id)
            return None
        try:
            settled = self._refused(settlement.update, settlement.events)
        except Exception as exc:  # noqa: BLE001 - handed to flush(), which raises it
            self._keep(exc)
            return None
        if settled is None:
            return None
        counter, fed = settled
        if fed:
            with self._changed:
                self.fed_count += 1
        return replace(settlement, counter=counter)

    def _keep(self, error: BaseException) -> None:
        with self._changed:
            self._error = self._error or error


def _merged(batch: list[_Settlement]) -> Changes:
    """One ``Changes`` writing every settlement of ``batch``."""
    return Changes(
        outbox_updates=tuple(settlement.update for settlement in batch),
        events=tuple(event for settlement in batch for event in settlement.events),
    )
