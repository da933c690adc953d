"""Workflow definitions: declared steps, validated when defined, decided purely.

A ``Workflow`` is a list of ``Step``s: in these states, on this input, if this
guard holds, go to that state and issue these commands. ``decide`` picks the
first matching step and returns a ``Transition``; it reads no clock and does no
I/O, so a workflow is unit-tested with plain values.

A step declares what its action may do, so a definition is checked when it is
built (``InvalidWorkflowDefinition``), not at 2 a.m.; the checks, and what each
declaration allows, are in ``_validation.py``. The records (``Step``,
``Context``, ``Effects``, ``Transition``) are in ``_steps.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import replace
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from escalate._exceptions import InvalidWorkflowDefinition, TransitionNotAllowed
from escalate._models import TERMINAL_STATES, Handoff, HandoffState
from escalate.workflow._commands import CancelTimer
from escalate.workflow._inputs import ReplyReceived, TimerFired, WorkflowInput, input_kind
from escalate.workflow._messages import PrivateMessage
from escalate.workflow._steps import (
    ContactAddress,
    Context,
    Effects,
    Step,
    Transition,
    effects,
)
from escalate.workflow._table import render_table
from escalate.workflow._templates import SmsTemplateCost, Templates
from escalate.workflow._terminal import check_closed_effects
from escalate.workflow._validation import WorkflowValidation

if TYPE_CHECKING:
    from escalate.workflow._default import default_workflow

__all__ = ["ContactAddress", "Context", "Effects", "Step", "Transition", "Workflow", "effects"]


LocalePolicy = Callable[[Handoff], str]


class Workflow(WorkflowValidation):
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
        InvalidWorkflowDefinition: a blank name, a terminal initial state or one with no
            ``Opened`` step, an unreachable state, a non-terminal state with no way
            out or from which no terminal state can be reached, a step out of a
            terminal state (one in it may only stay there and notify), a missing
            template or unknown template variable, a
            timer with no (unguarded) exit, or a step that renders a private
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
        if not isinstance(name, str) or not name.strip():
            # Errors and reprs say which workflow by its name: a blank one says nothing.
            raise InvalidWorkflowDefinition("a workflow's name must be a non-blank string")
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
        read them (the default workflow's ``reminder``, and its ``abandon`` on a
        connected case) cost the read.
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
        if step.action is None:
            produced = Effects()
        else:
            # The action may render only what its step declares (and the
            # definition checked in every locale): ctx.render asks the step.
            produced = self._check_effects(
                step, step.action(handoff, event, ctx._for_step(step)), handoff.reference
            )
        if not handoff.is_open:
            check_closed_effects(step, produced)
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
            if event.message.sender == handoff.address:
                updates["address_replied_version"] = handoff.version + 1
        reason = produced.reason or step.reason
        if target in TERMINAL_STATES and handoff.is_open:
            updates["closed_at"] = ctx.now
            updates["close_reason"] = reason
            updates["closed_version"] = handoff.version + 1
        return Transition(
            handoff=handoff.model_copy(update=updates),
            previous=handoff.state,
            commands=commands,
            reason=reason,
        )

    # -- describing -------------------------------------------------------------

    def transition_table(self) -> str:
        """The workflow as markdown: its states, every input, and every step."""
        return render_table(self)

    def sms_report(self) -> list[SmsTemplateCost]:
        """Encoding and segment count of every SMS template, in every locale."""
        samples = {k: v for k, v in self.settings.items() if isinstance(v, str)}
        return self.templates.sms_report(samples)

    if TYPE_CHECKING:
        # Type checkers see default_workflow's own signature, so that a setting of
        # the wrong type (sla=60) is an error in the user's code, not only at run time.
        default = staticmethod(default_workflow)
    else:

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
