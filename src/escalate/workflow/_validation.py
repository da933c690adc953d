"""The ``Workflow``'s checks of what its steps declare.

A step declares what its action may do, so a definition is checked when it is
built (``InvalidWorkflowDefinition``), not at 2 a.m.:

- ``templates``: the templates it renders (each must exist in every locale, and
  use only known variables);
- ``sends``: the consent purpose its private messages rely on. A step that
  renders a private-message template (``.sms``/``.email``/``.subject``) must
  declare it; the engine checks consent for that purpose before every send,
  and ``decide`` refuses a ``SendMessage`` its step did not declare;
- ``starts`` / ``cancels``: the timers it may start, and the ones it always
  cancels; a ``TimerFired`` step names its ``timer``. Every timer must have a
  ``TimerFired`` step in every non-terminal state it can be pending in.

Private-message templates must use ``{reference}``. A text an action writes
itself (a literal ``SendMessage`` body, a ``PostPublicReply``) is checked when
``decide`` runs it: without the handoff's reference code it is refused, since
the customer and the agent could no longer tie the message to its case.

The checks at build time are ``_validate``; the check of what an action
returned is ``_check_commands``, which ``decide`` runs before anything is written.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cache
from typing import TYPE_CHECKING, Any

from pydantic import ConfigDict, TypeAdapter, ValidationError

from escalate._exceptions import InvalidWorkflowDefinition
from escalate._models import TERMINAL_STATES, Handoff, HandoffState
from escalate.workflow._commands import (
    CancelTimer,
    Command,
    MoveTimer,
    PostPublicReply,
    SendMessage,
    StartTimer,
)
from escalate.workflow._inputs import Opened, TimerFired, input_kind
from escalate.workflow._steps import Effects, Step
from escalate.workflow._templates import PRIVATE_SUFFIXES
from escalate.workflow._terminal import check_terminal_steps

if TYPE_CHECKING:
    from escalate.workflow._templates import Templates

__all__ = ["WorkflowValidation"]


class WorkflowValidation:
    """The ``Workflow``'s checks of its steps: when it is built, and of each action's commands."""

    if TYPE_CHECKING:  # provided by the Workflow
        steps: tuple[Step, ...]
        templates: Templates
        settings: dict[str, Any]
        initial: HandoffState
        timers: frozenset[str]

    def _validate(self, required_templates: Iterable[str]) -> None:
        used_templates = {t for step in self.steps for t in step.templates}
        self.templates.validate(self.settings, (*required_templates, *used_templates))
        self._validate_states()
        for step in self.steps:
            self._validate_step(step)
        self._validate_timers()
        _refuse_shadowed_steps(self.steps)

    def _validate_states(self) -> None:
        if self.initial in TERMINAL_STATES:
            raise InvalidWorkflowDefinition(f"the initial state {self.initial.value!r} is terminal")
        reachable = {self.initial}
        frontier = [self.initial]
        while frontier:
            state = frontier.pop()
            for step in self.steps:
                if state in step.sources and step.target and step.target not in reachable:
                    reachable.add(step.target)
                    frontier.append(step.target)
        used = {s for step in self.steps for s in step.sources} | {
            step.target for step in self.steps if step.target
        }
        unreachable = sorted(used - reachable)
        if unreachable:
            raise InvalidWorkflowDefinition(f"unreachable states {[str(s) for s in unreachable]}")
        if not any(self.initial in s.sources and s.on is Opened for s in self.steps):
            raise InvalidWorkflowDefinition(
                f"no step handles Opened in the initial state {self.initial.value!r}:"
                " the first input of every handoff would be refused"
            )
        check_terminal_steps(self.steps)
        for state in sorted(reachable - TERMINAL_STATES):
            if not any(
                state in step.sources and step.target not in (None, state) for step in self.steps
            ):
                raise InvalidWorkflowDefinition(f"state {state.value!r} has no way out")
            if not self._can_close_from(state):
                raise InvalidWorkflowDefinition(
                    f"no terminal state can be reached from {state.value!r}: a handoff"
                    " there could never close"
                )

    def _can_close_from(self, state: HandoffState) -> bool:
        seen = {state}
        frontier = [state]
        while frontier:
            current = frontier.pop()
            for step in self.steps:
                target = step.target
                if current not in step.sources or target is None or target in seen:
                    continue
                if target in TERMINAL_STATES:
                    return True
                seen.add(target)
                frontier.append(target)
        return False

    def _validate_step(self, step: Step) -> None:
        where = step.describe()
        if (step.on is TimerFired) != (step.timer is not None):
            raise InvalidWorkflowDefinition(
                f"{where}: a TimerFired step names its timer, and only such a step does"
            )
        if step.timer is not None and step.timer not in self.timers:
            raise InvalidWorkflowDefinition(f"{where}: timer {step.timer!r} is never started")
        unknown = sorted(set(step.cancels) - self.timers)
        if unknown:
            raise InvalidWorkflowDefinition(f"{where}: cancels timers never started {unknown}")
        private = [t for t in step.templates if t.endswith(PRIVATE_SUFFIXES)]
        if private and step.sends is None:
            raise InvalidWorkflowDefinition(
                f"{where}: renders private messages {private} but declares no consent"
                " purpose (sends=Purpose...)"
            )
        lands_in = {step.target} if step.target is not None else set(step.sources)
        if step.opt_in_request and (
            step.sends is None or lands_in != {HandoffState.AWAITING_CONSENT}
        ):
            raise InvalidWorkflowDefinition(
                f"{where}: an opt-in request step must declare sends= and go to awaiting_consent"
            )

    def _validate_timers(self) -> None:
        # A guarded step may refuse when the timer fires (input.ignored): only an
        # unguarded one is sure to handle it.
        handled = {
            (state, s.timer)
            for s in self.steps
            if s.timer and s.guard is None
            for state in s.sources
        }
        for name in sorted(self.timers):
            frontier = [
                step.target or state
                for step in self.steps
                if name in step.starts
                for state in step.sources
            ]
            pending: set[HandoffState] = set()
            while frontier:
                state = frontier.pop()
                if state in TERMINAL_STATES or state in pending:
                    continue
                pending.add(state)
                for step in self.steps:
                    if state in step.sources and name not in step.cancels and step.timer != name:
                        frontier.append(step.target or state)
            for state in sorted(pending):
                if (state, name) not in handled:
                    raise InvalidWorkflowDefinition(
                        f"timer {name!r} can be pending in state {state.value!r}, where no"
                        " step handles it (a timer with no exit)"
                    )

    def _check_effects(self, step: Step, produced: object, reference: str) -> Effects:
        """What an action returned, checked before anything is written."""
        if not isinstance(produced, Effects):
            raise InvalidWorkflowDefinition(
                f"{step.describe()} {step.reason!r}: its action returned"
                f" {type(produced).__name__}, not Effects (a missing `return effects(...)`?)"
            )
        if produced.updates:
            _check_updates(step, produced.updates)
        if produced.reason is not None and (
            not isinstance(produced.reason, str) or not produced.reason.strip()
        ):
            raise InvalidWorkflowDefinition(
                f"{step.describe()} {step.reason!r}: its action gave the reason"
                f" {produced.reason!r}; a reason is a non-empty string"
            )
        self._check_commands(step, produced.commands, reference)
        return produced

    def _check_commands(self, step: Step, commands: Iterable[Command], reference: str) -> None:
        for command in commands:
            if not isinstance(command, Command):
                raise InvalidWorkflowDefinition(
                    f"{step.describe()} {step.reason!r}: its action issued {command!r},"
                    " not a command (SendMessage, StartTimer, Notify...)"
                )
            texts = [command.body] if isinstance(command, SendMessage) else []
            if isinstance(command, PostPublicReply):
                texts = [command.text, command.later_text or command.text]
            if any(reference not in text for text in texts):
                # Templates are checked for {reference} when built; a literal
                # text only here. Without it, the thread cannot be followed.
                raise InvalidWorkflowDefinition(
                    f"{step.describe()}: a reply or private message without the"
                    " handoff's reference code"
                )
            if isinstance(command, SendMessage):
                if step.sends is None or command.purpose is not step.sends:
                    raise InvalidWorkflowDefinition(
                        f"{step.describe()}: sends for purpose {command.purpose.value!r} but"
                        f" declares sends={step.sends}"
                    )
                if command.opt_in_request and not step.opt_in_request:
                    raise InvalidWorkflowDefinition(f"{step.describe()}: undeclared opt-in request")
                if command.template and command.template not in step.templates:
                    raise InvalidWorkflowDefinition(
                        f"{step.describe()}: undeclared template {command.template!r}"
                    )
            elif isinstance(command, StartTimer | MoveTimer) and command.name not in step.starts:
                raise InvalidWorkflowDefinition(
                    f"{step.describe()}: undeclared timer {command.name!r}"
                )
            elif isinstance(command, CancelTimer) and command.name not in step.cancels:
                raise InvalidWorkflowDefinition(
                    f"{step.describe()}: undeclared timer cancel {command.name!r}"
                    " (declare it in cancels=, which cancels it every time)"
                )


#: The handoff's fields an action may set (``effects(address=...)``); the rest are
#: its identity, or bookkeeping that ``decide`` keeps (state, version, close).
ACTION_FIELDS = frozenset(
    {"contact_id", "channel", "address", "failed_channels", "acknowledged_at", "connected_at"}
)


@cache
def _field_adapter(name: str) -> TypeAdapter[Any]:
    annotation: Any = Handoff.model_fields[name].annotation
    # The refused value is often the customer's address: the error chained under
    # InvalidWorkflowDefinition must not quote it into a logged traceback.
    return TypeAdapter(annotation, config=ConfigDict(hide_input_in_errors=True))


def _check_updates(step: Step, updates: Mapping[str, Any]) -> None:
    # model_copy(update=...) validates nothing: a wrong name or type would be
    # written as is, and break the case at its next read.
    for name, value in updates.items():
        if name not in ACTION_FIELDS:
            raise InvalidWorkflowDefinition(
                f"{step.describe()} {step.reason!r}: an action may set only"
                f" {sorted(ACTION_FIELDS)} of the handoff, not {name!r}"
            )
        try:
            _field_adapter(name).validate_python(value, strict=True)
        except ValidationError as error:
            raise InvalidWorkflowDefinition(
                f"{step.describe()} {step.reason!r}: handoff field {name!r} cannot be set to"
                f" a {type(value).__name__}"
            ) from error


def _refuse_shadowed_steps(steps: Iterable[Step]) -> None:
    """A step behind an unguarded one for the same state, input and timer never runs.

    The first step that matches wins, so such a step is a mistake in the
    definition (usually a guard left off the one before it). A guard that always
    holds cannot be seen from here.
    """
    unguarded: dict[tuple[HandoffState, str, str | None], Step] = {}
    for step in steps:
        for state in step.sources:
            key = (state, input_kind(step.on), step.timer)
            first = unguarded.get(key)
            if first is not None:
                raise InvalidWorkflowDefinition(
                    f"{step.describe()} {step.reason!r} never runs in {state.value!r}: the"
                    f" unguarded step before it ({first.reason!r}) always matches first"
                )
            if step.guard is None:
                unguarded[key] = step
