"""Workflow definitions: declared steps, validated when defined, decided purely.

A ``Workflow`` is a list of ``Step``s: in these states, on this input, if this
guard holds, go to that state and issue these commands. ``decide`` picks the
first matching step and returns a ``Transition``; it reads no clock and does no
I/O, so a workflow is unit-tested with plain values.

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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from functools import lru_cache
from typing import Any

from escalate._exceptions import InvalidWorkflowDefinition, TransitionNotAllowed
from escalate._identity import Identity
from escalate._models import TERMINAL_STATES, Channel, Handoff, HandoffState
from escalate.consent._records import Purpose
from escalate.workflow._commands import (
    CancelTimer,
    Command,
    MoveTimer,
    PostPublicReply,
    SendMessage,
    StartTimer,
)
from escalate.workflow._inputs import (
    ALL_INPUTS,
    Opened,
    ReplyReceived,
    TimerFired,
    WorkflowInput,
    input_kind,
)
from escalate.workflow._messages import PrivateMessage
from escalate.workflow._table import render_table
from escalate.workflow._templates import PRIVATE_SUFFIXES, SmsTemplateCost, Templates
from escalate.workflow._terminal import check_closed_effects, check_terminal_steps

__all__ = ["ContactAddress", "Context", "Effects", "Step", "Transition", "Workflow", "effects"]


@dataclass(frozen=True)
class ContactAddress:
    """One private address of the handoff's contact, with its consent decision now."""

    identity: Identity
    channel: Channel
    allowed: bool
    reason: str


@dataclass(frozen=True)
class Context:
    """What a step may know besides the handoff and the input.

    ``addresses`` is filled by the engine only for steps declared with
    ``uses_addresses=True``: the contact's phone numbers and emails with the
    consent decision (for the transactional purpose) of each. ``messages``,
    only for steps declared with ``uses_messages=True``: the handoff's private
    messages, oldest first, with whether and when each left.
    """

    now: datetime
    templates: Templates = field(default_factory=lambda: Templates({"en": {}}))
    settings: Mapping[str, Any] = field(default_factory=dict)
    locale: str = "en"
    addresses: tuple[ContactAddress, ...] = ()
    messages: tuple[PrivateMessage, ...] = ()

    def render(self, template: str, **values: object) -> str:
        """Fill the named template, in this context's locale, with ``settings`` and ``values``."""
        return self.templates.render(template, self.locale, {**self.settings, **values})


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


LocalePolicy = Callable[[Handoff], str]


