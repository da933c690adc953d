"""Feeding system inputs to handoffs, and settling outbox rows with their results.

Kept apart from the engine's transitions (``_engine.py``): ``feed`` hands a
system input (a send's result, a fired timer) to its handoff and tolerates the
races of a pooled dispatcher (a stale copy, a moved-on state, a lease taken
over), and ``_settle`` writes an outbox row's settlement, in one transaction
with the input its result feeds. The Engine's mixins (dispatching, the send
path and its outcomes) settle rows through ``_settle`` (declared in ``_settles.py``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from escalate._conflicts import CONFLICT_ATTEMPTS, outlast
from escalate._exceptions import (
    ConcurrentUpdate,
    CorruptRecord,
    StaleTimer,
    TransitionNotAllowed,
)
from escalate._models import Handoff
from escalate.consent._making import consent_event
from escalate.consent._records import ConsentRecord
from escalate.store._changes import NO_CHANGES
from escalate.store._protocol import Changes, OutboxItem, OutboxStatus, OutboxUpdate
from escalate.workflow._events import handoff_event
from escalate.workflow._held_timers import HoldsTimers, unreadable_timer
from escalate.workflow._inputs import TimerFired, WorkflowInput
from escalate.workflow._report import REPORT_COUNTERS, DispatchReport
from escalate.workflow._reported import ReportedSettling

if TYPE_CHECKING:
    from escalate._models import Event
    from escalate.identity._contact import Contact
    from escalate.workflow._settler import Settler

__all__ = ["Feeding"]

log = logging.getLogger("escalate")

#: How many times ``feed`` tries before leaving an input for the next run.
FEED_ATTEMPTS = CONFLICT_ATTEMPTS


class _Conflict(Exception):
    """Another commit to the handoff got in between: ``feed`` tries again."""


class Feeding(HoldsTimers, ReportedSettling):
    """The ``Engine``'s methods that feed system inputs and settle outbox rows."""

    if TYPE_CHECKING:  # provided by the Engine dataclass
        _settler: Settler | None
        _closing: bool

        def apply(
            self,
            handoff: Handoff,
            event: WorkflowInput,
            *,
            actor: str = "system",
            contacts: Sequence[Contact] = (),
            events: Sequence[Event] = (),
            fire_timers: Sequence[str] = (),
            extra: Changes | None = None,
            claim: bool = False,
        ) -> tuple[Handoff, list[OutboxItem]]: ...

    def feed(
        self,
        handoff_id: str,
        event: WorkflowInput,
        *,
        fire_timers: Sequence[str] = (),
        settlement: Changes | None = None,
        known: Handoff | None = None,
    ) -> bool:
        """Feed a system input (a result, a timer) to a handoff, tolerating races.

        A late input that the current state no longer accepts is recorded and
        dropped: the workflow moved on, and that is not an error.

        ``settlement`` (an outbox row's settlement, whose result ``event`` is) is
        committed in the same transaction as the transition, so a crash cannot
        leave a row settled whose handoff never heard the result. Returns False
        only when that row's lease was taken over, or a delivery report came in
        for a settlement built without it (nothing is written then).

        ``known`` is the handoff as the caller last had it: it is tried first,
        and the handoff is read only if that version turns out to be stale (the
        version check refuses the commit, or its state refuses the input).

        Another worker's commit to the same handoff between our read and our
        write (``ConcurrentUpdate``) is outlasted with short jittered waits
        (``FEED_ATTEMPTS`` in all): a result given up on is settled unheard (the row's
        outcome is a fact), so its workflow would miss a fallback or a move.
        """
        try:
            return outlast(
                _Conflict,
                # ``known`` on the first try only: a conflict proved it stale.
                lambda number: self._feed_once(
                    handoff_id, event, fire_timers, settlement, known if number == 1 else None
                ),
                attempts=FEED_ATTEMPTS,
            )
        except _Conflict:
            log.warning(
                "handoff %s kept changing; input %s left for the next run", handoff_id, event.kind
            )
            # The row's outcome is still a fact: settle it, or it would be held as unknown.
            return self._commit_settlement(settlement or NO_CHANGES)

    def _feed_once(
        self,
        handoff_id: str,
        event: WorkflowInput,
        fire_timers: Sequence[str],
        settlement: Changes | None,
        known: Handoff | None,
    ) -> bool:
        """One try of ``feed``; raises ``_Conflict`` when another commit got there first."""
        extra = settlement or NO_CHANGES
        # Our own copy first, if we have one; then the stored handoff decides.
        for unverified in (known, None) if known is not None else (None,):
            handoff = unverified or self.store.get_handoff(self.tenant, handoff_id)
            if handoff is None:
                return self._commit_settlement(extra)
            try:
                self.apply(handoff, event, fire_timers=fire_timers, extra=extra)
                return True
            except TransitionNotAllowed:
                if unverified is not None:
                    continue  # perhaps only our copy is behind: judge the stored one
                ignored = handoff_event(
                    handoff,
                    "input.ignored",
                    self.clock.now(),
                    input=event.kind,
                    state=handoff.state.value,
                )
                return self._commit_ignoring_stale_timer(
                    replace(
                        extra,
                        events=(*extra.events, ignored),
                        fire_timers=tuple(fire_timers),
                    )
                )
            except StaleTimer:
                # A reply cancelled the timer (or another worker fired it) after
                # we read it as due: firing it now would remind someone who answered.
                return True
            except ConcurrentUpdate as conflict:
                if unverified is not None:
                    continue  # our copy was behind; the stored one decides
                if settlement is not None and self._moved_on(settlement):
                    return False
                raise _Conflict from conflict
        raise AssertionError("unreachable: the stored handoff's try always returns or raises")

    def _moved_on(self, settlement: Changes) -> bool:
        """Whether a settlement's row moved on from what it was built for.

        Either it is no longer claimed by the token the settlement carries (the
        lease was taken over: warned here), or a delivery report came in that a
        checked settlement did not expect (its caller builds it again).
        """
        for update in settlement.outbox_updates:
            row = self.store.get_outbox_item(self.tenant, update.item_id)
            if update.from_status is not None:
                # A reconciliation (a report, an operator) moving a held or sent
                # row: no lease; it moved on if it left that status (its caller
                # reads it again), else the conflict was the handoff's.
                if row is None or row.status is not update.from_status:
                    return True
                continue
            if row is None or row.status is not OutboxStatus.CLAIMED:
                _taken_over(settlement)
                return True
            if row.claimed_by != update.claimed_by:
                _taken_over(settlement)
                return True
            expected = None if update.reported is None else dict(update.reported)
            if update.check_reported and row.reported != expected:
                return True
        return False

    def _commit_settlement(self, settlement: Changes) -> bool:
        """Commit a row's settlement alone; False if the row's lease was taken over."""
        if settlement == NO_CHANGES:
            return True
        try:
            self.store.commit(settlement)
        except ConcurrentUpdate:
            # The new owner of the lease settles the row.
            _taken_over(settlement)
            return False
        return True

    def _commit_ignoring_stale_timer(self, changes: Changes) -> bool:
        try:
            self.store.commit(changes)
        except StaleTimer:
            return True
        except ConcurrentUpdate:
            _taken_over(changes)
            return False
        return True

    def fire_timers(self, limit: int = 100) -> int:
        """Feed every due timer to its handoff, ``limit`` at a time; return how many fired.

        All of them, not one batch: ``run_due`` dispatches every due row next,
        and after a scheduler outage a case past its follow-up must be closed
        (its stale intro withdrawn) before that. A timer of a handoff and name
        already fired in this call (restarted already due, or left pending by
        a burst of conflicts) waits for the next call, so this always ends.
        A timer that meets a record that no longer reads, its own row included,
        is held (``_held_timers``): out of the next batches, not filling them.
        """
        fired = 0
        done: set[tuple[str, str]] = set()
        while True:
            due = self.store.due_timers(self.clock.now(), limit=limit, tenant=self.tenant)
            fresh = [timer for timer in due if (timer.handoff_id, timer.name) not in done]
            for timer in fresh:
                if self._closing:  # the rest wait, pending, for the next run
                    return fired
                done.add((timer.handoff_id, timer.name))
                try:
                    if timer.unreadable is not None:  # its row was edited by hand
                        raise unreadable_timer(timer)
                    self.feed(
                        timer.handoff_id, TimerFired(name=timer.name), fire_timers=(timer.id,)
                    )
                except CorruptRecord as exc:
                    # Its row, its handoff or its contact edited by hand: held and
                    # told once, out of later reads, so it cannot crowd out the rest.
                    self._hold_timer(timer, exc)
                    continue
                fired += 1
            if len(due) < limit or not fresh:
                return fired

    def _settle(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        status: OutboxStatus,
        kind: str,
        report: DispatchReport,
        *,
        due_at: datetime | None = None,
        result: dict[str, Any] | None = None,
        consent: Sequence[ConsentRecord] = (),
        behind: bool = False,
        then: WorkflowInput | None = None,
        reportable: bool = False,
        **data: Any,
    ) -> bool:
        """Settle a claimed row with its audit event; False if its lease was taken over.

        With ``then``, the handoff is fed that input (the row's result) in the
        same transaction. With ``behind``, on the pool, the settlement is handed
        to the settler and committed after this returns (only for an accepted
        send: see ``_settler``). With ``reportable`` (a send settling as sent or
        held), a delivery report that came in while it was in flight decides
        the settlement instead (see ``_reported``).
        """
        now = self.clock.now()
        update = OutboxUpdate(
            item_id=item.id,
            status=status,
            claimed_by=item.claimed_by or "",
            result=result,
            due_at=due_at,
            check_reported=reportable,
        )
        event = handoff_event(
            handoff or item, kind, now, outbox_id=item.id, attempt=item.attempts, **data
        )
        events = (event, *(consent_event(record) for record in consent))
        settler = self._settler
        if behind and settler is not None and not consent and then is None:
            settler.submit(item.handoff_id, update, events, REPORT_COUNTERS[kind])
            return True
        settlement = Changes(outbox_updates=(update,), events=events, consent=tuple(consent))
        counter: str | None = REPORT_COUNTERS[kind]
        if then is not None and handoff is not None:
            settled = self.feed(handoff.id, then, settlement=settlement, known=handoff)
        elif reportable:
            counter = self._settle_reportable(settlement)
            settled = counter is not None
        else:
            settled = self._commit_settlement(settlement)
        if not settled or counter is None:
            return False
        setattr(report, counter, getattr(report, counter) + 1)
        return True


def _taken_over(settlement: Changes) -> None:
    rows = ", ".join(update.item_id for update in settlement.outbox_updates)
    log.warning("outbox row %s was taken over by another worker", rows)
