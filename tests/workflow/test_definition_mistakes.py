"""The slips a team makes writing its own workflow: refused with a clear typed error.

An acceptance review found a step's action never checked: a string passed as the
action, an action that forgot ``return``, or one returning a list of commands
escaped ``esc.open`` as TypeError or AttributeError. Steps with an empty reason,
and a step that can never run behind an unguarded one, were accepted silently.
"""

from __future__ import annotations

from typing import Any

import pytest

from escalate import (
    Channel,
    Handoff,
    HandoffState,
    Identity,
    InvalidWorkflowDefinition,
    Workflow,
)
from escalate.workflow import Notify, Opened, ResolveRequested, Step, effects
from tests.workflow.test_definition import NOW, build, handoff, templates

S = HandoffState


def _acknowledging(action: Any) -> Step:
    return Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack", action)


def _workflow(*steps: Step) -> Workflow:
    resolve = Step(S.ACKNOWLEDGED, ResolveRequested, S.RESOLVED, "resolved")
    return Workflow("t", [*steps, resolve], templates=templates(), settings={"brand": "A"})


def _decide(action: Any) -> Handoff:
    workflow = _workflow(_acknowledging(action))
    return workflow.decide(handoff(), Opened(), workflow.context(NOW)).handoff


@pytest.mark.parametrize("action", ["notcallable", 42])
def test_an_action_that_is_not_a_function_is_refused_when_the_step_is_made(action: Any) -> None:
    with pytest.raises(InvalidWorkflowDefinition, match="action= is a function"):
        _acknowledging(action)


def test_a_guard_that_is_not_a_function_is_refused() -> None:
    with pytest.raises(InvalidWorkflowDefinition, match="guard= is a function"):
        Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack", guard=True)  # type: ignore[arg-type]


def test_an_action_that_forgot_return_is_named() -> None:
    def forgot(handoff: Any, event: Any, ctx: Any) -> None:
        effects(Notify(topic="x", text=f"case {handoff.reference}"))

    with pytest.raises(InvalidWorkflowDefinition, match=r"returned NoneType.*missing `return"):
        _decide(forgot)


def test_an_action_returning_a_list_of_commands_is_named() -> None:
    def listed(handoff: Any, event: Any, ctx: Any) -> list[Notify]:
        return [Notify(topic="x", text="y")]

    with pytest.raises(InvalidWorkflowDefinition, match="returned list, not Effects"):
        _decide(listed)


def test_an_action_issuing_something_that_is_no_command_is_named() -> None:
    def odd(handoff: Any, event: Any, ctx: Any) -> Any:
        return effects("send the intro")  # type: ignore[arg-type]

    with pytest.raises(InvalidWorkflowDefinition, match="not a command"):
        _decide(odd)


@pytest.mark.parametrize(
    ("updates", "match"),
    [
        ({"state": S.RESOLVED}, "may set only"),
        ({"version": 9}, "may set only"),
        ({"adress": Identity.phone("+14155550100")}, "may set only"),
        ({"address": "+14155550100"}, "'address' cannot be set to a str"),
        ({"channel": "sms"}, "'channel' cannot be set to a str"),
        ({"failed_channels": [Channel.SMS]}, "'failed_channels' cannot be set to a list"),
    ],
)
def test_an_action_setting_a_handoff_field_it_may_not_or_with_a_wrong_type_is_refused(
    updates: dict[str, Any], match: str
) -> None:
    def setting(handoff: Any, event: Any, ctx: Any) -> Any:
        return effects(**updates)

    with pytest.raises(InvalidWorkflowDefinition, match=match):
        _decide(setting)


def test_an_action_setting_a_field_it_may_is_applied() -> None:
    phone = Identity.phone("+14155550100")

    def setting(handoff: Any, event: Any, ctx: Any) -> Any:
        return effects(address=phone, channel=Channel.SMS)

    moved = _decide(setting)
    assert (moved.address, moved.channel, moved.state) == (phone, Channel.SMS, S.ACKNOWLEDGED)


@pytest.mark.parametrize("reason", ["", "   "])
def test_a_step_without_a_reason_is_refused(reason: str) -> None:
    with pytest.raises(InvalidWorkflowDefinition, match="reason is a non-empty string"):
        Step(S.OPENED, Opened, S.ACKNOWLEDGED, reason)


def test_a_step_behind_an_unguarded_one_is_refused_as_never_running() -> None:
    with pytest.raises(InvalidWorkflowDefinition, match="'resolved again' never runs"):
        build(Step(S.ACKNOWLEDGED, ResolveRequested, S.RESOLVED, "resolved again"))


def test_a_step_behind_a_guarded_one_is_fine() -> None:
    def sometimes(handoff: Any, event: Any, ctx: Any) -> bool:
        """an odd version"""
        return bool(handoff.version % 2)

    guarded = Step(S.ACKNOWLEDGED, ResolveRequested, S.RESOLVED, "resolved early", guard=sometimes)
    assert len(_workflow(_acknowledging(None), guarded).steps) == 3


def test_the_default_workflow_has_no_step_that_never_runs() -> None:
    Workflow.default(brand="Acme", double_opt_in=True)
