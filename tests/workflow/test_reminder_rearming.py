"""The reminder timer re-armed end to end: each path of ``check_reminder`` through ``run_due()``.

The intro leaves late because quiet hours hold it, because the provider fails
and the send is retried, or because nobody ran ``run_due()`` for an hour, a day
or three. Whatever the cause, exactly one reminder goes, never before
``reminder_after`` after the intro left, never after the customer replied or
said STOP; the case is abandoned ``abandon_after`` after the reminder, or, when
the intro never left, ``reminder_after + abandon_after`` after it was queued.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from tenacity import stop_after_attempt, wait_fixed

from escalate import (
    Channel,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InboundMessage,
    RetryableTransportError,
    Workflow,
)
from escalate.consent import ConsentPolicy, Purpose
from escalate.retry import RetryPolicy
from escalate.store import MemoryStore, OutboxStatus, SQLiteStore, Store
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import Notify
from tests.conftest import WEB_FORM_CONSENT, make_thread

S = HandoffState
PHONE = Identity.phone("+14155550142")  # Los Angeles
DAY, ABANDON_AFTER, IDLE_AFTER = timedelta(hours=24), timedelta(hours=48), timedelta(days=7)
SLACK = timedelta(minutes=1)  # a reminder this much early still goes (see _reminder.py)
#: Tuesday 2026-03-10 10:00 in Los Angeles (17:00 UTC): texts go at once.
START = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)
#: Quiet hours as configured by default (08:00-21:00 local), or none at all.
NO_QUIET_HOURS = ConsentPolicy(quiet_hours={Purpose.TRANSACTIONAL: None, Purpose.MARKETING: None})


@dataclass
class Desk:
    """One case on an escalator whose scheduler the test stops and starts."""

    store: Store
    queuing: bool = False
    quiet_hours: bool = True
    retry_every: timedelta = timedelta(hours=1)
    clock: FakeClock = field(default_factory=lambda: FakeClock(START))
    sms: MemoryTransport = field(default_factory=MemoryTransport)
    notes: list[Notify] = field(default_factory=list)
    #: A transport of its own for email (``sms`` then serves SMS alone), for fallbacks.
    email: MemoryTransport | None = None

    def __post_init__(self) -> None:
        self.esc = Escalator(
            self.store,
            transports=[self.sms] if self.email is None else [self.sms, self.email],
            clock=self.clock,
            workflow=Workflow.default(brand="Acme"),
            notifier=lambda _, notify: self.notes.append(notify),
            dispatch_immediately=not self.queuing,
            retry=RetryPolicy(
                stop=stop_after_attempt(20), wait=wait_fixed(self.retry_every.total_seconds())
            ),
            consent_policy=None if self.quiet_hours else NO_QUIET_HOURS,
        )
        self.handoff_id = self.esc.open(make_thread(self.clock)).id

    def connect(self) -> datetime:
        """The customer gives their number: the intro is queued (and its timer started) now."""
        self.esc.contact_provided(self.handoff_id, PHONE, consent=WEB_FORM_CONSENT)
        return self.clock.now()

    def text(self, body: str) -> None:
        message = InboundMessage(
            channel=Channel.SMS, sender=PHONE, body=body, received_at=self.clock.now()
        )
        self.esc.inbound(message)

    def run_until(self, end: datetime) -> None:
        """A punctual scheduler until ``end``: run_due() at every instant something is due."""
        while True:
            self.run_due()
            now = self.clock.now()
            if now >= end:
                return
            due = [t.due_at for t in self.store.due_timers(end, limit=1_000)]
            due += [
                row.due_at
                for row in self.store.outbox(self.esc.tenant)
                if row.status is OutboxStatus.PENDING and row.due_at <= end
            ]
            self.clock.set(min((when for when in due if when > now), default=end))

    def outage(self, until: datetime) -> None:
        """Nobody runs run_due() until ``until``; then it runs once."""
        self.clock.set(until)
        self.run_due()

    def run_due(self) -> None:
        for _ in range(100):
            if self.esc.run_due().idle:
                return
        raise AssertionError("run_due() never went idle")

    @property
    def handoff(self) -> Handoff:
        return self.esc.handoffs.get(self.handoff_id)

    def left(self, template: str) -> list[datetime]:
        """When each message of ``template`` was handed to the provider."""
        return [
            e.at
            for e in self.esc.history(self.handoff_id)
            if e.kind == "message.sent" and e.data.get("template") == template
        ]

    def closed_at(self) -> datetime | None:
        handoff = self.handoff
        return None if handoff.is_open else handoff.closed_at


@pytest.fixture(params=["memory", "sqlite"])
def store_kind(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def _store(kind: str) -> Store:
    return MemoryStore() if kind == "memory" else SQLiteStore(":memory:")


def _local(day: int, hour: int, minute: int = 0) -> datetime:
    """``hour:minute`` in Los Angeles (PDT, UTC-7) on March ``day``, 2026."""
    return datetime(2026, 3, day, hour, minute, tzinfo=UTC) + timedelta(hours=7)


# -- quiet hours -----------------------------------------------------------------------


@pytest.mark.parametrize("scheduler_back", [None, _local(11, 11)])
def test_an_intro_held_by_quiet_hours_is_reminded_a_day_after_it_left(
    store_kind: str, scheduler_back: datetime | None
) -> None:
    """Given at 21:30, the intro waits for 08:00 (or for the scheduler, back at 11:00)."""
    desk = Desk(_store(store_kind))
    desk.clock.set(_local(10, 21, 30))
    desk.connect()
    assert desk.sms.sent == []
    if scheduler_back is not None:
        desk.outage(scheduler_back)
    desk.run_until(_local(16, 12))
    (intro,) = desk.left("intro.sms")
    assert intro == (scheduler_back or _local(11, 8))
    assert desk.left("reminder.sms") == [intro + DAY]
    assert desk.closed_at() == intro + DAY + ABANDON_AFTER
    assert desk.handoff.state is S.ABANDONED


# -- transient failures, retried -------------------------------------------------------


@pytest.mark.parametrize(
    ("failures", "every", "intro_local"),
    [
        (3, timedelta(hours=9), _local(11, 17)),  # 10:00, 19:00, 04:00 held to 08:00, 17:00
        (2, timedelta(hours=6), _local(11, 8)),  # 10:00, 16:00, 22:00 held to 08:00
        (1, timedelta(minutes=30), _local(10, 10, 30)),
    ],
)
def test_an_intro_retried_is_reminded_a_day_after_it_left(
    store_kind: str, failures: int, every: timedelta, intro_local: datetime
) -> None:
    """Each retry that fails puts the reminder off again; quiet hours hold a night retry."""
    desk = Desk(_store(store_kind), retry_every=every)
    desk.sms.fail_next(RetryableTransportError("503 from the provider"), times=failures)
    desk.connect()
    desk.run_until(_local(17, 12))
    assert desk.left("intro.sms") == [intro_local]
    assert desk.left("reminder.sms") == [intro_local + DAY]
    assert len(desk.sms.attempts) == failures + 2
    assert desk.closed_at() == intro_local + DAY + ABANDON_AFTER


# -- run_due() outages ------------------------------------------------------------------


@pytest.mark.parametrize("hours", [1, 30, 80])
def test_an_outage_from_the_moment_the_intro_is_queued(store_kind: str, hours: int) -> None:
    """The intro waits for the scheduler: reminded a day after it left, or abandoned unsent."""
    desk = Desk(_store(store_kind), queuing=True, quiet_hours=False)
    queued = desk.connect()
    desk.outage(queued + timedelta(hours=hours))
    desk.run_until(queued + timedelta(days=10))
    if hours < 72:
        (intro,) = desk.left("intro.sms")
        assert intro == queued + timedelta(hours=hours)
        assert desk.left("reminder.sms") == [intro + DAY]
        assert desk.closed_at() == intro + DAY + ABANDON_AFTER
        assert [n.topic for n in desk.notes] == ["abandoned"]
    else:
        assert desk.sms.attempts == []
        assert desk.closed_at() == queued + timedelta(hours=hours)
        assert [n.topic for n in desk.notes] == ["abandoned"]
    assert desk.handoff.state is S.ABANDONED


@pytest.mark.parametrize("hours", [1, 30, 80])
def test_an_outage_after_the_intro_left_sends_the_reminder_when_it_ends(
    store_kind: str, hours: int
) -> None:
    """The intro left at once; the scheduler is down from 23 h: the reminder is late, not early,
    and the abandonment still counts from the reminder (or comes at once, past it)."""
    desk = Desk(_store(store_kind), quiet_hours=False)
    intro = desk.connect()
    assert desk.left("intro.sms") == [intro]
    desk.run_until(intro + timedelta(hours=23))
    back = intro + timedelta(hours=23 + hours)
    desk.outage(back)
    desk.run_until(intro + timedelta(days=10))
    reminded = desk.left("reminder.sms")
    if 23 + hours < 24:
        assert reminded == [intro + DAY]
        assert desk.closed_at() == intro + DAY + ABANDON_AFTER
    elif 23 + hours < 24 + 48:
        assert reminded == [back]
        assert desk.closed_at() == back + ABANDON_AFTER
    else:
        assert reminded == [back]  # the timer fired after the intro left: the reminder goes
        assert desk.closed_at() == back + ABANDON_AFTER


# -- the customer answers ----------------------------------------------------------------


@pytest.mark.parametrize("body", ["Yes still waiting", "STOP"])
@pytest.mark.parametrize("hours", [1, 30])
def test_no_reminder_after_the_customer_answers_a_late_intro(
    store_kind: str, body: str, hours: int
) -> None:
    """The intro left late, the reminder was put off; the customer replies (or says STOP)."""
    desk = Desk(_store(store_kind), queuing=True, quiet_hours=False)
    queued = desk.connect()
    desk.outage(queued + timedelta(hours=hours))
    (intro,) = desk.left("intro.sms")
    desk.run_until(intro + timedelta(hours=20))
    desk.text(body)
    desk.run_until(intro + timedelta(days=10))
    assert desk.left("reminder.sms") == []
    assert [m.body for m in desk.sms.sent if "checking in" in m.body] == []


def test_no_reminder_after_the_customer_wrote_before_the_intro_left(store_kind: str) -> None:
    """The customer texts while the intro is still being retried: no reminder, ever."""
    desk = Desk(_store(store_kind), retry_every=timedelta(hours=10), quiet_hours=False)
    desk.sms.fail_next(RetryableTransportError("503 from the provider"), times=3)
    queued = desk.connect()
    desk.run_until(queued + timedelta(hours=5))
    desk.text("hello? I gave you my number")
    desk.run_until(queued + timedelta(days=10))
    assert desk.left("intro.sms") == [queued + timedelta(hours=30)]
    assert desk.left("reminder.sms") == []


def test_a_case_whose_customer_wrote_before_any_intro_left_goes_idle_a_week_later(
    store_kind: str,
) -> None:
    """Found by the test below: the provider fails the intro for a week, retried every 28 h.

    The customer wrote at once, so the follow-up (reminder, then abandonment 72 h
    after the intro was queued) stopped there: the case is abandoned when the
    conversation has been idle for ``idle_after``, and the helpdesk is told the
    conversation went quiet, not that the customer never answered.
    """
    desk = Desk(_store(store_kind), retry_every=timedelta(hours=28), quiet_hours=False)
    desk.sms.fail_next(RetryableTransportError("503 from the provider"), times=6)
    queued = desk.connect()
    desk.text("Thanks, still waiting")
    desk.run_until(queued + timedelta(days=12))
    assert desk.left("intro.sms") == []
    assert desk.left("reminder.sms") == []
    assert desk.closed_at() == queued + IDLE_AFTER
    assert desk.handoff.close_reason == "conversation went idle; helpdesk notified"
    (notice,) = [n.text for n in desk.notes if n.topic == "abandoned"]
    assert "went quiet after the customer's last message" in notice


# -- any outage, any failure script -------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    failures=st.integers(0, 6),
    every=st.integers(2, 30 * 60).map(lambda m: timedelta(minutes=m)),
    down_from=st.integers(0, 100 * 60).map(lambda m: timedelta(minutes=m)),
    down_for=st.integers(0, 100 * 60).map(lambda m: timedelta(minutes=m)),
    answer=st.one_of(
        st.none(),
        st.tuples(
            st.sampled_from(["Thanks, still waiting", "STOP"]),
            st.integers(0, 150 * 60).map(lambda m: timedelta(minutes=m)),
        ),
    ),
    queuing=st.booleans(),
    quiet_hours=st.booleans(),
)
def test_one_reminder_never_early_never_after_an_answer(
    failures: int,
    every: timedelta,
    down_from: timedelta,
    down_for: timedelta,
    answer: tuple[str, timedelta] | None,
    queuing: bool,
    quiet_hours: bool,
) -> None:
    """Any outage of run_due(), retries, quiet hours and answers: the reminder rules hold."""
    desk = Desk(MemoryStore(), queuing=queuing, quiet_hours=quiet_hours, retry_every=every)
    desk.sms.fail_next(RetryableTransportError("503 from the provider"), times=failures)
    queued = desk.connect()
    events = [(down_from, "down"), (down_from + down_for, "up")]
    if answer is not None:
        events.append((answer[1], answer[0]))
    answered_at: datetime | None = None
    up = True
    order = {"down": 0, "up": 1}
    for offset, what in sorted(events, key=lambda e: (e[0], order.get(e[1], 2))):
        at = max(desk.clock.now(), queued + offset)
        if what == "up":
            desk.outage(at)
            up = True
        elif what == "down":
            desk.run_until(at)
            up = False
        else:  # scheduler up or down: a webhook still takes the text
            if up:
                desk.run_until(at)
            desk.clock.set(at)
            if desk.handoff.is_open:  # a text after the close answers nothing
                answered_at = at
                desk.text(what)
    # The latest close: an answer at 150 h whose conversation then goes idle for a week.
    desk.run_until(queued + timedelta(days=14))
    intros, reminders = desk.left("intro.sms"), desk.left("reminder.sms")
    assert len(intros) <= 1
    assert len(reminders) <= 1
    if reminders:
        assert intros
        assert reminders[0] >= intros[0] + DAY - SLACK
        # (A text at the very instant the reminder went was taken after it.)
        assert answered_at is None or reminders[0] <= answered_at
    closed_at = desk.closed_at()
    if answer is not None and answered_at is not None and answer[0] == "STOP":
        assert closed_at == answered_at  # declined at once, whatever was still queued
    elif answered_at is not None and not intros:
        # The customer wrote before the intro left: the follow-up stopped there, and
        # the conversation went idle a week later (the intro still being retried).
        assert closed_at is not None
        assert closed_at <= max(answered_at + IDLE_AFTER, queued + down_from + down_for)
        assert desk.handoff.close_reason == "conversation went idle; helpdesk notified"
    elif not intros:
        # Never left: closed no later than the first run_due() past the whole follow-up
        # (put off by as long as quiet hours held the intro, the first time they did).
        held = [e for e in desk.esc.history(desk.handoff_id) if e.kind == "message.deferred"]
        hold = datetime.fromisoformat(str(held[0].data["not_before"])) - held[0].at if held else 0
        cutoff = queued + DAY + ABANDON_AFTER + (hold or timedelta())
        assert closed_at is not None
        assert closed_at <= max(cutoff, queued + down_from + down_for)
    elif not quiet_hours and answered_at is None and desk.handoff.state is S.ABANDONED:
        # Reminded on time (or when the scheduler came back), abandoned 48 h after that.
        assert len(reminders) == 1
        up = queued + down_from + down_for
        expected = intros[0] + DAY
        if queued + down_from <= expected < up:
            expected = up
        assert reminders[0] in (expected, expected - SLACK)


def test_a_retry_held_by_quiet_hours_does_not_put_off_the_abandonment_of_an_unsent_intro(
    store_kind: str,
) -> None:
    """Retried every 23 h, the intro's fourth try falls at 07:00 on day 3 and waits for 08:00.

    The reminder timer, put off to 15:00 UTC on day 3 by the check, was moved by the
    hold to a day after 08:00: the unsent intro's case was abandoned 22 h after the
    cut-off (72 h after the intro was queued), not when the hold ended past it.
    """
    desk = Desk(_store(store_kind), retry_every=timedelta(hours=23))
    desk.sms.fail_next(RetryableTransportError("503 from the provider"), times=4)
    queued = desk.connect()
    desk.run_until(queued + timedelta(days=12))
    assert desk.left("intro.sms") == []
    held = [e for e in desk.esc.history(desk.handoff_id) if e.kind == "message.deferred"]
    assert held[0].at == _local(13, 7)  # 69 h after it was queued; held for an hour
    # The cut-off, put off by the hour quiet hours held the intro.
    assert desk.closed_at() == queued + DAY + ABANDON_AFTER + timedelta(hours=1)
    assert desk.handoff.state is S.ABANDONED
    assert [n.topic for n in desk.notes] == ["sla_at_risk", "abandoned"]
