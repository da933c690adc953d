"""A claimed row whose run meets a stored record that no longer reads: it waits, the run goes on.

A contact or consent ledger row edited outside escalate (``CorruptRecord``)
leaves a send undecidable: whether its address is still the case's, which zone
its quiet hours are in, whether it may be sent at all. Nothing is guessed (a
ledger that cannot be read gives no consent), so the one row that needed the
record is held, as a send whose outcome is unknown is: a ``message.held``
event (reason ``unreadable_record``) and a helpdesk notice name the record by
its id, never what it holds, and every other row of the run still goes. Once
the record is restored from a backup, ``esc.outbox.release(row_id)`` runs the
row again from its consent check. Held is right even where the record was met
after the provider took the message (a failure's fallback reads the contact):
a held row is never resent by itself.

An unreadable handoff is another matter: it is what the notifier would be told
about, and restoring it is all its rows need. They go back to pending, due a
lease later, as the claim puts them back (``_dispatching._readable_handoffs``).

Only the ``except`` path reaches this module: the send path pays nothing for it.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from escalate._ids import new_id
from escalate._redact import redact_address
from escalate.store._protocol import Changes, OutboxItem, OutboxStatus, OutboxUpdate
from escalate.workflow._commands import Notify, PostPublicReply, SendMessage
from escalate.workflow._events import handoff_event

if TYPE_CHECKING:
    from escalate._clock import Clock
    from escalate._exceptions import CorruptRecord
    from escalate._models import Handoff
    from escalate.store._protocol import Store
    from escalate.workflow._report import DispatchReport

__all__ = ["UNREADABLE_RECORD", "HoldsUnreadable", "unreadable_data", "unreadable_notice"]

log = logging.getLogger("escalate")

#: The held row's event reason, and the topic of the helpdesk's notice.
UNREADABLE_RECORD = "unreadable_record"


class HoldsUnreadable:
    """The ``Engine``'s methods for a claimed row that met a ``CorruptRecord``."""

    if TYPE_CHECKING:  # provided by the Engine dataclass and the Feeding mixin
        store: Store
        clock: Clock
        lease: timedelta

        def _commit_settlement(self, settlement: Changes) -> bool: ...

    def _hold_unreadable(
        self,
        item: OutboxItem,
        handoff: Handoff | None,
        unreadable: CorruptRecord,
        report: DispatchReport,
    ) -> None:
        """Hold ``item``, with its event and a notice naming the record; the run goes on."""
        if unreadable.record == "handoff":
            # Its own handoff, read again before the send: wait for it, as the claim does.
            log.warning("outbox row %s not run: %s", item.id, unreadable)
            self._wait_for_handoff((item,))
            return
        log.warning("outbox row %s held, not run: %s", item.id, unreadable)
        command = item.command
        data = unreadable_data(unreadable)
        if isinstance(command, SendMessage):
            address = redact_address(command.to.kind.value, command.to.value)
            data.update(to=f"{command.to.kind.value}:{address}", template=command.template)
        kind = "public_reply.held" if isinstance(command, PostPublicReply) else "message.held"
        now = self.clock.now()
        event = handoff_event(
            handoff or item, kind, now, outbox_id=item.id, attempt=item.attempts, **data
        )
        # A notice's own notifier meeting the record would only queue another notice.
        notice = () if handoff is None or isinstance(command, Notify) else (
            _notice(item, handoff, unreadable, now),
        )  # fmt: skip
        update = OutboxUpdate(
            item_id=item.id, status=OutboxStatus.HELD, claimed_by=item.claimed_by or ""
        )
        if self._commit_settlement(
            Changes(outbox_updates=(update,), events=(event,), outbox=notice)
        ):
            report.held += 1

    def _wait_for_handoff(self, rows: Sequence[OutboxItem]) -> None:
        """Return claimed rows to pending, due a lease later (a stale claim's is held)."""
        later = self.clock.now() + self.lease
        self.store.commit(
            Changes(
                outbox_updates=tuple(
                    OutboxUpdate(
                        item_id=item.id,
                        # A dead worker may have sent it: held, as it would be.
                        status=OutboxStatus.HELD if item.stale_claim else OutboxStatus.PENDING,
                        claimed_by=item.claimed_by or "",
                        due_at=later,
                    )
                    for item in rows
                )
            )
        )


def unreadable_data(unreadable: CorruptRecord, **more: Any) -> dict[str, Any]:
    """A held row's or timer's event data: why, and which record, by kind and id only."""
    return {
        "reason": UNREADABLE_RECORD,
        **more,
        "record": unreadable.record,
        "record_id": unreadable.record_id,
        "detail": unreadable.detail,
    }


def _notice(
    item: OutboxItem, handoff: Handoff, unreadable: CorruptRecord, now: datetime
) -> OutboxItem:
    """The helpdesk's notice of a row held for ``unreadable``: the ids, never the record."""
    return unreadable_notice(
        handoff,
        f"case {handoff.reference}: outbox row {item.id} is held, not sent: {unreadable}."
        f" Once it is restored, release the row (esc.outbox.release({item.id!r})) to send it.",
        # One notice per hold: a row released and held again is told again.
        key=f"{UNREADABLE_RECORD}:{item.id}:{item.attempts}",
        now=now,
    )


def unreadable_notice(handoff: Handoff, text: str, *, key: str, now: datetime) -> OutboxItem:
    """An ``unreadable_record`` notice row for ``handoff``'s helpdesk, due ``now``."""
    return OutboxItem(
        id=new_id("ob"),
        tenant=handoff.tenant,
        handoff_id=handoff.id,
        idempotency_key=key,
        command=Notify(topic=UNREADABLE_RECORD, text=text),
        due_at=now,
        created_at=now,
    )
