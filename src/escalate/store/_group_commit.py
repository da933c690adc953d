"""Group commit: concurrent ``commit()`` calls share one SQLite transaction.

When the outbox runs on a worker pool, every send ends in a small write (the
row's settlement and its audit event). One transaction each would spend most of
that time in ``BEGIN``/``COMMIT`` and in handing the connection lock from thread
to thread. Instead, callers queue their change; whichever caller gets the
connection writes everything queued so far in one transaction and commits once.
Every caller still returns only after its own change is committed, or raises its
own refusal:

- a change that is refused (a stale version, a fired timer, a uniqueness rule)
  rolls the shared transaction back; each change of the batch is then written
  again in a transaction of its own, so the refusal reaches its own caller only
  and the others still commit (refusals are rare: this costs nothing otherwise);
- if the commit itself fails, or the database fails the transaction
  (``StoreError``: a lock held too long, a full disk), every change in the
  batch failed, and every caller raises.

A caller with nobody else waiting pays one uncontended condition, nothing more.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from escalate._exceptions import ConcurrentUpdate, EscalateError, StoreError
from escalate.store._protocol import Changes

if TYPE_CHECKING:
    from escalate.store._protocol import OutboxItem

__all__ = ["GroupCommit"]

#: What the store refuses for one change, leaving the others in the batch alone.
_REFUSALS = (EscalateError, sqlite3.IntegrityError)


@dataclass(eq=False)
class _Pending:
    changes: Changes
    done: bool = False
    error: BaseException | None = field(default=None)
    #: The rows ``changes.claim`` claimed, from the write that committed.
    claimed: list[OutboxItem] = field(default_factory=list)


class GroupCommit:
    """Queue changes from many threads and write them in shared transactions.

    Args:
        transaction: opens ``BEGIN IMMEDIATE`` on the connection (under its lock),
            commits on exit and rolls back on an exception.
        write: writes one ``Changes`` on the connection, raising to refuse it, and
            returns the outbox rows its claim took.
    """

    def __init__(
        self,
        transaction: Callable[[], AbstractContextManager[sqlite3.Connection]],
        write: Callable[[sqlite3.Connection, Changes], list[OutboxItem]],
    ) -> None:
        self._transaction = transaction
        self._write = write
        # Held directly (``with self._lock``), not through the condition: a
        # Condition's ``with`` is two Python calls around the same lock, three
        # times per commit. Waiting and notifying still go through ``_state``.
        self._lock = threading.Lock()
        self._state = threading.Condition(self._lock)
        self._queue: list[_Pending] = []
        self._leading = False
        #: Callers waiting on ``_state``: with none, the leader skips notify_all,
        #: which costs a lock probe even on an empty condition.
        self._waiting = 0

    def commit(self, changes: Changes) -> list[OutboxItem]:
        """Write ``changes`` atomically; return, once committed, the rows its claim took."""
        pending = _Pending(changes)
        with self._lock:
            self._queue.append(pending)
            while self._leading and not pending.done:
                self._waiting += 1
                try:
                    self._state.wait()
                finally:
                    self._waiting -= 1
            if pending.done:
                return _result(pending)
            self._leading = True
        try:
            self._write_queued()
        finally:
            with self._lock:
                self._leading = False
                if self._waiting:
                    self._state.notify_all()
        return _result(pending)

    def _write_queued(self) -> None:
        batch: list[_Pending] = []
        try:
            with self._transaction() as conn:
                # Taken once the connection is ours: whatever queued while we
                # waited for it joins this transaction.
                batch = self._take_queue()
                for pending in batch:
                    pending.claimed = self._write(conn, pending.changes)
        except StoreError as exc:
            # Not a refusal of one change: the database failed the transaction
            # (a lock held too long, a full disk), and would fail each change alone.
            batch = batch or self._take_queue()
            self._fail(batch, exc)
        except _REFUSALS as exc:
            if len(batch) <= 1:
                for pending in batch:
                    pending.error = _refusal(exc)
            else:
                # Some change was refused and the whole batch rolled back: write
                # each again alone, so the refusal reaches its own caller only.
                for pending in batch:
                    self._write_alone(pending)
        except BaseException as exc:  # noqa: BLE001 - re-raised in every caller it failed
            # The transaction never began, or failed to commit: nothing was written.
            batch = batch or self._take_queue()
            self._fail(batch, exc)
        finally:
            for pending in batch:
                pending.done = True

    @staticmethod
    def _fail(batch: list[_Pending], exc: BaseException) -> None:
        for pending in batch:
            pending.error = exc

    def _write_alone(self, pending: _Pending) -> None:
        try:
            with self._transaction() as conn:
                pending.claimed = self._write(conn, pending.changes)
        except _REFUSALS as exc:
            pending.error = _refusal(exc)
        except BaseException as exc:  # noqa: BLE001 - handed to the caller it belongs to
            pending.error = exc

    def _take_queue(self) -> list[_Pending]:
        with self._lock:
            batch, self._queue = self._queue, []
        return batch


def _refusal(exc: BaseException) -> BaseException:
    if isinstance(exc, sqlite3.IntegrityError):
        refused = ConcurrentUpdate(f"a uniqueness rule refused the change: {exc}")
        refused.__cause__ = None
        refused.__suppress_context__ = True
        return refused
    return exc


def _result(pending: _Pending) -> list[OutboxItem]:
    if pending.error is not None:
        raise pending.error
    return pending.claimed
