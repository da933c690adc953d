"""A held public (or Meta private) reply that an operator settles tells its case.

Found by a review: ``esc.outbox.mark_sent`` and ``mark_failed`` only knew
private sends. On a public reply held after a crashed worker's lease, they
recorded ``message.sent``/``message.failed`` and fed the case nothing: marked
posted, the case stayed ``acknowledged`` for good and the SLA report never saw
its public response; marked failed, the helpdesk was never told the customer
had no answer (or was promised a private message that never came).
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalate import Escalator, HandoffState, Identity, Thread, Workflow
from escalate.store import OutboxItem
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import Notify, PostPublicReply
from tests.conftest import make_thread


def desk(clock: FakeClock, notes: list[Notify], **workflow: object) -> Escalator:
    return Escalator(
        "memory://",
        transports=[MemoryTransport()],
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme", **workflow),  # type: ignore[arg-type]
        notifier=lambda _, notify: notes.append(notify),
        dispatch_immediately=False,
    )


def held_replies(esc: Escalator, clock: FakeClock) -> list[OutboxItem]:
    """Claims every reply as a worker that then dies; the next run holds them."""
    claimed = esc.store.claim_outbox(clock.now(), worker="crashed", lease=timedelta(minutes=2))
    assert claimed
    assert all(isinstance(i.command, PostPublicReply) for i in claimed)
    clock.advance(minutes=3)
    esc.run_due()
    held = esc.outbox.held()
    assert len(held) == len(claimed)
    return held


def meta_comment(clock: FakeClock, platform: str) -> Thread:
    return Thread(
        platform=platform,
        thread_id="1790_2024",
        author=Identity.social(platform, "42", "jane_d"),
        text="my order never arrived",
        posted_at=clock.now(),
    )


def kinds(esc: Escalator, handoff_id: str) -> list[str]:
    return [event.kind for event in esc.history(handoff_id)]


def test_a_held_public_reply_marked_posted_moves_the_case_on(clock: FakeClock) -> None:
    notes: list[Notify] = []
    esc = desk(clock, notes)
    handoff = esc.open(make_thread(clock))
    (held,) = held_replies(esc, clock)
    esc.outbox.mark_sent(held.id, provider_message_id="1790000000000000001")
    assert esc.handoffs.get(handoff.id).state is HandoffState.AWAITING_CONTACT
    (posted,) = [e for e in esc.history(handoff.id) if e.kind == "public_reply.posted"]
    assert posted.data["post_id"] == "1790000000000000001"
    assert posted.data["reconciled"] is True
    assert "private" not in posted.data  # the SLA report counts it as the public response
    assert "message.sent" not in kinds(esc, handoff.id)
    assert notes == []


def test_a_held_public_reply_marked_failed_tells_the_helpdesk(clock: FakeClock) -> None:
    notes: list[Notify] = []
    esc = desk(clock, notes)
    handoff = esc.open(make_thread(clock))
    (held,) = held_replies(esc, clock)
    esc.outbox.mark_failed(held.id, reason="not on the thread")
    esc.run_due()  # the notice goes through the outbox
    assert [n.topic for n in notes] == ["public_reply_failed"]
    assert handoff.reference in notes[0].text
    assert "not on the thread" in notes[0].text
    assert "public_reply.failed" in kinds(esc, handoff.id)
    assert esc.handoffs.get(handoff.id).state is HandoffState.ACKNOWLEDGED


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_a_held_meta_private_reply_settles_as_the_private_one(
    clock: FakeClock, platform: str
) -> None:
    notes: list[Notify] = []
    esc = desk(clock, notes, meta_private_replies=True)
    handoff = esc.open(meta_comment(clock, platform))
    public, private = sorted(held_replies(esc, clock), key=lambda i: i.command.private)  # type: ignore[union-attr]
    esc.outbox.mark_sent(public.id)
    esc.outbox.mark_failed(private.id, reason="not in the page's inbox")
    esc.run_due()
    assert esc.handoffs.get(handoff.id).state is HandoffState.AWAITING_CONTACT
    failed = [e for e in esc.history(handoff.id) if e.kind == "public_reply.failed"]
    assert [e.data.get("private") for e in failed] == [True]
    assert [n.topic for n in notes] == ["private_reply_failed"]


@pytest.mark.parametrize(
    ("status", "state"), [("delivered", "awaiting_contact"), ("failed", "acknowledged")]
)
def test_a_callback_settles_a_held_public_reply_as_the_operator_would(
    clock: FakeClock, status: str, state: str
) -> None:
    """The platform's own word (its webhook saw our reply, or not) is evidence too."""
    notes: list[Notify] = []
    esc = desk(clock, notes)
    handoff = esc.open(make_thread(clock))
    (held,) = held_replies(esc, clock)
    esc.outbox.reconcile(held.id, status, provider_message_id="1790000000000000001")
    esc.run_due()
    assert esc.handoffs.get(handoff.id).state.value == state
    wanted = "public_reply.posted" if status == "delivered" else "public_reply.failed"
    assert wanted in kinds(esc, handoff.id)
    assert [n.topic for n in notes] == ([] if status == "delivered" else ["public_reply_failed"])
