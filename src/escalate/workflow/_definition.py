"""Workflow definitions: declared steps, validated when defined, decided purely.

A ``Workflow`` is a list of ``Step``s: in these states, on this input, if this
guard holds, go to that state and issue these commands. ``decide`` picks the
first matching step and returns a ``Transition``; it reads no clock and does no
I/O, so a workflow is unit-tested with plain values.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from escalate._exceptions import InvalidWorkflowDefinition, TransitionNotAllowed
from escalate._models import TERMINAL_STATES, Handoff, HandoffState
from escalate.workflow._commands import Command
from escalate.workflow._inputs import WorkflowInput

__all__ = ["Context", "Effects", "Step", "Transition", "Workflow", "effects"]


@dataclass(frozen=True)
class Context:
    """What a step may know besides the handoff and the input: the time, and settings."""

    now: datetime
    templates: Mapping[str, str] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)

    def render(self, template: str, **values: object) -> str:
        """Fill the named template with ``settings`` and ``values``."""
        return self.templates[template].format_map({**self.settings, **values})


@dataclass(frozen=True)
class Effects:
    """What a step's action produces: commands, and field updates for the handoff."""

    commands: tuple[Command, ...] = ()
    updates: Mapping[str, Any] = field(default_factory=dict)


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
    """

    source: HandoffState | tuple[HandoffState, ...]
    on: type[WorkflowInput]
    target: HandoffState | None
    reason: str
    action: Action | None = None
    guard: Guard | None = None

    @property
    def sources(self) -> tuple[HandoffState, ...]:
        return self.source if isinstance(self.source, tuple) else (self.source,)


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


def _input_kind(input_type: type[WorkflowInput]) -> str:
    return str(input_type.model_fields["kind"].default)


class Workflow:
    """A validated set of steps.

    Raises:
        InvalidWorkflowDefinition: a state no step reaches, a non-terminal state
            with no way out, or a template a step needs that is not defined.
    """

    def __init__(
        self,
        name: str,
        steps: Iterable[Step],
        *,
        templates: Mapping[str, str] | None = None,
        settings: Mapping[str, Any] | None = None,
        initial: HandoffState = HandoffState.OPENED,
        required_templates: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.steps: tuple[Step, ...] = tuple(steps)
        self.templates: dict[str, str] = dict(templates or {})
        self.settings: dict[str, Any] = dict(settings or {})
        self.initial = initial
        self._index: dict[tuple[HandoffState, str], list[Step]] = {}
        for step in self.steps:
            for state in step.sources:
                self._index.setdefault((state, _input_kind(step.on)), []).append(step)
        self._validate(required_templates)

    def _validate(self, required_templates: Iterable[str]) -> None:
        missing = sorted(set(required_templates) - set(self.templates))
        if missing:
            raise InvalidWorkflowDefinition(f"workflow {self.name!r}: missing templates {missing}")
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
            raise InvalidWorkflowDefinition(
                f"workflow {self.name!r}: unreachable states {[str(s) for s in unreachable]}"
            )
        for state in reachable - TERMINAL_STATES:
            if not any(
                state in step.sources and step.target not in (None, state) for step in self.steps
            ):
                raise InvalidWorkflowDefinition(
                    f"workflow {self.name!r}: state {state.value!r} has no way out"
                )

    def context(self, now: datetime) -> Context:
        """The decision context for ``now``, with this workflow's templates and settings."""
        return Context(now=now, templates=self.templates, settings=self.settings)

    def accepts(self, state: HandoffState, event: WorkflowInput) -> bool:
        """True when some step of ``state`` is declared for this kind of input."""
        return (state, event.kind) in self._index

    def decide(self, handoff: Handoff, event: WorkflowInput, ctx: Context) -> Transition:
        """Pick the step for ``(handoff.state, event)`` and compute its transition.

        Raises:
            TransitionNotAllowed: no step (or no step whose guard holds) matches.
        """
        for step in self._index.get((handoff.state, event.kind), ()):
            if step.guard is None or step.guard(handoff, event, ctx):
                break
        else:
            raise TransitionNotAllowed(handoff.state.value, event.kind)
        produced = step.action(handoff, event, ctx) if step.action else Effects()
        target = step.target or handoff.state
        updates: dict[str, Any] = {
            **produced.updates,
            "state": target,
            "version": handoff.version + 1,
            "updated_at": ctx.now,
        }
        if target is HandoffState.ACKNOWLEDGED and handoff.acknowledged_at is None:
            updates["acknowledged_at"] = ctx.now
        if target is HandoffState.CONNECTED and handoff.connected_at is None:
            updates["connected_at"] = ctx.now
        if target in TERMINAL_STATES and handoff.is_open:
            updates["closed_at"] = ctx.now
            updates["close_reason"] = step.reason
        return Transition(
            handoff=handoff.model_copy(update=updates),
            previous=handoff.state,
            commands=produced.commands,
            reason=step.reason,
        )

    def transition_table(self) -> str:
        """The steps as a markdown table: from, on, to, reason, commands."""
        lines = ["| from | on | to | reason |", "| --- | --- | --- | --- |"]
        for step in self.steps:
            for state in step.sources:
                target = step.target.value if step.target else f"{state.value} (stays)"
                lines.append(
                    f"| {state.value} | {_input_kind(step.on)} | {target} | {step.reason} |"
                )
        return "\n".join(lines)

    @classmethod
    def default(cls, **settings: Any) -> Workflow:
        """The standard path: public acknowledgement, contact, private conversation, resolution.

        Keyword settings fill the templates: ``brand``, ``contact_url``.
        """
        from escalate.workflow._default import default_workflow  # noqa: PLC0415 - cycle

        return default_workflow(**settings)

    def __repr__(self) -> str:
        return f"Workflow({self.name!r}, steps={len(self.steps)})"
