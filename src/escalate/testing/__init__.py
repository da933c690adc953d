"""Test kit for users' own escalation workflows.

- ``FakeClock``: time that moves only when the test says so.
- ``MemoryStore``, ``MemoryTransport`` (records sends; ``fail_next`` scripts
  failures), ``RecordingPublisher``: in-memory doubles.
- ``capture_events()``: the audit events written during a block; ``EVENT_KINDS``,
  the kinds escalate writes (``of_kind`` refuses any other, unless declared).
- ``Scenario``: drive one customer's handoff (post publicly, advance time, give a
  phone, text STOP) and assert what was sent.

Also registered as a pytest plugin (entry point ``pytest11``, name ``escalate``),
providing the ``fake_clock``, ``escalate_workflow`` and ``escalate_scenario``
fixtures. See ``docs/testing.md``.
"""

from __future__ import annotations

from escalate._event_kinds import EVENT_KINDS
from escalate.social._publisher import RecordingPublisher
from escalate.store.memory import MemoryStore
from escalate.testing._clock import FakeClock
from escalate.testing._events import CapturedEvents, capture_events
from escalate.testing._scenario import SCENARIO_START, WEB_FORM_CONSENT, Scenario
from escalate.transports.memory import MemoryTransport

__all__ = [
    "EVENT_KINDS",
    "SCENARIO_START",
    "WEB_FORM_CONSENT",
    "CapturedEvents",
    "FakeClock",
    "MemoryStore",
    "MemoryTransport",
    "RecordingPublisher",
    "Scenario",
    "capture_events",
]
