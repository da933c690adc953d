"""An off-hours acknowledgement posted after the team is back does not say when it is back.

"Our team is back Monday 09:00 EST" is decided when the case opens; a reply
retried, or queued for a scheduler that ran late, can be posted after 09:00.
It then posts the plain acknowledgement: the return it would state has passed.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import (
    BusinessHours,
    Escalator,
    Handoff,
    HandoffState,
    InvalidInput,
    PublishedReply,
    RetryableTransportError,
    Thread,
    Workflow,
)
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import Opened, PostPublicReply
from tests.conftest import make_thread

HOURS = BusinessHours("America/New_York", opens=time(9), closes=time(17))
#: Monday 5 January 2026, 08:50 EST: the team is back at 09:00.
BEFORE_NINE = datetime(2026, 1, 5, 13, 50, tzinfo=UTC)
NINE = datetime(2026, 1, 5, 14, 0, tzinfo=UTC)
#: Friday 9 January, 17:30 EST: back Monday 12 January 09:00.
FRIDAY_EVENING = datetime(2026, 1, 9, 22, 30, tzinfo=UTC)


class Busy(RecordingPublisher):
    """Posts, after refusing the first ``times`` replies with a 503."""

    def __init__(self, times: int) -> None:
        super().__init__()
        self.times = times

    def reply(self, thread: Thread, text: str) -> PublishedReply:
        if self.times:
            self.times -= 1
            raise RetryableTransportError("503", provider="x", code="503")
        return super().reply(thread, text)


def desk(clock: FakeClock, publisher: RecordingPublisher, **kw: object) -> Escalator:
    return Escalator(
        "memory://",
        transports=[MemoryTransport()],
        clock=clock,
        publisher=publisher,
        workflow=Workflow.default(brand="Acme", business_hours=HOURS),
        notifier=lambda *_: None,
        **kw,  # type: ignore[arg-type]
    )


def test_a_reply_posted_on_time_says_when_the_team_is_back() -> None:
    clock = FakeClock(BEFORE_NINE)
    publisher = RecordingPublisher()
    desk(clock, publisher).open(make_thread(clock))
    (posted,) = publisher.replies
    assert "Our team is back Monday 09:00 EST" in posted.text


def test_a_reply_retried_past_the_opening_drops_the_stale_return() -> None:
    """Refused at 08:50 and retried at 09:00 or later: the plain acknowledgement goes."""
    clock = FakeClock(BEFORE_NINE)
    publisher = Busy(times=1)
    esc = desk(clock, publisher)
    handoff = esc.open(make_thread(clock))
    assert publisher.replies == []
    clock.set(NINE + timedelta(minutes=5))
    esc.run_due()
    (posted,) = publisher.replies
    assert "back" not in posted.text
    assert "we'll follow up there" in posted.text
    assert handoff.reference in posted.text
    [event] = [e for e in esc.history(handoff.id) if e.kind == "public_reply.posted"]
    assert event.data["later_text"] is True


def test_a_reply_posted_late_but_before_the_opening_keeps_the_return() -> None:
    """A scheduler that ran at 08:59: the team is still away, the return still true."""
    clock = FakeClock(BEFORE_NINE)
    publisher = RecordingPublisher()
    esc = desk(clock, publisher, dispatch_immediately=False)
    handoff = esc.open(make_thread(clock))
    clock.set(NINE - timedelta(minutes=1))
    esc.run_due()
    (posted,) = publisher.replies
    assert "Our team is back Monday 09:00 EST" in posted.text
    [event] = [e for e in esc.history(handoff.id) if e.kind == "public_reply.posted"]
    assert "later_text" not in event.data


def test_a_reply_posted_after_the_stated_return_and_closed_again_states_none() -> None:
    """Friday 17:30's "back Monday 09:00" posted Monday 17:30: not that Monday, nor any."""
    clock = FakeClock(FRIDAY_EVENING)
    publisher = RecordingPublisher()
    esc = desk(clock, publisher, dispatch_immediately=False)
    esc.open(make_thread(clock))
    clock.advance(days=3)
    esc.run_due()
    (posted,) = publisher.replies
    assert "Monday 09:00" not in posted.text
    assert "we'll follow up there" in posted.text


@given(
    opened=st.datetimes(
        min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31), timezones=st.just(UTC)
    ),
    delay=st.timedeltas(min_value=timedelta(0), max_value=timedelta(days=4)),
)
def test_a_posted_reply_never_states_a_return_that_has_passed(
    opened: datetime, delay: timedelta
) -> None:
    """Decided at any time and posted any delay later: a stated return is still ahead."""
    workflow = Workflow.default(brand="Acme", business_hours=HOURS)
    clock = FakeClock(opened)
    handoff = Handoff(
        id="ho_1",
        reference="K7QP-3M",
        thread=make_thread(clock),
        state=HandoffState.OPENED,
        version=1,
        opened_at=opened,
        updated_at=opened,
    )
    step = workflow.decide(handoff, Opened(), workflow.context(opened))
    (reply,) = [c for c in step.commands if isinstance(c, PostPublicReply)]
    posted_at = opened + delay
    text = reply.text_at(posted_at)
    if "Our team is back" in text:
        assert not HOURS.is_open(posted_at)
        assert HOURS.describe_return(posted_at) in text
    else:
        assert HOURS.is_open(opened) or posted_at >= HOURS.next_open(opened)


def test_valid_until_and_later_text_go_together() -> None:
    with pytest.raises(InvalidInput, match="go together"):
        PostPublicReply(text="Back at 9. Case K7QP-3M", later_text="Case K7QP-3M")
    with pytest.raises(InvalidInput, match="go together"):
        PostPublicReply(text="Back at 9. Case K7QP-3M", valid_until=NINE)
