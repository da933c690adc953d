"""A late scheduler never sends the intro and the reminder together.

The reminder counts from when the intro LEFT, not from when it was queued: a
``run_due()`` a day late, or an intro kept queued by retries, must not fire the
reminder right behind (or ahead of) the intro. An intro still unsent after the
whole follow-up (``reminder_after + abandon_after``) gets no reminder: the case
is abandoned and the helpdesk told.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from tenacity import stop_after_attempt, wait_fixed

from escalate import (
    Channel,
    Escalator,
    Event,
    HandoffState,
    Identity,
    InboundMessage,
    RetryableTransportError,
    Workflow,
)
from escalate.retry import RetryPolicy
from escalate.store import MemoryStore, OutboxStatus
from escalate.testing import FakeClock, MemoryTransport, Scenario
from escalate.workflow import Notify, PrivateMessage, ReplyReceived, SendMessage, TimerFired
from escalate.workflow._reminder import SLACK, check_reminder
from tests.conftest import WEB_FORM_CONSENT, make_thread

S = HandoffState
PHONE = Identity.phone("+14155550100")  # Los Angeles: the test hours are daytime there
DAY = timedelta(hours=24)
#: The default follow-up: the reminder a day after the intro, abandonment two days later.
FOLLOW_UP = timedelta(hours=24 + 48)


def _sent_at(esc: Escalator, handoff_id: str) -> dict[str, datetime]:
    """When each template's message left, from the audit log."""
    return {
        str(event.data["template"]): event.at
        for event in esc.history(handoff_id)
        if event.kind == "message.sent" and "template" in event.data
    }


def _reasons(history: list[Event]) -> list[str]:
    """Why each timer's transition went the way it did."""
    return [
        e.data["reason"]
        for e in history
        if e.kind == "handoff.transition" and e.data["input"] == "timer_fired"
    ]


PUT_OFF = "reminder put off until reminder_after after the intro left"


@pytest.mark.parametrize("late", [timedelta(hours=25), timedelta(hours=71, minutes=59)])
def test_a_scheduler_that_wakes_up_late_sends_the_intro_alone(
    queuing: tuple[Escalator, list[Notify]], clock: FakeClock, sms: MemoryTransport, late: timedelta
) -> None:
    """Nobody runs run_due() for a day: the intro goes alone, the reminder a day after it left."""
    esc, _ = queuing
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    queued_at = clock.now()
    clock.advance(late)  # cron was down
    esc.run_due()
    assert [m.body for m in sms.sent if "checking in" in m.body] == []
    assert len(sms.sent) == 1
    assert "about your post" in sms.sent[0].body
    left = clock.now()
    assert _sent_at(esc, handoff.id) == {"intro.sms": left}
    # Back to a scheduler every 10 minutes: nothing until a day after the intro left.
    while clock.now() < left + DAY - timedelta(minutes=10):
        clock.advance(minutes=10)
        esc.run_due()
        assert len(sms.sent) == 1, clock.now() - left
    clock.set(left + DAY)
    esc.run_due()
    assert len(sms.sent) == 2
    assert "checking in" in sms.sent[1].body
    assert _sent_at(esc, handoff.id)["reminder.sms"] - left == DAY
    assert esc.handoffs.get(handoff.id).state is S.CONNECTED
    *put_off, reminded = _reasons(esc.history(handoff.id))
    # Once when the scheduler woke up; once more for a wake-up a minute before
    # the cut-off (reminder_after + abandon_after after the intro was queued).
    assert put_off == [PUT_OFF] * (1 if late < FOLLOW_UP - timedelta(hours=1) else 2)
    assert reminded == "no reply; follow-up reminder sent"
    # The abandonment still counts from the reminder.
    clock.set(left + DAY + timedelta(hours=48) - timedelta(minutes=1))
    esc.run_due()
    assert esc.handoffs.get(handoff.id).state is S.CONNECTED
    clock.advance(minutes=1)
    esc.run_due()
    assert esc.handoffs.get(handoff.id).state is S.ABANDONED
    assert left - queued_at == late


