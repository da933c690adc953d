"""Abandonment counts from when the reminder LEFT, end to end through ``run_due()``.

The ``abandon`` timer starts when the reminder is queued, ``abandon_after``
ahead. A reminder kept queued by transient failures, or by a scheduler that was
down while its retry came due, used to leave late while the timer kept its
time: the customer was abandoned (and the helpdesk told to close the public
thread) hours, or seconds, after "still need help?" reached them. Now they get
the whole ``abandon_after`` to answer it; a reminder that never leaves still has
its case abandoned, ``abandon_after`` after it was queued (put off by as long as
quiet hours held it), or when the scheduler comes back past that.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from escalate import Channel, HandoffState, RetryableTransportError
from escalate.store import MemoryStore, OutboxStatus, SQLiteStore, Store
from escalate.workflow import PrivateMessage, SendMessage
from escalate.workflow._abandonment import AbandonCheck, check_abandonment
from tests.workflow.test_reminder_rearming import ABANDON_AFTER, DAY, SLACK, Desk

S = HandoffState
FAILURE = RetryableTransportError("503 from the provider")
#: Why the ``abandon`` timer's transitions went the way they did.
NO_ANSWER = "no answer from the customer; helpdesk notified"
PUT_OFF = "abandonment put off until abandon_after after the reminder left"
UNSENT = "the reminder never left; helpdesk notified"


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Store:
    return MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")


def _reminded(desk: Desk, *, failures: int) -> datetime:
    """The intro leaves at once; the reminder's first ``failures`` tries fail. When it is queued."""
    intro = desk.connect()
    desk.run_until(intro)
    assert desk.left("intro.sms") == [intro]
    desk.run_until(intro + DAY - timedelta(minutes=1))
    desk.sms.fail_next(FAILURE, times=failures)
    return intro + DAY


def _abandon_reasons(desk: Desk) -> list[str]:
    return [
        str(e.data["reason"])
        for e in desk.esc.history(desk.handoff_id)
        if e.kind == "handoff.transition"
        and e.data["input"] == "timer_fired"
        and e.data["reason"] in (NO_ANSWER, PUT_OFF, UNSENT)
    ]


def _reminder_row(desk: Desk) -> tuple[datetime, OutboxStatus]:
    (row,) = [
        r
        for r in desk.store.outbox(desk.esc.tenant, handoff_id=desk.handoff_id)
        if isinstance(r.command, SendMessage) and r.command.template == "reminder.sms"
    ]
    return row.created_at, row.status


# -- transient failures, retried ----------------------------------------------------------


@pytest.mark.parametrize("every", [timedelta(hours=13), timedelta(hours=15)])
def test_a_reminder_retried_for_a_day_and_a_half_gets_the_whole_abandon_after(
    store: Store, every: timedelta
) -> None:
    """Three 503s, retried every 13 h (15 h): the reminder leaves 39 h (45 h) after it was queued.

    The case used to be abandoned at 48 h: 9 h (3 h) after the customer got the reminder.
    """
    desk = Desk(store, quiet_hours=False, retry_every=every)
    queued = _reminded(desk, failures=3)
    desk.run_until(queued + timedelta(days=10))
    assert _reminder_row(desk)[0] == queued
    (reminder,) = desk.left("reminder.sms")
    assert reminder == queued + 3 * every
    assert desk.closed_at() == reminder + ABANDON_AFTER
    assert desk.handoff.state is S.ABANDONED
    assert [n.topic for n in desk.notes] == ["abandoned"]
    assert len(desk.sms.attempts) == 1 + 3 + 1
    assert _abandon_reasons(desk) == [PUT_OFF, NO_ANSWER]


