"""A due timer that cannot be fired for a record that no longer reads: held, and told once.

A timer row edited outside escalate (its due time), or a timer whose handoff or
contact no longer reads (``CorruptRecord``), cannot be fired: there is nothing
sound to decide from. It used to stay pending, logged on every ``run_due()``
for ever and recorded nowhere, and 100 such timers due first filled every
batch, so that no other timer fired. It is now held (``Changes.hold_timers``)
in one commit with a ``timer.held`` event and, when its case reads, a helpdesk
notice naming the case, the timer and the record by id, never what they hold.
A held timer is out of every later due read, so it is told once; the store
refuses a second hold, so two workers meeting it tell it once too. Once the
record is restored, ``esc.timers.release(handoff_id, timer_id)`` makes it due
again (``escalate/_timers.py``).

Only a timer that meets such a record reaches this module: firing pays nothing
for it.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import TYPE_CHECKING

from escalate._exceptions import CorruptRecord, StaleTimer
from escalate._ids import new_id
from escalate._models import Event, Handoff
from escalate.store._protocol import Changes, OutboxItem, Timer
from escalate.workflow._events import handoff_event
from escalate.workflow._unreadable import UNREADABLE_RECORD, unreadable_data, unreadable_notice

if TYPE_CHECKING:
    from escalate._clock import Clock
    from escalate.store._protocol import Store

__all__ = ["HoldsTimers", "unreadable_timer"]

log = logging.getLogger("escalate")


def unreadable_timer(timer: Timer) -> CorruptRecord:
    """The error a timer row that no longer reads stands for (``Timer.unreadable``)."""
    return CorruptRecord(
        "timer", record_id=timer.id, handoff_id=timer.handoff_id, detail=timer.unreadable
    )


class HoldsTimers:
    """The ``Engine``'s method for a due timer that met a ``CorruptRecord``."""

    if TYPE_CHECKING:  # provided by the Engine dataclass
        store: Store
        clock: Clock
        tenant: str

    def _hold_timer(self, timer: Timer, unreadable: CorruptRecord) -> None:
        """Hold ``timer`` with its event and the helpdesk's notice, unless it moved on."""
        handoff = None
        if unreadable.record != "handoff":
            try:
                handoff = self.store.get_handoff(self.tenant, timer.handoff_id)
            except CorruptRecord:
                handoff = None  # its case does not read either: the event names it by id
        now = self.clock.now()
        data = unreadable_data(unreadable, timer_id=timer.id, name=timer.name)
        if handoff is not None:
            event = handoff_event(handoff, "timer.held", now, **data)
        else:
            event = Event(
                id=new_id("ev"),
                tenant=timer.tenant,
                kind="timer.held",
                at=now,
                handoff_id=timer.handoff_id,
                data=data,
            )
        # The notifier is told of a case: one that does not read has only the event.
        notice = () if handoff is None else (_notice(timer, handoff, unreadable, event, now),)
        try:
            self.store.commit(Changes(hold_timers=(timer.id,), events=(event,), outbox=notice))
        except StaleTimer:
            return  # cancelled, fired, or held and told by another worker meanwhile
        log.warning(
            "timer %s of handoff %s held, not fired: %s", timer.id, timer.handoff_id, unreadable
        )


def _notice(
    timer: Timer, handoff: Handoff, unreadable: CorruptRecord, event: Event, now: datetime
) -> OutboxItem:
    """The helpdesk's notice of a timer held for ``unreadable``: the ids, never the record."""
    return unreadable_notice(
        handoff,
        f"case {handoff.reference}: timer {timer.id} ({timer.name}) is held, not fired:"
        f" {unreadable}. Once it is restored, release the timer"
        f" (esc.timers.release({handoff.id!r}, {timer.id!r})) to fire it.",
        # One notice per hold: a timer released and held again is told again.
        key=f"{UNREADABLE_RECORD}:{timer.id}:{event.id}",
        now=now,
    )
