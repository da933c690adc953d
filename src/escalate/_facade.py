"""What the ``Escalator``'s verb modules (``_intake.py``, ``_inbound.py``) use of it."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from escalate._clock import Clock
    from escalate._handoff_queries import HandoffQueries
    from escalate._models import Handoff
    from escalate.identity._book import ContactBook
    from escalate.store import OutboxItem, Store
    from escalate.workflow._definition import Workflow
    from escalate.workflow._engine import Engine

__all__ = ["EscalatorParts"]


class EscalatorParts:
    """The attributes and plumbing a verb mixin reads; ``Escalator`` provides them."""

    if TYPE_CHECKING:  # provided by Escalator
        store: Store
        clock: Clock
        tenant: str
        workflow: Workflow
        engine: Engine
        contacts: ContactBook
        handoffs: HandoffQueries
        dispatch_immediately: bool

        def _dispatch(self, handoff: Handoff, claimed: Sequence[OutboxItem]) -> Handoff: ...
