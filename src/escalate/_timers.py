"""``esc.timers``: put back a timer that was held for a record that no longer read.

A due timer whose own row, handoff or contact was edited outside escalate so
that it no longer reads is held by ``run_due()`` (``workflow/_held_timers.py``),
with a ``timer.held`` event and a helpdesk notice: it fires no more by itself.
Once the record is restored from a backup, ``release`` makes it due again, in
one commit with a ``timer.released`` event; the next ``run_due()`` fires it if
its time has come. A held timer is still its case's pending timer of that name:
the workflow cancelling or restarting it ends it, and then there is nothing to
release.
"""

from __future__ import annotations

from escalate._exceptions import InvalidInput, NotFound, StaleTimer
from escalate.store._protocol import Changes
from escalate.workflow._engine import Engine
from escalate.workflow._events import handoff_event

__all__ = ["Timers"]


class Timers:
    """The timers of one tenant, as ``esc.timers``."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine
        self._store = engine.store
        self._tenant = engine.tenant

    def release(self, handoff_id: str, timer_id: str, *, actor: str = "operator") -> None:
        """Make a held timer due again, once the record it met is restored.

        Both ids are in the ``timer.held`` event, the helpdesk's notice and the
        log line. A row whose due time still does not read is held again, and
        told again, by the next ``run_due()``.

        Raises:
            InvalidInput: an id is not a non-empty string.
            NotFound: no such handoff, or it has no held timer ``timer_id``
                (never held, released already, or cancelled or restarted since).
            CorruptRecord: the handoff still does not read: restore it first.
        """
        for value in (handoff_id, timer_id):
            if not isinstance(value, str) or not value:
                raise InvalidInput("release() takes a handoff id and a timer id")
        handoff = self._store.get_handoff(self._tenant, handoff_id)
        if handoff is None:
            raise NotFound(f"no handoff {handoff_id!r} in tenant {self._tenant!r}")
        now = self._engine.clock.now()
        event = handoff_event(handoff, "timer.released", now, actor, timer_id=timer_id)
        try:
            self._store.commit(Changes(release_timers=((handoff_id, timer_id),), events=(event,)))
        except StaleTimer:
            raise NotFound(f"handoff {handoff_id!r} has no held timer {timer_id!r}") from None

    def __repr__(self) -> str:
        return f"Timers(tenant={self._tenant!r})"
