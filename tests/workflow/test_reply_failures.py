"""A public reply (or Meta private reply) that fails for good reaches the helpdesk at once.

Before, the failure was only an audit event: the customer had no answer (or had
been told to expect a private message that never came), and nobody heard of it
until the abandonment timer, days later.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from tenacity import stop_after_attempt

from escalate import (
    Escalator,
    HandoffState,
    Identity,
    PermanentTransportError,
    PublishedReply,
    RetryableTransportError,
    RetryPolicy,
    Thread,
    Workflow,
)
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import Notify
from tests.conftest import make_thread


class Refusing:
    """A publisher whose public replies fail with ``error``; private ones are posted."""

    def __init__(self, error: Exception) -> None:
        self.error = error

    def reply(self, thread: Thread, text: str) -> PublishedReply:
        raise self.error

    def private_reply(self, thread: Thread, text: str) -> PublishedReply:
        return PublishedReply(
            platform=thread.platform, thread_id=thread.thread_id, post_id="pm1", text=text
        )


def desk(publisher: object, clock: FakeClock, notes: list[Notify], **workflow: object) -> Escalator:
    return Escalator(
        "memory://",
        transports=[MemoryTransport()],
        clock=clock,
        publisher=publisher,  # type: ignore[arg-type]
        workflow=Workflow.default(brand="Acme", **workflow),  # type: ignore[arg-type]
        notifier=lambda _, notify: notes.append(notify),
        retry=RetryPolicy(stop=stop_after_attempt(2)),
    )


def test_a_refused_public_reply_tells_the_helpdesk(clock: FakeClock) -> None:
    notes: list[Notify] = []
    esc = desk(Refusing(PermanentTransportError("403 forbidden", provider="x")), clock, notes)
    handoff = esc.open(make_thread(clock))
    assert [n.topic for n in notes] == ["public_reply_failed"]
    assert handoff.reference in notes[0].text
    assert "PermanentTransportError" in notes[0].text
    assert esc.handoffs.get(handoff.id).state is HandoffState.ACKNOWLEDGED


def test_a_public_reply_that_runs_out_of_retries_tells_the_helpdesk(clock: FakeClock) -> None:
    notes: list[Notify] = []
    esc = desk(Refusing(RetryableTransportError("503", provider="x")), clock, notes)
    handoff = esc.open(make_thread(clock))
    for _ in range(5):
        clock.advance(minutes=10)
        esc.run_due()
    failed = [n for n in notes if n.topic != "sla_at_risk"]
    assert [n.topic for n in failed] == ["public_reply_failed"]
    assert "retries_exhausted" in failed[0].text
    assert esc.handoffs.get(handoff.id).is_open


@pytest.mark.parametrize("late", [False, True])
def test_a_private_reply_that_cannot_go_tells_the_helpdesk(clock: FakeClock, late: bool) -> None:
    """The public reply says a private message is on its way: the helpdesk must know it is not."""
    notes: list[Notify] = []
    comment = Thread(
        platform="instagram",
        thread_id="c9",
        author=Identity.social("instagram", "77"),
        text="my order!",
        posted_at=clock.now() - timedelta(days=8 if late else 0),
    )

    class PublicOnly:
        def reply(self, thread: Thread, text: str) -> PublishedReply:
            return PublishedReply(
                platform=thread.platform, thread_id=thread.thread_id, post_id="p1", text=text
            )

    esc = desk(PublicOnly(), clock, notes, meta_private_replies=True)
    handoff = esc.open(comment)
    topics = [n.topic for n in notes]
    if late:  # past Meta's 7 days nothing private is promised, so nothing fails
        assert topics == []
    else:
        assert topics == ["private_reply_failed"]
        assert "no_private_reply" in notes[0].text
    assert esc.handoffs.get(handoff.id).is_open
