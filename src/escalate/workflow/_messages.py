"""``PrivateMessage``: what a step may know of its handoff's private messages, and loading them.

A step declared with ``uses_messages=True`` reads ``ctx.messages``: the
handoff's private messages as their outbox rows stand now (which template,
whether and when it left). ``decide`` stays pure: the engine loads them before
deciding, and only for such a step (``Workflow.wants_messages``), so a
transition whose step does not ask costs no read.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from escalate._models import Channel, Handoff
from escalate.store._changes import OutboxStatus
from escalate.workflow._commands import SendMessage

if TYPE_CHECKING:
    from escalate.store._protocol import OutboxItem, Store

__all__ = ["PrivateMessage", "private_messages"]

#: Waiting to leave: due (``pending``), or being sent now (``claimed``).
_WAITING = (OutboxStatus.PENDING, OutboxStatus.CLAIMED)
#: Handed to the provider: accepted (``done``), or an attempt whose outcome is
#: unknown (``held``): it may well have reached the customer.
_LEFT = (OutboxStatus.DONE, OutboxStatus.HELD)


@dataclass(frozen=True)
class PrivateMessage:
    """One private message of a handoff, as its outbox row stands now.

    Attributes:
        template: the template it was rendered from (``"intro.sms"``); ``None``
            for a body a workflow wrote itself.
        channel: the channel it goes on.
        status: the row's status (``pending``, ``claimed``, ``done``, ``held``,
            ``failed``, ``refused``, ``cancelled``).
        queued_at: when the transition that queued it was committed.
        due_at: while it waits to leave (``pending``, ``claimed``), when it is
            next due: later than ``queued_at`` when quiet hours, a retry or
            pacing put it off; ``None`` otherwise.
        sent_at: when it was handed to the provider (``done``, or ``held``: an
            attempt whose outcome is unknown); ``None`` if it has not left.
    """

    template: str | None
    channel: Channel
    status: OutboxStatus
    queued_at: datetime
    due_at: datetime | None = None
    sent_at: datetime | None = None

    @property
    def waiting(self) -> bool:
        """Whether it has yet to leave (and still may)."""
        return self.status in _WAITING


def private_messages(store: Store, handoff: Handoff) -> tuple[PrivateMessage, ...]:
    """The handoff's private messages, oldest first (one read of its outbox rows)."""
    return tuple(
        _message(row, row.command)
        for row in store.outbox(handoff.tenant, handoff_id=handoff.id)
        if isinstance(row.command, SendMessage)
    )


def _message(row: OutboxItem, command: SendMessage) -> PrivateMessage:
    # A row that left keeps, as its due_at, when it was handed to the provider
    # (the send's settlement sets it; see OutboxItem.due_at).
    return PrivateMessage(
        template=command.template,
        channel=command.channel,
        status=row.status,
        queued_at=row.created_at,
        due_at=row.due_at if row.status in _WAITING else None,
        sent_at=row.due_at if row.status in _LEFT else None,
    )
