"""What a step may do in a terminal state: stay there, and tell the helpdesk.

A closed handoff stays closed (``closed_at`` and friends would lie otherwise),
texts no one and keeps no timer. But news about it can still arrive: a carrier
reports the agent's last text undelivered minutes after the agent resolved the
case. A step in a terminal state may hear it and notify the helpdesk
(``Notify``), and do nothing else: ``check_terminal_steps`` refuses any other
declaration when the workflow is built, and ``check_closed_effects`` any other
command (or a field update) when ``decide`` runs it.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from escalate._exceptions import InvalidWorkflowDefinition
from escalate._models import TERMINAL_STATES
from escalate.workflow._commands import Notify

if TYPE_CHECKING:
    from escalate.workflow._steps import Effects, Step

__all__ = ["check_closed_effects", "check_terminal_steps"]


def check_terminal_steps(steps: Iterable[Step]) -> None:
    """Refuse a step that would move, text or time a closed handoff.

    Raises:
        InvalidWorkflowDefinition: a step out of a terminal state (one with a
            target), or one in it declaring sends, an opt-in request, or timers.
    """
    steps = tuple(steps)
    leaving = sorted(
        {s for step in steps if step.target is not None for s in step.sources} & TERMINAL_STATES
    )
    if leaving:
        raise InvalidWorkflowDefinition(
            f"steps out of terminal states {[s.value for s in leaving]}: a closed"
            " handoff stays closed (open a new one for a new complaint)"
        )
    for step in steps:
        if not TERMINAL_STATES.intersection(step.sources):
            continue
        if step.sends is not None or step.opt_in_request or step.starts or step.cancels:
            raise InvalidWorkflowDefinition(
                f"{step.describe()}: a step in a terminal state may only notify the"
                " helpdesk (no sends=, starts= or cancels=): a closed handoff texts no"
                " one and keeps no timer"
            )


def check_closed_effects(step: Step, produced: Effects) -> None:
    """Refuse what a step's action returned for a closed handoff, unless it only notifies.

    Raises:
        InvalidWorkflowDefinition: a command other than ``Notify``, or a field update.
    """
    other: list[str] = [c.kind for c in produced.commands if not isinstance(c, Notify)]
    if other or produced.updates:
        what = other or sorted(produced.updates)
        raise InvalidWorkflowDefinition(
            f"{step.describe()}: on a closed handoff a step only notifies, not {what}"
        )
