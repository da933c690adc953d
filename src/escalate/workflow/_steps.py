"""The records a workflow is made of and decides with.

A ``Step`` declares one transition (see ``_definition.py`` for the ``Workflow``
that validates and decides a list of them); its action reads a ``Context`` and
returns ``Effects``; ``decide`` returns a ``Transition``. ``ContactAddress`` is
what the engine tells a step about the contact's private addresses.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from escalate._exceptions import InvalidWorkflowDefinition, UndeclaredTemplate
from escalate._identity import Identity
from escalate._models import Channel, Handoff, HandoffState
from escalate.consent._records import Purpose
from escalate.workflow._commands import Command
from escalate.workflow._inputs import ALL_INPUTS, WorkflowInput, input_kind
from escalate.workflow._messages import PrivateMessage
from escalate.workflow._templates import Templates

__all__ = [
    "Action",
    "ContactAddress",
    "Context",
    "Effects",
    "Guard",
    "Step",
    "Transition",
    "effects",
]


@dataclass(frozen=True)
class ContactAddress:
    """One private address of the handoff's contact, with its consent decision now.

    ``confirmed``: the address granted the transactional purpose itself, by text
    (a YES or START from the number since its last opt-out), as double opt-in asks.
    """

    identity: Identity
    channel: Channel
    allowed: bool
    reason: str
    confirmed: bool = False


@dataclass(frozen=True)
class Context:
    """What a step may know besides the handoff and the input.

    ``addresses`` is filled by the engine only for steps declared with
    ``uses_addresses=True``: the contact's phone numbers and emails with the
    consent decision (for the transactional purpose) of each. ``messages``,
    only for steps declared with ``uses_messages=True``: the handoff's private
    messages, oldest first, with whether and when each left. ``step``: the step
    whose action is running (``decide`` sets it), which may render only the
    templates it declares.
    """

    now: datetime
    templates: Templates = field(default_factory=lambda: Templates({"en": {}}))
    settings: Mapping[str, Any] = field(default_factory=dict)
    locale: str = "en"
    addresses: tuple[ContactAddress, ...] = ()
    messages: tuple[PrivateMessage, ...] = ()
    step: Step | None = None

    def _for_step(self, step: Step) -> Context:
        """This context for ``step``'s action (``decide`` calls it once per decided step).

        ``replace(self, step=step)`` would do, at ~3 us a call against ~0.5 us:
        the copy is made on every transition, and a frozen dataclass without
        slots is its ``__dict__``, so copying that is the same object.
        """
        for_step = object.__new__(Context)
        for_step.__dict__.update(self.__dict__)
        for_step.__dict__["step"] = step
        return for_step

    def render(self, template: str, **values: object) -> str:
        """Fill the named template, in this context's locale, with ``settings`` and ``values``.

        Raises:
            UndeclaredTemplate: the running step does not declare ``template`` in
                ``templates=``: the definition never checked it, in any locale.
            InvalidWorkflowDefinition: no such template, a variable it uses has no
                value, or a value it neither declares nor uses (``refrence=``).
        """
        step = self.step
        if step is not None and template not in step.templates:
            raise UndeclaredTemplate(template, f"{step.describe()} {step.reason!r}")
        if values:
            self.templates.check_values(template, values)
        return self.templates.render(template, self.locale, {**self.settings, **values})


@dataclass(frozen=True)
class Effects:
    """What a step's action produces: commands, and field updates for the handoff.

    ``reason``, when given, is this transition's reason instead of the step's:
    for a reason only the input knows (an agent's "duplicate of K7QP-3M").
    """

    commands: tuple[Command, ...] = ()
    updates: Mapping[str, Any] = field(default_factory=dict)
    reason: str | None = None


def effects(*commands: Command, **updates: Any) -> Effects:
    """``effects(SendMessage(...), address=identity)``: shorthand for ``Effects``."""
    return Effects(commands=commands, updates=updates)


Action = Callable[[Handoff, Any, Context], Effects]
Guard = Callable[[Handoff, Any, Context], bool]


@dataclass(frozen=True)
class Step:
    """One declared transition.

    Args:
        source: the state(s) it applies in.
        on: the input type that triggers it.
        target: the state it moves to; ``None`` stays in the current state.
        reason: recorded with the transition in the audit log.
        action: builds commands and handoff updates; pure.
        guard: the step applies only when this returns True; first match wins.
            Its docstring's first line names it in the transition table.
        timer: for ``on=TimerFired``: the timer this step handles (required).
        starts: timers the action may start (or move, with ``MoveTimer``).
        cancels: timers this step always cancels (``decide`` issues the commands).
        sends: the consent purpose the action's private messages rely on.
        opt_in_request: the action sends the double opt-in request, the one
            message allowed before a grant (target must be ``awaiting_consent``).
        templates: templates the action renders.
        uses_addresses: the action reads ``ctx.addresses`` (the engine loads them).
        uses_messages: the action or guard reads ``ctx.messages`` (the engine loads them).
    """

    source: HandoffState | tuple[HandoffState, ...]
    on: type[WorkflowInput]
    target: HandoffState | None
    reason: str
    action: Action | None = None
    guard: Guard | None = None
    timer: str | None = None
    starts: tuple[str, ...] = ()
    cancels: tuple[str, ...] = ()
    sends: Purpose | None = None
    opt_in_request: bool = False
    templates: tuple[str, ...] = ()
    uses_addresses: bool = False
    uses_messages: bool = False

    def __post_init__(self) -> None:
        # Checked here, so a malformed step is the same typed error as any other
        # broken definition, not a TypeError from deep inside validation.
        sources = self.source if isinstance(self.source, tuple) else (self.source,)
        if not sources or not all(isinstance(s, HandoffState) for s in sources):
            raise InvalidWorkflowDefinition(
                f"a step's source is a HandoffState or a tuple of them, not {self.source!r}"
            )
        if self.on not in ALL_INPUTS:
            raise InvalidWorkflowDefinition(
                f"a step's on= is one of the workflow input types, not {self.on!r}"
            )
        if self.target is not None and not isinstance(self.target, HandoffState):
            raise InvalidWorkflowDefinition(
                f"a step's target is a HandoffState or None, not {self.target!r}"
            )
        for name in ("starts", "cancels", "templates"):
            value = getattr(self, name)
            if not isinstance(value, tuple) or not all(isinstance(v, str) for v in value):
                raise InvalidWorkflowDefinition(f"a step's {name}= is a tuple of names")
        if not isinstance(self.reason, str) or not self.reason.strip():
            # The reason is what the audit log says of the transition, and its close
            # reason: an empty one leaves an agent nothing to read.
            raise InvalidWorkflowDefinition(
                f"{self.describe()}: a step's reason is a non-empty string, not {self.reason!r}"
            )
        for name in ("action", "guard"):
            value = getattr(self, name)
            if value is not None and not callable(value):
                raise InvalidWorkflowDefinition(
                    f"{self.describe()} {self.reason!r}: {name}= is a function"
                    f" (handoff, input, ctx), not {value!r}"
                )

    @property
    def sources(self) -> tuple[HandoffState, ...]:
        return self.source if isinstance(self.source, tuple) else (self.source,)

    def describe(self) -> str:
        return f"{'/'.join(s.value for s in self.sources)} --{input_kind(self.on)}-->"


@dataclass(frozen=True)
class Transition:
    """The outcome of ``decide``: the handoff's next value and the commands to run."""

    handoff: Handoff
    previous: HandoffState
    commands: tuple[Command, ...]
    reason: str

    @property
    def state(self) -> HandoffState:
        return self.handoff.state
