"""The pytest plugin: fixtures for testing escalation workflows."""

from __future__ import annotations

import pytest

from escalate.testing._clock import FakeClock

__all__ = ["fake_clock"]


@pytest.fixture
def fake_clock() -> FakeClock:
    """A ``FakeClock`` at 2026-01-05 15:00 UTC."""
    return FakeClock()
