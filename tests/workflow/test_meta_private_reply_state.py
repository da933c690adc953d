"""A Meta private reply is no public acknowledgement: it does not move the case on."""

from __future__ import annotations

import pytest

from escalate import (
    Escalator,
    HandoffState,
    Identity,
    PermanentTransportError,
    PublishedReply,
    RetryableTransportError,
    Thread,
    TransportError,
    Workflow,
)
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import PublicReplyPosted

S = HandoffState


class RefusingPublisher(RecordingPublisher):
    """Posts private replies; the public reply raises ``error`` (every time, or once)."""

    def __init__(self, error: TransportError, *, times: int) -> None:
        super().__init__()
        self.error, self.times = error, times

    def reply(self, thread: Thread, text: str) -> PublishedReply:
        if self.times:
            self.times -= 1
            raise self.error
        return super().reply(thread, text)


def meta_case(
    store: Store, clock: FakeClock, publisher: RecordingPublisher
) -> tuple[Escalator, str]:
    esc = Escalator(
        store,
        transports=[MemoryTransport()],
        clock=clock,
        publisher=publisher,
        workflow=Workflow.default(brand="Acme", meta_private_replies=True),
    )
    comment = Thread(
        platform="facebook",
        thread_id="c-7",
        author=Identity.social("facebook", "42"),
        text="my order never arrived",
        posted_at=clock.now(),
    )
    return esc, esc.open(comment).id


def transitions(esc: Escalator, handoff_id: str) -> list[tuple[str, str, str]]:
    return [
        (e.data["from"], e.data["to"], e.data["reason"])
        for e in esc.history(handoff_id)
        if e.kind == "handoff.transition"
    ]


def test_a_private_reply_alone_does_not_say_the_public_reply_was_posted(
    store: Store, clock: FakeClock
) -> None:
    """The public reply is refused for good; the private one went: still acknowledged."""
    publisher = RefusingPublisher(PermanentTransportError("gone", provider="meta"), times=9)
    esc, handoff_id = meta_case(store, clock, publisher)
    assert [len(publisher.replies), len(publisher.private_replies)] == [0, 1]
    assert esc.handoffs.get(handoff_id).state is S.ACKNOWLEDGED
    assert ("acknowledged", "awaiting_contact", "public reply posted") not in transitions(
        esc, handoff_id
    )
    assert transitions(esc, handoff_id)[-1] == (
        "acknowledged",
        "acknowledged",
        "Meta private reply posted",
    )


def test_the_case_moves_on_when_the_retried_public_reply_is_posted(
    store: Store, clock: FakeClock
) -> None:
    """The private reply beats a retried public one: the move waits for the public reply."""
    publisher = RefusingPublisher(RetryableTransportError("503", provider="meta"), times=1)
    esc, handoff_id = meta_case(store, clock, publisher)
    assert esc.handoffs.get(handoff_id).state is S.ACKNOWLEDGED
    clock.advance(minutes=5)
    esc.run_due()
    assert len(publisher.replies) == 1
    assert esc.handoffs.get(handoff_id).state is S.AWAITING_CONTACT
    assert transitions(esc, handoff_id)[1:] == [
        ("acknowledged", "acknowledged", "Meta private reply posted"),
        ("acknowledged", "awaiting_contact", "public reply posted"),
    ]


@pytest.mark.parametrize("private", [False, True])
def test_the_input_says_which_reply_was_posted(private: bool) -> None:
    """``PublicReplyPosted.private`` defaults to a public reply, as before."""
    posted = PublicReplyPosted(post_id="p1", private=private)
    assert posted.private is private
    assert PublicReplyPosted(post_id="p1").private is False