def test_a_reminder_retried_past_abandon_after_is_withdrawn_with_the_case(store: Store) -> None:
    """Still failing 48 h after it was queued: nothing more is tried; abandoned then."""
    desk = Desk(store, quiet_hours=False, retry_every=timedelta(hours=13))
    queued = _reminded(desk, failures=4)  # tries at 0, 13, 26, 39 h; the next would be 52 h
    desk.run_until(queued + timedelta(days=10))
    assert desk.left("reminder.sms") == []
    assert desk.closed_at() == queued + ABANDON_AFTER
    assert _reminder_row(desk)[1] is OutboxStatus.CANCELLED
    assert len(desk.sms.attempts) == 1 + 4
    assert _abandon_reasons(desk) == [UNSENT]
    assert [n.topic for n in desk.notes] == ["abandoned"]


# -- run_due() outages ----------------------------------------------------------------------


@pytest.mark.parametrize(
    "back", [timedelta(hours=47), timedelta(hours=47, minutes=59, seconds=30), timedelta(hours=50)]
)
def test_a_scheduler_outage_while_the_reminder_waits_for_its_retry(
    store: Store, back: timedelta
) -> None:
    """One 503, a retry due an hour later, and nobody runs run_due() until ``back``.

    Back at 47 h, the reminder left then and the case was abandoned an hour later
    (30 seconds later, back at 47:59:30). Back past 48 h, the timer fires before
    the retry: the reminder never leaves, and the case is abandoned at once.
    """
    desk = Desk(store, queuing=True, quiet_hours=False)
    queued = _reminded(desk, failures=1)
    desk.run_until(queued + timedelta(minutes=30))
    assert desk.left("reminder.sms") == []
    desk.outage(queued + back)
    desk.run_until(queued + timedelta(days=10))
    if back < ABANDON_AFTER:
        assert desk.left("reminder.sms") == [queued + back]
        assert desk.closed_at() == queued + back + ABANDON_AFTER
        assert _abandon_reasons(desk) == [PUT_OFF, NO_ANSWER]
    else:
        assert desk.left("reminder.sms") == []
        assert desk.closed_at() == queued + back
        assert _reminder_row(desk)[1] is OutboxStatus.CANCELLED
        assert _abandon_reasons(desk) == [UNSENT]
    assert desk.handoff.state is S.ABANDONED
    assert [n.topic for n in desk.notes] == ["abandoned"]


# -- quiet hours ---------------------------------------------------------------------------


@pytest.mark.parametrize("failures", [2, 20])
def test_a_retry_held_by_quiet_hours(store: Store, failures: int) -> None:
    """Retried every 22.5 h, the reminder's third try falls at 07:00 two days on; held to 08:00.

    Sent then (two failures): abandoned 48 h after 08:00, as before. Never sent:
    abandoned at the cut-off, 48 h after it was queued put off by the hour of the
    hold, not 48 h after 08:00 (which kept the case open 21 h longer).
    """
    desk = Desk(store, retry_every=timedelta(hours=22, minutes=30))
    queued = _reminded(desk, failures=failures)  # 10:00 in Los Angeles
    desk.run_until(queued + timedelta(days=10))
    held = [e for e in desk.esc.history(desk.handoff_id) if e.kind == "message.deferred"]
    assert held[0].at == queued + timedelta(hours=45)  # 07:00, its first hold
    eight = queued + timedelta(hours=46)
    if failures == 2:
        assert desk.left("reminder.sms") == [eight]
        assert desk.closed_at() == eight + ABANDON_AFTER
        # The hold moved the timer to the cut-off (49 h), which found the reminder gone.
        assert _abandon_reasons(desk) == [PUT_OFF, NO_ANSWER]
    else:
        assert desk.left("reminder.sms") == []
        assert desk.closed_at() == queued + ABANDON_AFTER + timedelta(hours=1)
        assert _abandon_reasons(desk) == [UNSENT]
    assert desk.handoff.state is S.ABANDONED


# -- the customer answers the late reminder -------------------------------------------------


