"""A public (or Meta private) reply whose outcome is unknown is held, not failed.

Found by a review: ``UnknownOutcomeError`` says "hold it for reconciliation",
and a send is held; but a publisher's timeout after the request left failed the
reply for good, and the helpdesk was told it "could not be posted ... reply in
the thread yourself" about a reply that may well be on the thread: a second
public answer, or a second private message Meta would refuse.
"""

from __future__ import annotations

from datetime import timedelta

import pytest

from escalate import (
    Escalator,
    HandoffState,
    Identity,
    PublishedReply,
    Thread,
    UnknownOutcomeError,
    Workflow,
)
from escalate.store import OutboxStatus
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import Notify
from tests.conftest import make_thread


class TimesOut:
    """A publisher whose ``private`` (or public) replies time out after the request left."""

    def __init__(self, *, private: bool) -> None:
        self.private = private
        self.calls = 0

    def _post(self, thread: Thread, text: str, private: bool) -> PublishedReply:
        if private is self.private:
            self.calls += 1
            raise UnknownOutcomeError("read timeout", provider=thread.platform)
        return PublishedReply(
            platform=thread.platform, thread_id=thread.thread_id, post_id="p1", text=text
        )

    def reply(self, thread: Thread, text: str) -> PublishedReply:
        return self._post(thread, text, private=False)

    def private_reply(self, thread: Thread, text: str) -> PublishedReply:
        return self._post(thread, text, private=True)


def comment(clock: FakeClock) -> Thread:
    return Thread(
        platform="facebook",
        thread_id="1790_12",
        author=Identity.social("facebook", "555"),
        text="bad service",
        posted_at=clock.now(),
    )


@pytest.mark.parametrize("private", [False, True])
def test_a_reply_that_may_have_been_posted_is_held(clock: FakeClock, private: bool) -> None:
    notes: list[Notify] = []
    publisher = TimesOut(private=private)
    esc = Escalator(
        "memory://",
        transports=[MemoryTransport()],
        clock=clock,
        publisher=publisher,
        workflow=Workflow.default(brand="Acme", meta_private_replies=True),
        notifier=lambda _, notify: notes.append(notify),
    )
    handoff = esc.open(comment(clock) if private else make_thread(clock))
    clock.advance(hours=1)
    esc.run_due()
    assert publisher.calls == 1  # never posted again by itself
    # Nobody is told it was not posted: it may have been.
    assert [n.topic for n in notes if "reply" in n.topic] == []
    kinds = [e.kind for e in esc.history(handoff.id)]
    assert "public_reply.failed" not in kinds
    (held,) = esc.outbox.held()
    assert held.status is OutboxStatus.HELD
    (event,) = [e for e in esc.history(handoff.id) if e.kind == "public_reply.held"]
    assert event.data["reason"] == "unknown_outcome"
    # Found on the thread, the operator settles it, and the case hears it.
    esc.outbox.mark_sent(held.id, provider_message_id="p9")
    assert esc.handoffs.get(handoff.id).state is HandoffState.AWAITING_CONTACT


def test_a_held_reply_is_not_retried_when_time_passes(clock: FakeClock) -> None:
    publisher = TimesOut(private=False)
    esc = Escalator(
        "memory://",
        transports=[MemoryTransport()],
        clock=clock,
        publisher=publisher,
        workflow=Workflow.default(brand="Acme"),
    )
    esc.open(make_thread(clock))
    for _ in range(3):
        clock.advance(timedelta(days=1))
        esc.run_due()
    assert publisher.calls == 1
