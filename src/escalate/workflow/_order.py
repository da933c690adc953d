"""Which outbox row a message queued ``in_order`` follows (``OutboxItem.after``).

Rows are claimed in due order, so a message queued after another can overtake
it: when the first waits for a retry (a 429), the second, due at once, leaves
before it. The customer would read an agent's text before the intro that says
who writes on this channel. A ``SendMessage`` with ``in_order`` therefore names
the row it follows: the last message to the same address queued before it, in
its own transition, or else one of the handoff's still pending or in flight.
The store claims it only once that row has left both states.

Only such a message costs anything: a read of its handoff's outbox rows, and
only when its own transition queued nothing to that address before it.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from escalate.store._protocol import OutboxItem, OutboxStatus
from escalate.workflow._commands import SendMessage

if TYPE_CHECKING:
    from escalate._identity import Identity
    from escalate.store._protocol import Store

__all__ = ["ordered"]

_QUEUED = (OutboxStatus.PENDING, OutboxStatus.CLAIMED)


def _to(item: OutboxItem) -> Identity | None:
    command = item.command
    return command.to if isinstance(command, SendMessage) else None


def ordered(store: Store, rows: Sequence[OutboxItem]) -> tuple[OutboxItem, ...]:
    """``rows`` (one transition's, in command order) with ``after`` set on ``in_order`` ones."""
    if not any(isinstance(row.command, SendMessage) and row.command.in_order for row in rows):
        return tuple(rows)
    stored: list[OutboxItem] | None = None
    made: list[OutboxItem] = []
    for row in rows:
        command = row.command
        before = None
        if isinstance(command, SendMessage) and command.in_order:
            before = next((r for r in reversed(made) if _to(r) == command.to), None)
            if before is None and row.handoff_id is not None:
                if stored is None:
                    stored = store.outbox(row.tenant, handoff_id=row.handoff_id)
                before = next(
                    (r for r in reversed(stored) if r.status in _QUEUED and _to(r) == command.to),
                    None,
                )
        made.append(row if before is None else row.model_copy(update={"after": before.id}))
    return tuple(made)
