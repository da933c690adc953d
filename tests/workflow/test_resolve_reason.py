"""resolve() with a blank reason is refused and leaves the handoff as it was."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalate import Handoff, HandoffState, InvalidInput, InvalidWorkflowDefinition
from escalate import HandoffState as S
from escalate.testing import Scenario
from escalate.workflow import Context, Effects, Opened, ResolveRequested, Step, Workflow

BLANK = st.text(alphabet=" \t\n\r\u00a0\u2003", max_size=5)


@settings(max_examples=25, deadline=None)
@given(reason=BLANK)
def test_a_blank_reason_is_refused_and_changes_nothing(reason: str) -> None:
    """resolve(id, reason="") raises InvalidInput; the case stays open, no event is added."""
    scenario = Scenario()
    scenario.post_publicly("my order is late")
    before = scenario.state, len(scenario.history)
    with pytest.raises(InvalidInput, match="reason must not be blank"):
        scenario.esc.resolve(scenario.handoff.id, reason=reason)
    assert (scenario.state, len(scenario.history)) == before
    assert before[0] is not HandoffState.RESOLVED


@pytest.mark.parametrize("reason", [None, 0, b"done"])
def test_a_reason_that_is_not_a_string_is_refused(reason: Any) -> None:
    """A reason of another type is InvalidInput too."""
    with pytest.raises(InvalidInput):
        ResolveRequested(reason=reason)


def test_a_reason_given_or_omitted_still_resolves() -> None:
    """The default and a real reason close the case as before."""
    assert ResolveRequested().reason == "resolved"
    scenario = Scenario()
    scenario.post_publicly("my order is late")
    assert (
        scenario.esc.resolve(scenario.handoff.id, reason="duplicate").state is HandoffState.RESOLVED
    )


@settings(max_examples=25, deadline=None)
@given(reason=st.text(min_size=1, max_size=40).filter(str.strip))
def test_the_agents_reason_is_the_audits_and_the_cases(reason: str) -> None:
    """resolve(id, reason=...) is what the transition event and close_reason say.

    The default workflow recorded its step's "resolved" whatever the agent gave,
    so "duplicate of K7QP-3M" was in no record.
    """
    scenario = Scenario()
    scenario.post_publicly("my order is late")
    closed = scenario.esc.resolve(scenario.handoff.id, reason=reason)
    assert closed.state is HandoffState.RESOLVED
    assert closed.close_reason == reason
    assert scenario.esc.history(closed.id)[-1].data["reason"] == reason


def test_an_action_reason_must_be_text() -> None:
    """An action's Effects(reason=...) is checked like a step's reason; nothing is written."""
    flow = Workflow(
        "t",
        [
            Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack"),
            Step(S.ACKNOWLEDGED, ResolveRequested, S.RESOLVED, "resolved", _blank_reason),
        ],
    )
    scenario = Scenario(workflow=flow)
    scenario.post_publicly("my order is late")
    with pytest.raises(InvalidWorkflowDefinition, match="non-empty string"):
        scenario.esc.resolve(scenario.handoff.id, reason="done")
    assert scenario.state is S.ACKNOWLEDGED


def _blank_reason(handoff: Handoff, event: ResolveRequested, ctx: Context) -> Effects:
    return Effects(reason=" ")