def test_an_intro_stuck_past_the_whole_follow_up_is_abandoned_without_a_reminder(
    queuing: tuple[Escalator, list[Notify]], clock: FakeClock, sms: MemoryTransport
) -> None:
    """Three days without a scheduler: no reminder and no stale intro; the helpdesk hears."""
    esc, notes = queuing
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.advance(FOLLOW_UP + timedelta(hours=1))
    esc.run_due()
    assert sms.sent == []
    assert esc.handoffs.get(handoff.id).state is S.ABANDONED
    assert [n.topic for n in notes] == ["abandoned"]
    (intro,) = [
        row
        for row in esc.store.outbox(esc.tenant, handoff_id=handoff.id)
        if isinstance(row.command, SendMessage)
    ]
    assert intro.status is OutboxStatus.CANCELLED
    assert _reasons(esc.history(handoff.id)) == [
        "the intro never left; no reminder, helpdesk notified"
    ]


def _retrying(every: timedelta) -> RetryPolicy:
    return RetryPolicy(stop=stop_after_attempt(10), wait=wait_fixed(every.total_seconds()))


@pytest.mark.parametrize("store", ["memory://", "sqlite"])
def test_an_intro_that_leaves_after_a_day_of_retries_gets_its_reminder_a_day_later(
    store: str,
) -> None:
    """Retried every 10 h, the intro leaves at 30 h: no reminder at 24 h, one at 54 h.

    An email, so the retries are not held by quiet hours (a text's would be, at night).
    """
    with Scenario(store=store, retry=_retrying(timedelta(hours=10))) as s:
        s.transport.fail_next(RetryableTransportError("503 from the provider"), times=3)
        s.post_publicly()
        s.customer_provides(email="jane@example.com")
        assert s.sent == []
        assert len(s.queued) == 1
        s.advance(hours=29, minutes=59)  # the reminder timer fired at 24 h
        s.assert_nothing_more_sent()
        s.advance(minutes=1)
        s.assert_sent(1, containing="about your post")
        left = s.clock.now()
        s.advance(hours=23, minutes=59)
        s.assert_nothing_more_sent()
        s.advance(minutes=1)
        s.assert_sent(1, containing="checking in")
        sent = [e.at for e in s.history if e.kind == "message.sent" and "template" in e.data]
        assert sent == [left, left + DAY]
        assert s.state is S.CONNECTED


@pytest.mark.parametrize("store", ["memory://", "sqlite"])
def test_an_intro_retried_past_the_whole_follow_up_is_abandoned_on_time(store: str) -> None:
    """Retried every 26 h (in the daytime), the intro is still queued at 72 h: abandoned then."""
    with Scenario(store=store, retry=_retrying(timedelta(hours=26))) as s:
        s.transport.fail_next(RetryableTransportError("503 from the provider"), times=5)
        s.post_publicly()
        s.customer_provides(phone="(415) 555-0142")
        connected = s.clock.now()
        s.advance(FOLLOW_UP - timedelta(minutes=1))
        assert s.state is S.CONNECTED
        s.advance(minutes=1)
        assert s.state is S.ABANDONED
        closed = [e for e in s.history if e.kind == "handoff.transition"][-1]
        assert closed.at == connected + FOLLOW_UP
        assert [n.topic for n in s.notifications] == ["abandoned"]
        s.advance(days=3)  # the retry due at 78 h finds the case closed
        s.assert_nothing_more_sent()
        assert [row.status for row in s.queued] == []
        assert _reasons(s.history) == [
            PUT_OFF,  # at 24 h, until 50 h: a day after the retry due at 26 h
            PUT_OFF,  # at 50 h, until the cut-off at 72 h
            "the intro never left; no reminder, helpdesk notified",
        ]


def test_a_punctual_scheduler_keeps_the_reminder_a_day_after_the_intro() -> None:
    """Every minute: the intro leaves within a minute, and the reminder is not put off for it."""
    with Scenario(store="memory://") as s:
        s.post_publicly()
        s.customer_provides(phone="(415) 555-0142")
        s.assert_sent(1, containing="about your post")
        s.advance(hours=24)
        s.assert_sent(1, containing="checking in")
        assert _reasons(s.history) == ["no reply; follow-up reminder sent"]


class CountingStore(MemoryStore):
    """A memory store counting the reads of one handoff's outbox rows."""

    def __init__(self) -> None:
        super().__init__()
        self.handoff_reads = 0

    def outbox(self, tenant: str, *, handoff_id: str | None = None) -> list:  # type: ignore[type-arg]
        if handoff_id is not None:
            self.handoff_reads += 1
        return super().outbox(tenant, handoff_id=handoff_id)


