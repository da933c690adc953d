"""A row's result and the transition it causes commit together, or not at all.

Before, a posted public reply was settled in one commit and fed to the workflow in
the next: a crash in between left the row done and the handoff waiting forever
for a result it would never hear. These tests fail the second half on purpose.
"""

from __future__ import annotations

import pytest

from escalate import (
    Escalator,
    HandoffState,
    Identity,
    InvalidRecipient,
    PublishedReply,
    Thread,
    Workflow,
)
from escalate.store import Changes, MemoryStore, OutboxItem, OutboxStatus
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import PostPublicReply, SendMessage
from escalate.workflow._feeding import FEED_ATTEMPTS
from tests.conftest import WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550100")


class Recording(MemoryStore):
    """Records commits; once armed, fails the first that settles a row *and* moves a handoff."""

    def __init__(self) -> None:
        super().__init__()
        self.commits: list[Changes] = []
        self.armed = False

    def commit(self, changes: Changes) -> None:
        if self.armed and changes.outbox_updates and changes.handoffs:
            self.armed = False
            raise OSError("the process died here")
        super().commit(changes)
        self.commits.append(changes)


def _escalator(store: MemoryStore, clock: FakeClock, sms: MemoryTransport) -> Escalator:
    return Escalator(
        store,
        transports=[sms],
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
    )


def test_a_posted_reply_and_the_transition_it_causes_commit_together() -> None:
    clock, store, sms = FakeClock(), Recording(), MemoryTransport(name="memory")
    esc = _escalator(store, clock, sms)
    handoff = esc.open(make_thread(clock))
    store.commits.clear()
    esc.run_due()
    (settled,) = [c for c in store.commits if c.outbox_updates]
    assert settled.outbox_updates[0].status is OutboxStatus.DONE
    assert [h.state for h in settled.handoffs] == [HandoffState.AWAITING_CONTACT]
    kinds = [e.kind for e in esc.history(handoff.id)]
    # The result first, then the transition it caused.
    assert kinds[-2:] == ["public_reply.posted", "handoff.transition"]


def test_a_crash_between_result_and_transition_leaves_neither() -> None:
    """The row stays claimed (held after its lease, never posted twice); the handoff unmoved."""
    clock, store, sms = FakeClock(), Recording(), MemoryTransport(name="memory")
    esc = _escalator(store, clock, sms)
    handoff = esc.open(make_thread(clock))
    store.armed = True
    with pytest.raises(OSError, match="died"):
        esc.run_due()
    (row,) = store.outbox(esc.tenant)
    assert isinstance(row.command, PostPublicReply)
    assert row.status is OutboxStatus.CLAIMED
    assert esc.handoffs.get(handoff.id).state is HandoffState.ACKNOWLEDGED
    assert "public_reply.posted" not in [e.kind for e in esc.history(handoff.id)]
    clock.advance(minutes=3)
    assert esc.run_due().held == 1  # an operator reconciles it; nothing is posted twice


def test_a_failed_send_and_the_fallback_commit_together() -> None:
    clock, store, sms = FakeClock(), Recording(), MemoryTransport(name="memory")
    esc = _escalator(store, clock, sms)
    handoff = esc.open(make_thread(clock))
    esc.run_due()
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    sms.fail_next(InvalidRecipient("landline", code="21614"))
    store.commits.clear()
    report = esc.run_due()
    assert report.failed == 1
    # Then the helpdesk's notice of the failure, settled on its own.
    settled, notified = [c for c in store.commits if c.outbox_updates]
    assert settled.outbox_updates[0].status is OutboxStatus.FAILED
    assert notified.outbox_updates[0].status is OutboxStatus.DONE
    assert [h.state for h in settled.handoffs] == [HandoffState.FAILED]
    assert esc.handoffs.get(handoff.id).state is HandoffState.FAILED


