"""``handoff_event``: the audit event of a handoff, or of an outbox row tied to none.

Shared by the engine's transitions and settlements and by the verbs that record
events beside them (opening, intake, inbound routing, held sends), so every
audit event carries its handoff and contact the same way.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from escalate._ids import new_id
from escalate._models import Event, Handoff
from escalate.store._protocol import OutboxItem

__all__ = ["handoff_event"]


def handoff_event(
    handoff: Handoff | OutboxItem, kind: str, at: datetime, actor: str = "system", **data: Any
) -> Event:
    """An audit event of ``kind`` for ``handoff`` (its id and contact), at ``at``, by ``actor``."""
    if isinstance(handoff, OutboxItem):  # a row tied to no handoff (a keyword answer)
        return Event(
            id=new_id("ev"), tenant=handoff.tenant, kind=kind, at=at, actor=actor, data=data
        )
    return Event(
        id=new_id("ev"),
        tenant=handoff.tenant,
        kind=kind,
        at=at,
        handoff_id=handoff.id,
        contact_id=handoff.contact_id,
        actor=actor,
        data=data,
    )