class Workflow:
    """A validated set of steps.

    Args:
        name: shown in reprs and errors.
        steps: the declared transitions; first match wins.
        templates: a ``Templates`` library, or a plain ``{name: text}`` (one locale).
        settings: values every template may use, and options the steps read.
            ``settings["locale"]`` is a locale code or a callable
            ``(handoff) -> locale``.
        initial: the state a new handoff starts in.
        required_templates: template names that must exist.

    Raises:
        InvalidWorkflowDefinition: a terminal initial state or one with no
            ``Opened`` step, an unreachable state, a non-terminal state with no way
            out or from which no terminal state can be reached, a step out of a
            terminal state (one in it may only stay there and notify), a missing
            template or unknown template variable, a timer with no (unguarded)
            exit, or a step that renders a private
            message without declaring its consent purpose. What an action returns shows only
            when it runs: ``decide`` refuses an undeclared ``SendMessage``
            (a literal body too) with the same error, before anything is written.
    """

    def __init__(
        self,
        name: str,
        steps: Iterable[Step],
        *,
        templates: Templates | Mapping[str, str] | None = None,
        settings: Mapping[str, Any] | None = None,
        initial: HandoffState = HandoffState.OPENED,
        required_templates: Iterable[str] = (),
    ) -> None:
        self.name = name
        self.steps: tuple[Step, ...] = tuple(steps)
        if isinstance(templates, Templates):
            self.templates = templates
        else:
            self.templates = Templates.single(dict(templates or {}))
        self.settings: dict[str, Any] = dict(settings or {})
        self.initial = initial
        self._index: dict[tuple[HandoffState, str], list[Step]] = {}
        for step in self.steps:
            for state in step.sources:
                self._index.setdefault((state, input_kind(step.on)), []).append(step)
        self.timers: frozenset[str] = frozenset(n for s in self.steps for n in s.starts)
        # (state, input kind, timer) of the steps reading ctx.messages: the engine
        # asks at every transition, so a set lookup rather than a walk of steps.
        self._with_messages = frozenset(
            (state, input_kind(step.on), step.timer)
            for step in self.steps
            if step.uses_messages
            for state in step.sources
        )
        try:
            self._validate(required_templates)
        except InvalidWorkflowDefinition as exc:
            raise InvalidWorkflowDefinition(f"workflow {self.name!r}: {exc}") from None

    # -- validation -------------------------------------------------------------

    def _validate(self, required_templates: Iterable[str]) -> None:
        used_templates = {t for step in self.steps for t in step.templates}
        self.templates.validate(self.settings, (*required_templates, *used_templates))
        self._validate_states()
        for step in self.steps:
            self._validate_step(step)
        self._validate_timers()

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

    # -- deciding ---------------------------------------------------------------

    def context(
        self,
        now: datetime,
        addresses: Iterable[ContactAddress] = (),
        messages: Iterable[PrivateMessage] = (),
    ) -> Context:
        """The decision context for ``now``, with this workflow's templates and settings."""
        return Context(
            now=now,
            templates=self.templates,
            settings=self.settings,
            locale=self.templates.default_locale,
            addresses=tuple(addresses),
            messages=tuple(messages),
        )

    def locale_for(self, handoff: Handoff) -> str:
        """The locale of ``handoff``'s messages, from ``settings["locale"]``."""
        policy = self.settings.get("locale")
        locale = policy(handoff) if callable(policy) else policy
        return self.templates.locale(locale if isinstance(locale, str) else "")

    def accepts(self, state: HandoffState, event: WorkflowInput) -> bool:
        """True when some step of ``state`` is declared for this input (a timer: by its name).

        Guards are not evaluated: a declared step may still refuse at ``decide``.
        """
        name = getattr(event, "name", None)
        return any(
            step.timer is None or step.timer == name
            for step in self._index.get((state, event.kind), ())
        )

    def wants_addresses(self, state: HandoffState, event: WorkflowInput) -> bool:
        """True when a step that may handle ``event`` in ``state`` reads ``ctx.addresses``."""
        return any(step.uses_addresses for step in self._index.get((state, event.kind), ()))

    def wants_messages(self, state: HandoffState, event: WorkflowInput) -> bool:
        """True when a step that may handle ``event`` in ``state`` reads ``ctx.messages``.

        A timer's steps are told apart by its name: only the timers whose steps
        read them (the default workflow's ``reminder``) cost the read.
        """
        if not self._with_messages:
            return False
        timer = event.name if isinstance(event, TimerFired) else None
        return (state, event.kind, timer) in self._with_messages

    def _step_for(self, handoff: Handoff, event: WorkflowInput, ctx: Context) -> Step:
        for step in self._index.get((handoff.state, event.kind), ()):
            if step.timer is not None and getattr(event, "name", None) != step.timer:
                continue
            if step.guard is None or step.guard(handoff, event, ctx):
                return step
        raise TransitionNotAllowed(handoff.state.value, event.kind)

    def decide(self, handoff: Handoff, event: WorkflowInput, ctx: Context) -> Transition:
        """Pick the step for ``(handoff.state, event)`` and compute its transition.

        Raises:
            TransitionNotAllowed: no step (or no step whose guard holds) matches.
            InvalidWorkflowDefinition: the step's action issued a command it did
                not declare (a send, a timer).
        """
        locale = self.locale_for(handoff)
        if locale != ctx.locale:  # usually the default it already has; replace() is not free
            ctx = replace(ctx, locale=locale)
        step = self._step_for(handoff, event, ctx)
        produced = step.action(handoff, event, ctx) if step.action else Effects()
        if not handoff.is_open:
            check_closed_effects(step, produced)
        self._check_commands(step, produced.commands, handoff.reference)
        target = step.target or handoff.state
        cancels = list(step.cancels)
        if target in TERMINAL_STATES and handoff.is_open:
            cancels = sorted(self.timers)  # a closed handoff keeps no timer
        commands = (*(_cancel(name) for name in cancels), *produced.commands)
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
        if isinstance(event, ReplyReceived):
            # The reply answers any follow-up still waiting to go (``follow_up``).
            updates["replied_version"] = handoff.version + 1
        if target in TERMINAL_STATES and handoff.is_open:
            updates["closed_at"] = ctx.now
            updates["close_reason"] = step.reason
            updates["closed_version"] = handoff.version + 1
        return Transition(
            handoff=handoff.model_copy(update=updates),
            previous=handoff.state,
            commands=commands,
            reason=step.reason,
        )

    def _check_commands(self, step: Step, commands: Iterable[Command], reference: str) -> None:
        for command in commands:
            text = command.body if isinstance(command, SendMessage) else None
            if isinstance(command, PostPublicReply):
                text = command.text
            if text is not None and reference not in text:
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

    # -- describing -------------------------------------------------------------

    def transition_table(self) -> str:
        """The workflow as markdown: its states, every input, and every step."""
        return render_table(self)

    def sms_report(self) -> list[SmsTemplateCost]:
        """Encoding and segment count of every SMS template, in every locale."""
        samples = {k: v for k, v in self.settings.items() if isinstance(v, str)}
        return self.templates.sms_report(samples)

    @classmethod
    def default(cls, **settings: Any) -> Workflow:
        """The standard path: public acknowledgement, contact, consent, private conversation.

        See ``escalate.workflow.default_workflow`` for the keyword settings
        (``brand``, ``business_hours``, ``double_opt_in``, timers, invitations...).
        """
        from escalate.workflow._default import default_workflow  # noqa: PLC0415 - cycle

        return default_workflow(**settings)

    def __repr__(self) -> str:
        return f"Workflow({self.name!r}, steps={len(self.steps)})"


@lru_cache(maxsize=256)
def _cancel(name: str) -> CancelTimer:
    """The (frozen) command cancelling timer ``name``: most transitions issue a few."""
    return CancelTimer(name=name)
