"""``Settles``: the engine's ``_settle``, declared once for the mixins that call it.

The ``Engine``'s ``Feeding`` mixin (``_feeding.py``) defines ``_settle``; its
other mixins (dispatching, the send path and its outcomes) call it. Declaring
it here, for the type checker only, keeps one copy of its signature beside the
real one.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from escalate._models import Handoff
    from escalate.consent._records import ConsentRecord
    from escalate.store._protocol import OutboxItem, OutboxStatus
    from escalate.workflow._inputs import WorkflowInput
    from escalate.workflow._report import DispatchReport

__all__ = ["Settles"]


class Settles:
    """A mixin of the ``Engine`` that settles outbox rows through ``Engine._settle``."""

    if TYPE_CHECKING:

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
        ) -> bool: ...
