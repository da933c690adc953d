"""A workflow is named: a blank or non-string name is a definition error."""

from __future__ import annotations

from typing import Any

import pytest

from escalate import HandoffState, InvalidWorkflowDefinition, Workflow
from escalate.workflow import Opened, ResolveRequested, Step
from tests.workflow.test_definition import templates

S = HandoffState
STEPS = [
    Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack"),
    Step(S.ACKNOWLEDGED, ResolveRequested, S.RESOLVED, "resolved"),
]


@pytest.mark.parametrize("name", ["", "   ", "\t\n", None, 42])
def test_a_blank_or_non_string_name_is_refused(name: Any) -> None:
    """Workflow("") (or blank, or not a str) raises InvalidWorkflowDefinition."""
    with pytest.raises(InvalidWorkflowDefinition, match="name must be a non-blank string"):
        Workflow(name, STEPS, templates=templates(), settings={"brand": "A"})


def test_a_named_workflow_is_built() -> None:
    """The same steps under a real name make a workflow."""
    assert (
        Workflow("support", STEPS, templates=templates(), settings={"brand": "A"}).name == "support"
    )
