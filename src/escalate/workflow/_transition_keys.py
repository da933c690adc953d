"""The idempotency key of a command a transition queued, written and read in one place.

``transition_key`` names the ``index``-th command of the transition to a handoff
``version``; ``queued_version`` reads that version back off a row, which later
decisions compare with the handoff's (a follow-up queued before the customer's
reply, ``answered_before_sent``; a message queued before the case closed,
``queued_before_close``).
"""

from __future__ import annotations

from escalate._models import Handoff
from escalate.store._protocol import OutboxItem
from escalate.workflow._commands import SendMessage

__all__ = ["answered_before_sent", "queued_before_close", "queued_version", "transition_key"]


def transition_key(handoff_id: str, version: int, index: int) -> str:
    """The idempotency key of the ``index``-th command of the transition to ``version``.

    Deterministic: the version check makes a transition commit once, so its
    commands are queued once.
    """
    return f"{handoff_id}:{version}:{index}"


def queued_version(item: OutboxItem) -> int | None:
    """The version of the transition that queued ``item``; ``None`` for a row that
    no transition queued (a keyword answer, a review notice)."""
    parts = item.idempotency_key.rsplit(":", 2)
    if len(parts) != 3 or not (parts[1].isdigit() and parts[2].isdigit()):
        return None
    return int(parts[1])


def _queued_before(item: OutboxItem, handoff: Handoff, version: int | None) -> bool:
    """Whether ``item`` was queued by one of ``handoff``'s transitions before ``version``."""
    if version is None or item.handoff_id != handoff.id:
        return False
    queued = queued_version(item)
    return queued is not None and queued < version


def queued_before_close(item: OutboxItem, handoff: Handoff) -> bool:
    """Whether ``item`` was queued by a transition before the one that closed ``handoff``."""
    return _queued_before(item, handoff, handoff.closed_version)


def answered_before_sent(item: OutboxItem, handoff: Handoff) -> bool:
    """Whether ``item`` is a follow-up the customer replied to before it could leave.

    A reminder held by quiet hours until morning asks a question the customer
    may have answered in the night: sent after that, it reads as if nobody
    listened (and the reply already cancelled the timers it would restart).
    """
    command = item.command
    return (
        isinstance(command, SendMessage)
        and command.follow_up
        and _queued_before(item, handoff, handoff.replied_version)
    )
