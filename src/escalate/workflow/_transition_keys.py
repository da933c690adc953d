"""The idempotency key of a command a transition queued, written and read in one place.

``transition_key`` names the ``index``-th command of the transition to a handoff
``version``; ``queued_version`` reads that version back off a row, which later
decisions compare with the handoff's (a follow-up queued before the customer's
reply, a message queued before the case closed).
"""

from __future__ import annotations

from escalate.store._protocol import OutboxItem

__all__ = ["queued_version", "transition_key"]


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