def test_only_the_follow_up_timers_read_the_handoffs_messages(clock: FakeClock) -> None:
    """The lifecycle without a reminder costs no read of messages; a firing reminder one, and
    the abandonment that follows it another (it counts from when the reminder left)."""
    store = CountingStore()
    esc = Escalator(store, transports=[MemoryTransport()], clock=clock, workflow=Workflow.default())
    quiet = esc.open(make_thread(clock, thread_id="1"))
    esc.contact_provided(quiet.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.inbound(
        InboundMessage(channel=Channel.SMS, sender=PHONE, body="hi", received_at=clock.now())
    )
    esc.resolve(quiet.id)
    assert store.handoff_reads == 0
    reminded = esc.open(make_thread(clock, thread_id="2"))
    esc.contact_provided(reminded.id, PHONE, consent=WEB_FORM_CONSENT)
    clock.advance(hours=24)
    esc.run_due()
    assert store.handoff_reads == 1
    clock.advance(hours=48)
    esc.run_due()
    assert esc.handoffs.get(reminded.id).state is S.ABANDONED
    assert store.handoff_reads == 2
    workflow = esc.workflow
    assert workflow.wants_messages(S.CONNECTED, TimerFired(name="reminder"))
    assert workflow.wants_messages(S.CONNECTED, TimerFired(name="abandon"))
    assert not workflow.wants_messages(S.CONNECTED, TimerFired(name="idle"))
    for waiting in (S.ACKNOWLEDGED, S.AWAITING_CONTACT, S.AWAITING_CONSENT):
        assert not workflow.wants_messages(waiting, TimerFired(name="abandon"))
    message = InboundMessage(channel=Channel.SMS, sender=PHONE, body="hi", received_at=clock.now())
    assert not workflow.wants_messages(S.CONNECTED, ReplyReceived(message=message))


# -- the pure decision ------------------------------------------------------------

T0 = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
REMINDER_AFTER, ABANDON_AFTER = DAY, timedelta(hours=48)


def _minutes(low: int, high: int) -> st.SearchStrategy[timedelta]:
    return st.integers(low, high).map(lambda m: timedelta(minutes=m))


@st.composite
def _messages(draw: st.DrawFn) -> list[PrivateMessage]:
    """A handoff's private messages: intros and others, in every status, oldest first."""
    messages = []
    queued = T0
    for _ in range(draw(st.integers(0, 4))):
        queued += draw(_minutes(0, 3 * 24 * 60))
        status = draw(st.sampled_from(list(OutboxStatus)))
        waiting = status in (OutboxStatus.PENDING, OutboxStatus.CLAIMED)
        left = status in (OutboxStatus.DONE, OutboxStatus.HELD)
        later = queued + draw(_minutes(0, 4 * 24 * 60))
        messages.append(
            PrivateMessage(
                template=draw(st.sampled_from(["intro.sms", "intro.email", "agent.sms", None])),
                channel=Channel.SMS,
                status=status,
                queued_at=queued,
                due_at=later if waiting else None,
                sent_at=later if left else None,
            )
        )
    return messages


@given(messages=_messages(), after=_minutes(0, 8 * 24 * 60))
def test_the_reminder_never_goes_before_reminder_after_from_the_intro(
    messages: list[PrivateMessage], after: timedelta
) -> None:
    """Remind only with the latest live intro gone long enough; a wait always lies ahead."""
    now = T0 + after
    check = check_reminder(
        messages, now, reminder_after=REMINDER_AFTER, abandon_after=ABANDON_AFTER
    )
    intros = [
        m
        for m in messages
        if m.template in ("intro.sms", "intro.email") and (m.waiting or m.sent_at is not None)
    ]
    intro = intros[-1] if intros else None
    if check.stuck:
        assert intro is not None
        assert intro.sent_at is None
        assert now - intro.queued_at >= REMINDER_AFTER + ABANDON_AFTER
        assert check.wait_until is None
    elif check.wait_until is not None:
        assert intro is not None
        assert now < check.wait_until  # never re-armed for now: no loop
        if intro.sent_at is not None:
            assert check.wait_until == intro.sent_at + REMINDER_AFTER
        else:
            assert check.wait_until <= intro.queued_at + REMINDER_AFTER + ABANDON_AFTER
    else:
        assert intro is None or (
            intro.sent_at is not None and now - intro.sent_at >= REMINDER_AFTER - SLACK
        )
