"""The outbox and timers of ``MemoryStore``: the work it hands out once it falls due.

A mixin, as ``_sqlite_outbox`` is for ``SQLiteStore``: the store owns the state
(``__init__``) and the lock, and calls ``_validate_work`` and ``_apply_work``
from its ``commit``. Outbox rows are indexed by handoff id, so that one
handoff's rows (``outbox(handoff_id=...)``, a claim with a ``Claim``) are found
without a scan of every row.
"""

from __future__ import annotations

import threading
from collections.abc import Collection, Iterable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from escalate._clock import ensure_aware
from escalate._exceptions import ConcurrentUpdate, StaleTimer
from escalate._identity import Identity
from escalate.store._changes import claim_token
from escalate.store._protocol import Changes, OutboxItem, OutboxStatus, Timer, TimerStatus

__all__ = ["OutboxMemory"]

#: The commands ``erase_messages`` deletes: a private message, a public reply
#: (which greets the author by handle).
_MESSAGES = frozenset({"send_message", "post_public_reply"})


def _same_report(item: OutboxItem | None, report: Mapping[str, Any] | None) -> bool:
    """Whether ``item`` carries exactly ``report`` as its in-flight report."""
    return item is not None and item.reported == (None if report is None else dict(report))


class OutboxMemory:
    """Outbox rows and timers in memory; needs the state and ``_lock`` of ``MemoryStore``."""

    _lock: threading.RLock
    _outbox: dict[str, OutboxItem]
    #: handoff id -> ids of its rows (a row tied to no handoff is in no entry).
    _outbox_by_handoff: dict[str, set[str]]
    _idempotency_keys: set[str]
    _timers: dict[str, Timer]
    #: (handoff id, name) -> id of the pending timer of that name.
    _pending_timers: dict[tuple[str, str], str]
    #: Ids of pending timers held (``Changes.hold_timers``): not due until released.
    _held_timers: set[str]

    # -- writing ----------------------------------------------------------------

    def _validate_work(self, changes: Changes) -> None:
        """Refuse a change whose outbox rows or timers the store no longer holds as read."""
        keys: set[str] = set()
        for item in changes.outbox:
            if item.idempotency_key in self._idempotency_keys or item.idempotency_key in keys:
                raise ConcurrentUpdate("outbox idempotency key already used")
            keys.add(item.idempotency_key)
        for timer_id in changes.fire_timers:
            timer = self._timers.get(timer_id)
            if timer is None or timer.status is not TimerStatus.PENDING:
                raise StaleTimer(timer_id)
        if changes.hold_timers or changes.release_timers:
            self._validate_holds(changes)
        for update in changes.outbox_updates:
            stored_item = self._outbox.get(update.item_id)
            if update.from_status is not None:
                if stored_item is None or stored_item.status is not update.from_status:
                    raise ConcurrentUpdate(f"outbox row is no longer {update.from_status.value}")
            elif (
                stored_item is None
                or stored_item.status is not OutboxStatus.CLAIMED
                or stored_item.claimed_by != update.claimed_by
            ):
                raise ConcurrentUpdate("outbox row is no longer claimed by this worker")
            if update.check_reported and not _same_report(stored_item, update.reported):
                raise ConcurrentUpdate("a delivery report came in for the outbox row")
        for report in changes.outbox_reports:
            stored_item = self._outbox.get(report.item_id)
            if (
                stored_item is None
                or stored_item.status is not OutboxStatus.CLAIMED
                or stored_item.claimed_by != report.claimed_by
                or not _same_report(stored_item, report.previous)
            ):
                raise ConcurrentUpdate("outbox row is no longer in flight as read")

    def _apply_work(self, changes: Changes) -> None:
        """Write a validated change's outbox rows, settlements, reports and timers."""
        for item in changes.outbox:
            self._outbox[item.id] = item
            if item.handoff_id is not None:
                self._outbox_by_handoff.setdefault(item.handoff_id, set()).add(item.id)
            self._idempotency_keys.add(item.idempotency_key)
        for update in changes.outbox_updates:
            stored_item = self._outbox[update.item_id]
            self._outbox[update.item_id] = stored_item.model_copy(
                update={
                    "status": update.status,
                    "result": update.result,
                    "due_at": ensure_aware(update.due_at) if update.due_at else stored_item.due_at,
                    "lease_until": None,
                    "claimed_by": None,
                    "reported": None,
                }
            )
        for report in changes.outbox_reports:
            stored_item = self._outbox[report.item_id]
            self._outbox[report.item_id] = stored_item.model_copy(
                update={"reported": dict(report.report)}
            )
        for handoff_id, name in changes.cancel_timers:
            self._finish_timer(self._pending_timers.get((handoff_id, name)), TimerStatus.CANCELLED)
        for timer_id in changes.fire_timers:
            self._finish_timer(timer_id, TimerStatus.FIRED)
        for handoff_id, name, due_at in changes.move_timers:
            pending = self._pending_timers.get((handoff_id, name))
            if pending is not None:
                moved = self._timers[pending].model_copy(update={"due_at": ensure_aware(due_at)})
                self._timers[pending] = moved
        for timer in changes.timers:
            self._finish_timer(
                self._pending_timers.get((timer.handoff_id, timer.name)), TimerStatus.CANCELLED
            )
            self._timers[timer.id] = timer
            self._pending_timers[(timer.handoff_id, timer.name)] = timer.id
        if changes.hold_timers or changes.release_timers:
            self._held_timers.update(changes.hold_timers)
            self._held_timers.difference_update(timer_id for _, timer_id in changes.release_timers)

    def _validate_holds(self, changes: Changes) -> None:
        """Refuse a hold of a timer not pending or held already, a release of one not held.

        Judged as ``SQLiteStore`` writes them: after the change's fired, cancelled
        and restarted timers, holds before releases, one at a time.
        """
        pending = self._pending_timers
        ended = set(changes.fire_timers)
        ended.update(pending.get(key, "") for key in changes.cancel_timers)
        ended.update(pending.get((t.handoff_id, t.name), "") for t in changes.timers)
        held = set(self._held_timers)
        for timer_id in changes.hold_timers:
            timer = self._timers.get(timer_id)
            if timer is None or timer.status is not TimerStatus.PENDING or timer_id in ended:
                raise StaleTimer(timer_id)
            if timer_id in held:
                raise StaleTimer(timer_id)  # held once: its event and notice are written
            held.add(timer_id)
        for handoff_id, timer_id in changes.release_timers:
            timer = self._timers.get(timer_id)
            if timer is None or timer.handoff_id != handoff_id or timer_id not in held - ended:
                raise StaleTimer(timer_id)
            held.discard(timer_id)

    def _finish_timer(self, timer_id: str | None, status: TimerStatus) -> None:
        timer = self._timers.get(timer_id) if timer_id else None
        if timer is None or timer.status is not TimerStatus.PENDING:
            return
        self._timers[timer.id] = timer.model_copy(update={"status": status})
        self._pending_timers.pop((timer.handoff_id, timer.name), None)
        self._held_timers.discard(timer.id)

    def _forget_outbox(self, item: OutboxItem) -> None:
        """Delete a row, and its entry in the handoff index (its idempotency key stays used)."""
        del self._outbox[item.id]
        if item.handoff_id is not None:
            ids = self._outbox_by_handoff[item.handoff_id]
            ids.discard(item.id)
            if not ids:
                del self._outbox_by_handoff[item.handoff_id]

    def _erase_outbox_to(
        self, tenant: str, address: Identity, keep_handoffs: Collection[str] = ()
    ) -> None:
        """Delete the tenant's unclaimed rows addressed to ``address`` (erasure), but
        those of the handoffs in ``keep_handoffs`` (another person's cases)."""
        for item in list(self._outbox.values()):
            if (
                item.tenant == tenant
                and item.status is not OutboxStatus.CLAIMED
                and getattr(item.command, "to", None) == address
                and item.handoff_id not in keep_handoffs
            ):
                self._forget_outbox(item)

    def erase_messages(self, tenant: str, handoff_ids: Sequence[str]) -> None:
        with self._lock:
            for item in self._rows_of(tenant, set(handoff_ids)):
                if item.status is not OutboxStatus.CLAIMED and item.command.kind in _MESSAGES:
                    self._forget_outbox(item)

    # -- reading ----------------------------------------------------------------

    def _rows_of(self, tenant: str | None, handoff_ids: Iterable[str]) -> list[OutboxItem]:
        """The rows of these handoffs (of ``tenant``, unless ``None``), through the index."""
        rows = (
            self._outbox[item_id]
            for handoff_id in handoff_ids
            for item_id in self._outbox_by_handoff.get(handoff_id, ())
        )
        return [item for item in rows if tenant is None or item.tenant == tenant]

    def claim_outbox(
        self,
        now: datetime,
        *,
        worker: str,
        lease: timedelta,
        limit: int = 100,
        handoff_id: str | None = None,
        tenant: str | None = None,
    ) -> list[OutboxItem]:
        now = ensure_aware(now, "now")
        with self._lock:
            if handoff_id is None:
                scope = [
                    item
                    for item in self._outbox.values()
                    if tenant is None or item.tenant == tenant
                ]
            else:
                scope = self._rows_of(tenant, (handoff_id,))
            due = [
                item
                for item in scope
                if (item.status is OutboxStatus.PENDING and item.due_at <= now and self._free(item))
                or (
                    item.status is OutboxStatus.CLAIMED
                    and item.lease_until is not None
                    and item.lease_until <= now
                )
            ]
            due.sort(key=lambda item: (item.due_at, item.created_at, item.id))
            claimed = []
            for item in due[:limit]:
                updated = item.model_copy(
                    update={
                        "status": OutboxStatus.CLAIMED,
                        "lease_until": now + lease,
                        "claimed_by": claim_token(worker),
                        "attempts": item.attempts + 1,
                        "stale_claim": item.status is OutboxStatus.CLAIMED,
                    }
                )
                self._outbox[item.id] = updated
                claimed.append(updated)
            return claimed

    def _free(self, item: OutboxItem) -> bool:
        """Whether the row ``item`` follows (if any) has left pending and claimed."""
        before = self._outbox.get(item.after) if item.after is not None else None
        return before is None or before.status not in (OutboxStatus.PENDING, OutboxStatus.CLAIMED)

    def get_outbox_item(self, tenant: str, item_id: str) -> OutboxItem | None:
        item = self._outbox.get(item_id)
        return item if item is not None and item.tenant == tenant else None

    def outbox_with_status(
        self, tenant: str, status: OutboxStatus, *, limit: int = 100
    ) -> list[OutboxItem]:
        with self._lock:
            items = [
                item
                for item in self._outbox.values()
                if item.tenant == tenant and item.status is status
            ]
        return sorted(items, key=lambda item: (item.created_at, item.id))[:limit]

    def outbox(self, tenant: str, *, handoff_id: str | None = None) -> list[OutboxItem]:
        with self._lock:
            if handoff_id is None:
                items = [item for item in self._outbox.values() if item.tenant == tenant]
            else:
                items = self._rows_of(tenant, (handoff_id,))
        return sorted(items, key=lambda item: (item.created_at, item.id))

    def due_timers(
        self, now: datetime, *, limit: int = 100, tenant: str | None = None
    ) -> list[Timer]:
        now = ensure_aware(now, "now")
        with self._lock:
            due = [
                self._timers[timer_id]
                for timer_id in self._pending_timers.values()
                if self._timers[timer_id].due_at <= now
                and timer_id not in self._held_timers
                and (tenant is None or self._timers[timer_id].tenant == tenant)
            ]
        return sorted(due, key=lambda timer: (timer.due_at, timer.id))[:limit]
