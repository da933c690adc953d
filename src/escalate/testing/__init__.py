"""Test kit for users' own escalation workflows: a fake clock and in-memory doubles.

Also registered as a pytest plugin (entry point ``pytest11``), which provides the
``fake_clock`` fixture.
"""

from __future__ import annotations

from escalate.social._publisher import RecordingPublisher
from escalate.store.memory import MemoryStore
from escalate.testing._clock import FakeClock
from escalate.transports.memory import MemoryTransport

__all__ = ["FakeClock", "MemoryStore", "MemoryTransport", "RecordingPublisher"]
