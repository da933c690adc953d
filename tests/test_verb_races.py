"""A caller's verb that meets a worker's commit to its case is decided again, not refused.

``contact_provided``, ``send_message`` and ``resolve`` read the case, decide and
write; a worker (another process on the same file) posting the public reply or
firing a timer in between used to make them raise ``ConcurrentUpdate``, so a
helpdesk integration lost the customer's details or the agent's "resolved"
unless it retried itself.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from escalate import Channel, ConcurrentUpdate, Escalator, Handoff, HandoffState, Identity, Workflow
from escalate.store import Changes, OutboxItem, SQLiteStore
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550142")


class Interleaved(SQLiteStore):
    """Runs ``before`` just before each commit of the input named ``kind`` (``times`` times)."""

    def __init__(self, path: Path) -> None:
        super().__init__(path)
        self.before: Callable[[], object] | None = None
        self.kind = ""
        self.times = 0

    def commit(self, changes: Changes) -> list[OutboxItem]:
        if (
            self.before is not None
            and self.times > 0
            and any(e.data.get("input") == self.kind for e in changes.events)
        ):
            self.times -= 1
            self.before()
        return super().commit(changes)


@pytest.fixture
def desks(tmp_path: Path, clock: FakeClock) -> Iterator[tuple[Escalator, Escalator, Interleaved]]:
    """A worker and a helpdesk integration, each with its own connection to one file."""
    path = tmp_path / "escalate.db"
    sms = MemoryTransport([Channel.SMS], name="memory")

    def desk(store: SQLiteStore) -> Escalator:
        return Escalator(
            store,
            transports=[sms],
            clock=clock,
            workflow=Workflow.default(brand="Acme"),
            dispatch_immediately=False,
        )

    store = Interleaved(path)
    worker, helpdesk = desk(SQLiteStore(path)), desk(store)
    yield worker, helpdesk, store
    worker.close()
    helpdesk.close()


def test_contact_details_racing_the_public_reply_are_taken(
    desks: tuple[Escalator, Escalator, Interleaved], clock: FakeClock
) -> None:
    worker, helpdesk, store = desks
    case = helpdesk.open(make_thread(clock))
    store.before, store.kind, store.times = worker.run_due, "contact_provided", 1

    handoff = helpdesk.contact_provided(case.id, PHONE, consent=WEB_FORM_CONSENT)

    kinds = [event.kind for event in helpdesk.history(case.id)]
    assert kinds.index("public_reply.posted") < kinds.index("consent.recorded")
    assert handoff.state is HandoffState.CONNECTED
    assert len(helpdesk.consent.records(PHONE)) == 1


def connected(worker: Escalator, helpdesk: Escalator, clock: FakeClock) -> str:
    case = helpdesk.open(make_thread(clock))
    helpdesk.contact_provided(case.id, PHONE, consent=WEB_FORM_CONSENT)
    worker.run_due()
    clock.advance(hours=30)  # the reminder is due: the worker's next run fires it
    return case.id


def test_a_resolve_racing_a_timer_resolves(
    desks: tuple[Escalator, Escalator, Interleaved], clock: FakeClock
) -> None:
    worker, helpdesk, store = desks
    case_id = connected(worker, helpdesk, clock)
    store.before, store.kind, store.times = worker.run_due, "resolve", 1

    assert helpdesk.resolve(case_id).state is HandoffState.RESOLVED


def test_an_agent_message_racing_a_timer_is_sent_once(
    desks: tuple[Escalator, Escalator, Interleaved], clock: FakeClock
) -> None:
    worker, helpdesk, store = desks
    case_id = connected(worker, helpdesk, clock)
    store.before, store.kind, store.times = worker.run_due, "agent_replied", 1

    helpdesk.send_message(case_id, "Your replacement ships today.")
    worker.run_due()

    kinds = [event.data.get("input") for event in helpdesk.history(case_id)]
    assert kinds.count("agent_replied") == 1
    bodies = [row.command for row in helpdesk.store.outbox(helpdesk.tenant)]
    assert sum("replacement ships" in getattr(command, "body", "") for command in bodies) == 1


def test_a_case_that_keeps_moving_is_refused_after_the_attempts(
    desks: tuple[Escalator, Escalator, Interleaved], clock: FakeClock
) -> None:
    """Bounded: a caller is told, with nothing written, rather than spinning for ever."""
    worker, helpdesk, store = desks
    case_id = connected(worker, helpdesk, clock)

    def another_commit() -> None:
        worker.store.commit(Changes(handoffs=(moved(worker.handoffs.get(case_id)),)))

    store.before, store.kind, store.times = another_commit, "resolve", 100
    with pytest.raises(ConcurrentUpdate):
        helpdesk.resolve(case_id)
    assert helpdesk.handoffs.get(case_id).state is not HandoffState.RESOLVED


def moved(handoff: Handoff) -> Handoff:
    """The handoff as another writer's commit leaves it: its next version, nothing else."""
    return handoff.model_copy(update={"version": handoff.version + 1})