@pytest.mark.parametrize("body", ["Thanks, still waiting", "STOP"])
def test_an_answer_after_the_put_off_abandonment_stops_it(store: Store, body: str) -> None:
    """The reminder left at 39 h; the customer answers at 60 h: no abandonment at 87 h."""
    desk = Desk(store, quiet_hours=False, retry_every=timedelta(hours=13))
    queued = _reminded(desk, failures=3)
    desk.run_until(queued + timedelta(hours=60))
    assert desk.handoff.is_open
    desk.text(body)
    desk.run_until(queued + timedelta(hours=39) + ABANDON_AFTER + timedelta(hours=1))
    assert desk.notes == []
    if body == "STOP":
        assert desk.handoff.state is S.DECLINED
    else:
        assert desk.handoff.state is S.CONNECTED
        desk.run_until(queued + timedelta(days=10))
        reasons = [
            e.data["reason"]
            for e in desk.esc.history(desk.handoff_id)
            if e.kind == "handoff.transition" and e.data.get("to") == "abandoned"
        ]
        assert reasons == ["conversation went idle; helpdesk notified"]


# -- any failures, any outage ----------------------------------------------------------------


@settings(max_examples=200, deadline=None)
@given(
    failures=st.integers(0, 6),
    every=st.integers(2, 30 * 60).map(lambda m: timedelta(minutes=m)),
    down_from=st.integers(0, 60 * 60).map(lambda m: timedelta(minutes=m)),
    down_for=st.integers(0, 80 * 60).map(lambda m: timedelta(minutes=m)),
    queuing=st.booleans(),
    quiet_hours=st.booleans(),
)
def test_abandoned_no_sooner_than_abandon_after_after_the_reminder_left(
    failures: int,
    every: timedelta,
    down_from: timedelta,
    down_for: timedelta,
    queuing: bool,
    quiet_hours: bool,
) -> None:
    """Retries of the reminder, quiet hours and a run_due() outage: the customer, who never
    answers, gets ``abandon_after`` after the reminder reached them (a reminder the scheduler
    sends up to SLACK late still counts as on time); a reminder that never left has its case
    abandoned at its cut-off, or when the scheduler comes back past it."""
    desk = Desk(MemoryStore(), queuing=queuing, quiet_hours=quiet_hours, retry_every=every)
    queued = _reminded(desk, failures=failures)
    desk.run_until(queued + down_from)
    back = queued + down_from + down_for
    desk.outage(back)
    desk.run_until(queued + timedelta(days=12))
    assert desk.handoff.state is S.ABANDONED
    closed = desk.closed_at()
    assert closed is not None
    reminders = desk.left("reminder.sms")
    assert len(reminders) <= 1
    event(f"reminder {'left' if reminders else 'never left'}; {_abandon_reasons(desk)}")
    if reminders:
        assert closed >= reminders[0] + ABANDON_AFTER - SLACK
        assert closed <= max(reminders[0] + ABANDON_AFTER, back)
    else:
        held = [e for e in desk.esc.history(desk.handoff_id) if e.kind == "message.deferred"]
        hold = (
            datetime.fromisoformat(str(held[0].data["not_before"])) - held[0].at
            if held
            else timedelta()
        )
        assert closed <= max(queued + ABANDON_AFTER + hold, back)
        assert _reminder_row(desk)[1] is OutboxStatus.CANCELLED
    assert [n.topic for n in desk.notes] == ["abandoned"]


# -- the check itself ------------------------------------------------------------------------


def _message(
    status: OutboxStatus, queued: datetime, left: datetime | None = None
) -> PrivateMessage:
    return PrivateMessage(
        template="reminder.sms",
        channel=Channel.SMS,
        status=status,
        queued_at=queued,
        due_at=queued if left is None else None,
        sent_at=left,
    )


T = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("reminder", "now", "expected"),
    [
        # A held send (unknown outcome) counts as gone when it was tried.
        (
            _message(OutboxStatus.HELD, T, T + timedelta(hours=5)),
            T + ABANDON_AFTER,
            AbandonCheck(wait_until=T + timedelta(hours=5) + ABANDON_AFTER),
        ),
        # Sent within the slack of the timer's time: abandoned now, no extra transition.
        (_message(OutboxStatus.DONE, T, T + SLACK), T + ABANDON_AFTER, AbandonCheck()),
        # A timer fired before the cut-off (not the default workflow's): back at the cut-off.
        (_message(OutboxStatus.PENDING, T), T + DAY, AbandonCheck(wait_until=T + ABANDON_AFTER)),
        (_message(OutboxStatus.CLAIMED, T), T + ABANDON_AFTER, AbandonCheck(unsent=True)),
        # Failed, refused or cancelled: nothing to wait for.
        (_message(OutboxStatus.FAILED, T), T + ABANDON_AFTER, AbandonCheck()),
        (None, T + ABANDON_AFTER, AbandonCheck()),
    ],
)
def test_check_abandonment(
    reminder: PrivateMessage | None, now: datetime, expected: AbandonCheck
) -> None:
    intro = PrivateMessage(
        template="intro.sms",
        channel=Channel.SMS,
        status=OutboxStatus.DONE,
        queued_at=T - DAY,
        sent_at=T - DAY,
    )
    messages = [intro] if reminder is None else [intro, reminder]
    assert check_abandonment(messages, now, abandon_after=ABANDON_AFTER) == expected


# -- the check after a fallback (tests/workflow/test_follow_up_after_fallback.py end to end) --


def _row(
    template: str, status: OutboxStatus, queued: datetime, left: datetime | None = None
) -> PrivateMessage:
    channel = Channel.EMAIL if template.endswith(".email") else Channel.SMS
    waiting = status in (OutboxStatus.PENDING, OutboxStatus.CLAIMED)
    return PrivateMessage(
        template=template,
        channel=channel,
        status=status,
        queued_at=queued,
        due_at=queued if waiting else None,
        sent_at=left,
    )


INTRO = _row("intro.sms", OutboxStatus.DONE, T - DAY, T - DAY)
FAILED = _row("reminder.sms", OutboxStatus.FAILED, T)
LATER = T + timedelta(hours=39)
GONE = AbandonCheck()  # abandon now


@pytest.mark.parametrize(
    ("messages", "now", "expected"),
    [
        # The reminder failed at once; its fallback left then: abandoned on time.
        ([INTRO, FAILED, _row("intro.email", OutboxStatus.DONE, T, T)], T + ABANDON_AFTER, GONE),
        # ...or after retries: abandon_after after the fallback left, not the reminder queued.
        (
            [INTRO, FAILED, _row("intro.email", OutboxStatus.DONE, LATER, LATER)],
            T + ABANDON_AFTER,
            AbandonCheck(wait_until=LATER + ABANDON_AFTER),
        ),
        # The fallback waits for a retry: looked at again at its own cut-off...
        (
            [INTRO, FAILED, _row("intro.email", OutboxStatus.PENDING, LATER)],
            T + ABANDON_AFTER,
            AbandonCheck(wait_until=LATER + ABANDON_AFTER),
        ),
        # ...where, still unsent, it is withdrawn with the case.
        (
            [INTRO, FAILED, _row("intro.email", OutboxStatus.CLAIMED, LATER)],
            LATER + ABANDON_AFTER,
            AbandonCheck(unsent=True),
        ),
        # The fallback failed too (the case gave up): nothing to wait for.
        ([INTRO, FAILED, _row("intro.email", OutboxStatus.FAILED, LATER)], LATER, GONE),
        # A reminder that left counts, whatever fell back after it (an agent's message that
        # met a landline later): the intro that fallback sent does not stand for the reminder.
        (
            [
                INTRO,
                _row("reminder.sms", OutboxStatus.DONE, T, T),
                _row("intro.email", OutboxStatus.DONE, LATER, LATER),
            ],
            T + ABANDON_AFTER,
            GONE,
        ),
        # An intro before the failed reminder is no fallback of it.
        (
            [_row("intro.email", OutboxStatus.DONE, T - DAY, T - DAY), FAILED],
            T + ABANDON_AFTER,
            GONE,
        ),
    ],
)
def test_check_abandonment_after_a_fallback(
    messages: list[PrivateMessage], now: datetime, expected: AbandonCheck
) -> None:
    assert check_abandonment(messages, now, abandon_after=ABANDON_AFTER) == expected
