"""A Meta private reply still waiting when its case closes is cancelled, not sent.

Found by a review: the engine cancels the private sends queued before a case
closed (docs/workflows.md), but a Meta private reply is posted through the
publisher, which never looked: one waiting for a retry (Meta's 503, a 429) when
the agent resolved the case, or the customer opted out, still went, asking the
customer for a phone number or email about a case that was over, and spent the
comment's one private reply on it.
"""

from __future__ import annotations

import pytest

from escalate import Identity, RetryableTransportError, Thread
from escalate.store import OutboxStatus
from escalate.testing import FakeClock, RecordingPublisher
from escalate.workflow import PostPublicReply
from tests.workflow.conftest import MakeEsc


def comment(clock: FakeClock, platform: str) -> Thread:
    return Thread(
        platform=platform,
        thread_id="1790_77",
        author=Identity.social(platform, "555"),
        text="bad service",
        posted_at=clock.now(),
    )


@pytest.mark.parametrize("platform", ["facebook", "instagram"])
def test_a_private_reply_retried_after_the_case_closed_is_cancelled(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher, platform: str
) -> None:
    esc = make_esc(meta_private_replies=True)
    calls: list[str] = []
    post = publisher.private_reply

    def busy_once(thread: Thread, text: str) -> object:
        calls.append(text)
        if len(calls) == 1:
            raise RetryableTransportError("503", provider="facebook")
        return post(thread, text)

    publisher.private_reply = busy_once  # type: ignore[method-assign]
    handoff = esc.open(comment(clock, platform))
    assert len(calls) == 1  # refused, waiting for its retry
    esc.resolve(handoff.id)
    clock.advance(hours=1)
    esc.run_due()
    assert len(calls) == 1
    assert publisher.private_replies == []
    (row,) = [
        item
        for item in esc.store.outbox(esc.tenant, handoff_id=handoff.id)
        if isinstance(item.command, PostPublicReply) and item.command.private
    ]
    assert row.status is OutboxStatus.CANCELLED
    (cancelled,) = [e for e in esc.history(handoff.id) if e.kind == "message.cancelled"]
    assert cancelled.data["reason"] == "handoff_closed"
    assert cancelled.data["private"] is True


def test_a_private_reply_due_while_the_case_is_open_still_goes(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    esc = make_esc(meta_private_replies=True)
    esc.dispatch_immediately = False
    handoff = esc.open(comment(clock, "facebook"))
    clock.advance(minutes=5)
    esc.run_due()
    assert [handoff.reference in r.text for r in publisher.private_replies] == [True]


def test_the_public_reply_of_a_closed_case_is_not_withdrawn(
    make_esc: MakeEsc, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """Only what is private is withdrawn: the public thread still gets its answer."""
    esc = make_esc(meta_private_replies=True)
    esc.dispatch_immediately = False
    handoff = esc.open(comment(clock, "facebook"))
    esc.resolve(handoff.id)
    esc.run_due()
    assert len(publisher.replies) == 1
    assert publisher.private_replies == []