def test_a_result_the_workflow_no_longer_wants_is_settled_and_recorded_as_ignored() -> None:
    """The handoff moved on (resolved) while the send was out: the row still settles."""
    clock, store, sms = FakeClock(), Recording(), MemoryTransport(name="memory")
    esc = _escalator(store, clock, sms)
    handoff = esc.open(make_thread(clock))
    esc.run_due()
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)

    def resolve_then_fail(message: object) -> None:
        esc.resolve(handoff.id)
        raise InvalidRecipient("landline", code="21614")

    sms.send = resolve_then_fail  # type: ignore[method-assign]
    assert esc.run_due().failed == 1
    (row,) = [i for i in store.outbox(esc.tenant) if isinstance(i.command, SendMessage)]
    assert row.status is OutboxStatus.FAILED
    kinds = [e.kind for e in esc.history(handoff.id)]
    assert kinds[-2:] == ["message.failed", "input.ignored"]
    assert esc.handoffs.get(handoff.id).state is HandoffState.RESOLVED


def test_a_reply_whose_lease_was_taken_over_mid_post_writes_nothing() -> None:
    """The new owner holds the row; the slow worker's result and transition are both dropped."""
    clock, store, sms = FakeClock(), Recording(), MemoryTransport(name="memory")
    esc = _escalator(store, clock, sms)
    rival = _escalator(store, clock, sms)
    handoff = esc.open(make_thread(clock))

    class SlowPublisher(RecordingPublisher):
        def reply(self, thread: Thread, text: str) -> PublishedReply:
            clock.advance(minutes=3)  # the lease (2 minutes) runs out mid-post
            assert rival.run_due().held == 1
            return super().reply(thread, text)

    esc.engine.publisher = SlowPublisher()
    report = esc.run_due()
    assert report.posted == 0
    (row,) = store.outbox(esc.tenant)
    assert row.status is OutboxStatus.HELD
    kinds = [e.kind for e in esc.history(handoff.id)]
    assert "public_reply.held" in kinds
    assert "public_reply.posted" not in kinds
    assert esc.handoffs.get(handoff.id).state is HandoffState.ACKNOWLEDGED


class Contended(MemoryStore):
    """Another worker moves the handoff just before each of our next ``conflicts`` settlements."""

    def __init__(self, conflicts: int) -> None:
        super().__init__()
        self.conflicts = conflicts

    def commit(self, changes: Changes) -> list[OutboxItem]:
        if self.conflicts and changes.outbox_updates and changes.handoffs:
            self.conflicts -= 1
            (ours,) = changes.handoffs
            stored = self.get_handoff(ours.tenant, ours.id)
            assert stored is not None
            super().commit(Changes(handoffs=(stored.model_copy(update={"version": ours.version}),)))
        return super().commit(changes)


@pytest.mark.parametrize("conflicts", [4, 9])
def test_a_result_outlasts_a_burst_of_commits_to_its_handoff(conflicts: int) -> None:
    """Other workers commit to the case between our read and our write, again and again.

    ``feed`` gave up after four conflicts (its caller's copy, then three reads) and
    settled the row alone: the posted
    reply's result never reached the workflow, which waited in ``acknowledged``
    for a reply it had posted.
    """
    clock, store = FakeClock(), Contended(conflicts)
    esc = _escalator(store, clock, MemoryTransport(name="memory"))
    handoff = esc.open(make_thread(clock))
    esc.run_due()
    assert store.conflicts == 0
    assert esc.handoffs.get(handoff.id).state is HandoffState.AWAITING_CONTACT
    (row,) = store.outbox(esc.tenant)
    assert row.status is OutboxStatus.DONE


def test_a_result_given_up_on_is_still_settled(caplog: pytest.LogCaptureFixture) -> None:
    """Past ``FEED_ATTEMPTS`` the input is left (warned), but the row's outcome is kept."""
    clock, store = FakeClock(), Contended(50)
    esc = _escalator(store, clock, MemoryTransport(name="memory"))
    handoff = esc.open(make_thread(clock))
    esc.run_due()
    # The caller's copy of the handoff, then FEED_ATTEMPTS reads of the stored one.
    assert store.conflicts == 50 - 1 - FEED_ATTEMPTS
    (row,) = store.outbox(esc.tenant)
    assert row.status is OutboxStatus.DONE  # posted once; never posted again
    assert esc.handoffs.get(handoff.id).state is HandoffState.ACKNOWLEDGED
    assert "kept changing" in caplog.text
