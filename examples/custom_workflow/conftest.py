"""Point escalate's pytest plugin at our workflow: every ``escalate_scenario`` drives it."""

from __future__ import annotations

from datetime import timedelta

import pytest

from custom_workflow.workflow import email_first_workflow
from escalate import Workflow


@pytest.fixture
def escalate_workflow() -> Workflow:
    """The workflow under test, with the durations we run in production."""
    return email_first_workflow(brand="Acme", sla=timedelta(minutes=30))
