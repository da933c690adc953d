"""Fixtures for workflow tests: an escalator factory taking default-workflow settings."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from escalate import Escalator, Handoff, Workflow
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import Notify

MakeEsc = Callable[..., Escalator]


@pytest.fixture
def notes() -> list[Notify]:
    return []


@pytest.fixture
def make_esc(
    store: Store,
    clock: FakeClock,
    sms: MemoryTransport,
    publisher: RecordingPublisher,
    notes: list[Notify],
) -> MakeEsc:
    """An Escalator on the parametrized store with ``Workflow.default(**settings)``."""

    def notifier(_: Handoff, notify: Notify) -> None:
        notes.append(notify)

    def make(**settings: Any) -> Escalator:
        return Escalator(
            store,
            transports=[sms],
            clock=clock,
            publisher=publisher,
            notifier=notifier,
            workflow=Workflow.default(**{"brand": "Acme", **settings}),
        )

    return make


@pytest.fixture
def queuing(
    store: Store, clock: FakeClock, sms: MemoryTransport, publisher: RecordingPublisher
) -> Iterator[tuple[Escalator, list[Notify]]]:
    """An escalator whose verbs only queue: every message waits for the scheduler's run_due()."""
    notes: list[Notify] = []

    def notifier(_: Handoff, notify: Notify) -> None:
        notes.append(notify)

    esc = Escalator(
        store,
        transports=[sms],
        clock=clock,
        publisher=publisher,
        notifier=notifier,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
    )
    yield esc, notes
    esc.close()
