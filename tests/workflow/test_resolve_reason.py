"""resolve() with a blank reason is refused and leaves the handoff as it was."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from escalate import HandoffState, InvalidInput
from escalate.testing import Scenario
from escalate.workflow import ResolveRequested

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
