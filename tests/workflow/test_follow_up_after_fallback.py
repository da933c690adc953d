"""The follow-up after a fallback, end to end through ``run_due()``.

A permanent send failure (a landline's 21614) moves the case to the contact's
other consented channel with an intro there. When the INTRO fails, the reminder
counts from when that fallback intro left (``_reminder.py`` follows the latest
intro). When the REMINDER fails, its fallback intro is the customer's nudge on
the new channel, and the abandonment counts from when that one left: it used to
count from when the failed reminder was queued, so a reminder retried for 39 h
before it met the landline had its case abandoned 9 h after the email reached
the customer, and a fallback that waited for retries or for the morning hours
less than that.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import pytest
from hypothesis import event, given, settings
from hypothesis import strategies as st

from escalate import (
    Channel,
    HandoffState,
    Identity,
    InvalidRecipient,
    OutboundMessage,
    RetryableTransportError,
    SendResult,
)
from escalate.store import MemoryStore, OutboxStatus, SQLiteStore, Store
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import SendMessage
from tests.conftest import EMAIL_CONSENT, WEB_FORM_CONSENT, make_thread
from tests.workflow.test_reminder_rearming import (
    ABANDON_AFTER,
    DAY,
    PHONE,
    SLACK,
    Desk,
    _local,
)

S = HandoffState
EMAIL = Identity.email("jane@example.com")
LANDLINE = InvalidRecipient("not a mobile number", provider="memory", code="21614")
BOUNCE = InvalidRecipient("no such mailbox", provider="memory", code="550")
BUSY = RetryableTransportError("503 from the provider")
HOUR = timedelta(hours=1)


class ScriptedTransport(MemoryTransport):
    """One channel's transport whose failures are scripted per message, not per call.

    ``plan(*errors)``: the next message first tried here after the call (retries of
    it keep its id) fails with ``errors``, one per attempt, then is accepted.
    """

    def __init__(self, channel: Channel) -> None:
        super().__init__([channel], name=f"memory-{channel.value}")
        self._plans: list[list[Exception]] = []
        self._plan_of: dict[str, list[Exception]] = {}

    def plan(self, *errors: Exception) -> None:
        self._plans.append(list(errors))

    def send(self, message: OutboundMessage) -> SendResult:
        if message.id not in self._plan_of:
            self._plan_of[message.id] = self._plans.pop(0) if self._plans else []
        errors = self._plan_of[message.id]
        if errors:
            with self._lock:
                self.attempts.append(message)
            raise errors.pop(0)
        return super().send(message)


@pytest.fixture(params=["memory", "sqlite"])
def store(request: pytest.FixtureRequest) -> Store:
    return MemoryStore() if request.param == "memory" else SQLiteStore(":memory:")


def two_channel_desk(store: Store, *, clock: FakeClock | None = None, **settings: object) -> Desk:
    """A case whose contact has a consented phone AND email (linked by an earlier case)."""
    transports = {"sms": ScriptedTransport(Channel.SMS), "email": ScriptedTransport(Channel.EMAIL)}
    if clock is not None:
        settings["clock"] = clock
    desk = Desk(store, **transports, **settings)  # type: ignore[arg-type]
    for thread_id, address, consent in (
        ("900", EMAIL, EMAIL_CONSENT),
        ("901", PHONE, WEB_FORM_CONSENT),
    ):
        earlier = desk.esc.open(make_thread(desk.clock, thread_id=thread_id))
        desk.esc.contact_provided(earlier.id, address, consent=consent)
        desk.esc.resolve(earlier.id)
    return desk


def scripted(transport: MemoryTransport | None) -> ScriptedTransport:
    assert isinstance(transport, ScriptedTransport)
    return transport


def rows(desk: Desk, template: str) -> list[tuple[datetime, OutboxStatus]]:
    """When each of the case's messages of ``template`` was queued, and its status now."""
    return [
        (row.created_at, row.status)
        for row in desk.store.outbox(desk.esc.tenant, handoff_id=desk.handoff_id)
        if isinstance(row.command, SendMessage) and row.command.template == template
    ]


def notified(desk: Desk) -> list[str]:
    return [n.topic for n in desk.notes if n.topic != "sla_at_risk"]


# -- the reminder fails permanently --------------------------------------------------------


@pytest.mark.parametrize("busy", [0, 1, 3])
def test_a_reminder_that_meets_a_landline_is_followed_by_the_email_intro(
    store: Store, busy: int
) -> None:
    """The reminder meets ``busy`` 503s (retried every 13 h), then the landline: the intro goes
    by email then, and the case is abandoned 48 h after it left (it used to be 48 h after the
    reminder was queued: 9 h after the email, for three 503s)."""
    desk = two_channel_desk(store, quiet_hours=False, retry_every=13 * HOUR)
    sms, email = scripted(desk.sms), scripted(desk.email)
    sms.plan()
    sms.plan(*[BUSY] * busy, LANDLINE)
    intro = desk.connect()
    desk.run_until(intro + timedelta(days=12))
    assert desk.left("intro.sms") == [intro]
    assert desk.left("reminder.sms") == []
    failed = intro + DAY + busy * 13 * HOUR
    assert desk.left("intro.email") == [failed]
    assert desk.left("reminder.email") == []  # a failed reminder is not sent again
    assert desk.handoff.state is S.ABANDONED
    assert desk.closed_at() == failed + ABANDON_AFTER
    assert notified(desk) == ["abandoned"]
    assert [m.to for m in email.sent if m.handoff_id == desk.handoff_id] == [EMAIL]


@pytest.mark.parametrize(("busy", "email_busy"), [(0, 2), (3, 2)])
def test_a_fallback_intro_kept_by_retries_gets_the_whole_abandon_after(
    store: Store, busy: int, email_busy: int
) -> None:
    """The email the reminder fell back to meets two 503s: it leaves 26 h after it was queued,
    and the case is abandoned 48 h after that (it used to be 22 h after, or at once)."""
    desk = two_channel_desk(store, quiet_hours=False, retry_every=13 * HOUR)
    sms, email = scripted(desk.sms), scripted(desk.email)
    sms.plan()
    sms.plan(*[BUSY] * busy, LANDLINE)
    email.plan(*[BUSY] * email_busy)
    intro = desk.connect()
    desk.run_until(intro + timedelta(days=12))
    fell_back = intro + DAY + busy * 13 * HOUR
    (left,) = desk.left("intro.email")
    assert left == fell_back + email_busy * 13 * HOUR
    assert desk.closed_at() == left + ABANDON_AFTER
    assert notified(desk) == ["abandoned"]


@pytest.mark.parametrize("busy", [0, 3])
def test_a_fallback_intro_that_never_leaves_closes_the_case_at_its_cut_off(
    store: Store, busy: int
) -> None:
    """The email keeps meeting 503s: the case is abandoned 48 h after it was queued, and the
    email withdrawn with it; the whole follow-up is bounded."""
    desk = two_channel_desk(store, quiet_hours=False, retry_every=13 * HOUR)
    sms, email = scripted(desk.sms), scripted(desk.email)
    sms.plan()
    sms.plan(*[BUSY] * busy, LANDLINE)
    email.plan(*[BUSY] * 15)
    intro = desk.connect()
    desk.run_until(intro + timedelta(days=12))
    fell_back = intro + DAY + busy * 13 * HOUR
    assert desk.left("intro.email") == []
    assert rows(desk, "intro.email") == [(fell_back, OutboxStatus.CANCELLED)]
    assert desk.closed_at() == fell_back + ABANDON_AFTER
    assert desk.handoff.state is S.ABANDONED
    assert notified(desk) == ["abandoned"]


def test_a_fallback_text_held_until_morning_gets_the_whole_abandon_after(store: Store) -> None:
    """Connected by email at 21:30; the reminder bounces at 21:30 the next day, and the text it
    falls back to waits for 08:00. Abandoned 48 h after 08:00 (it used to be 37.5 h after)."""
    desk = two_channel_desk(store, clock=FakeClock(_local(10, 21, 30)))
    sms, email = scripted(desk.sms), scripted(desk.email)
    email.plan()
    email.plan(BOUNCE)
    desk.esc.contact_provided(desk.handoff_id, EMAIL, consent=EMAIL_CONSENT)
    desk.run_until(_local(20, 12))
    assert desk.left("intro.email") == [_local(10, 21, 30)]
    assert rows(desk, "reminder.email") == [(_local(11, 21, 30), OutboxStatus.FAILED)]
    assert desk.left("intro.sms") == [_local(12, 8)]
    assert desk.closed_at() == _local(12, 8) + ABANDON_AFTER
    assert notified(desk) == ["abandoned"]
    assert [m.to for m in sms.sent if m.handoff_id == desk.handoff_id] == [PHONE]
    # The first private message (the email intro) left at once: the held fallback text,
    # a day later, misses no first-response SLA (it used to tell the helpdesk it did).
    history = desk.esc.history(desk.handoff_id)
    assert [e.data["topic"] for e in history if e.kind == "notify.sent"] == ["abandoned"]


def test_a_reply_to_the_fallback_intro_stops_the_abandonment(store: Store) -> None:
    """The customer answers the email 60 h after the reminder failed: no abandonment."""
    desk = two_channel_desk(store, quiet_hours=False, retry_every=13 * HOUR)
    sms = scripted(desk.sms)
    sms.plan()
    sms.plan(BUSY, BUSY, BUSY, LANDLINE)
    intro = desk.connect()
    fell_back = intro + DAY + 39 * HOUR
    desk.run_until(fell_back + timedelta(hours=47))
    assert desk.handoff.is_open
    desk.text("Thanks, still waiting")  # texts still reach the case on its old channel
    desk.run_until(fell_back + ABANDON_AFTER + timedelta(hours=1))
    assert desk.handoff.state is S.CONNECTED
    assert notified(desk) == []


# -- the intro fails permanently -----------------------------------------------------------


@pytest.mark.parametrize(("busy", "email_busy"), [(0, 0), (2, 0), (0, 2), (3, 1)])
def test_an_intro_that_meets_a_landline_is_reminded_a_day_after_the_email_intro(
    store: Store, busy: int, email_busy: int
) -> None:
    """The intro meets ``busy`` 503s (every 5 h), then the landline; the email intro meets
    ``email_busy``. The reminder goes by email a day after the email intro LEFT, and the case
    is abandoned 48 h after the reminder."""
    desk = two_channel_desk(store, quiet_hours=False, retry_every=5 * HOUR)
    sms, email = scripted(desk.sms), scripted(desk.email)
    sms.plan(*[BUSY] * busy, LANDLINE)
    email.plan(*[BUSY] * email_busy)
    queued = desk.connect()
    desk.run_until(queued + timedelta(days=12))
    assert desk.left("intro.sms") == []
    (left,) = desk.left("intro.email")
    assert left == queued + (busy + email_busy) * 5 * HOUR
    assert desk.left("reminder.email") == [left + DAY]
    assert desk.left("reminder.sms") == []
    assert desk.closed_at() == left + DAY + ABANDON_AFTER
    assert notified(desk) == ["abandoned"]
    assert len([m for m in email.sent if m.handoff_id == desk.handoff_id]) == 2


# -- any permanent failure, any retries, any outage ----------------------------------------


def _sent(desk: Desk, prefix: str) -> list[datetime]:
    return [
        e.at
        for e in desk.esc.history(desk.handoff_id)
        if e.kind == "message.sent" and str(e.data.get("template")).startswith(prefix)
    ]


def _queued(desk: Desk, prefix: str) -> list[datetime]:
    return [
        row.created_at
        for row in desk.store.outbox(desk.esc.tenant, handoff_id=desk.handoff_id)
        if isinstance(row.command, SendMessage) and (row.command.template or "").startswith(prefix)
    ]


def _hold_after(desk: Desk, since: datetime) -> timedelta:
    """How long quiet hours first held one of the case's messages at or after ``since``."""
    for e in desk.esc.history(desk.handoff_id):
        if e.kind == "message.deferred" and e.at >= since:
            return datetime.fromisoformat(str(e.data["not_before"])) - e.at
    return timedelta()


@settings(max_examples=150, deadline=None)
@given(
    fails=st.sampled_from(["none", "intro", "reminder"]),
    intro_busy=st.integers(0, 3),
    busy=st.integers(0, 4),
    fallback_busy=st.integers(0, 4),
    every=st.integers(2, 30 * 60).map(lambda m: timedelta(minutes=m)),
    down_from=st.integers(0, 100 * 60).map(lambda m: timedelta(minutes=m)),
    down_for=st.integers(0, 80 * 60).map(lambda m: timedelta(minutes=m)),
    queuing=st.booleans(),
    quiet_hours=st.booleans(),
)
def test_the_follow_up_counts_from_the_messages_that_reached_the_customer(
    fails: str,
    intro_busy: int,
    busy: int,
    fallback_busy: int,
    every: timedelta,
    down_from: timedelta,
    down_for: timedelta,
    queuing: bool,
    quiet_hours: bool,
) -> None:
    """The intro, the reminder or neither meets a landline (after 503s), the email it falls
    back to meets 503s, quiet hours hold texts, and nobody runs run_due() for a while. The
    customer, who never answers, gets ``reminder_after`` after the intro (or its fallback)
    reached them before the reminder, and ``abandon_after`` after the reminder (or its
    fallback) reached them before the case is abandoned (both less SLACK); a case whose
    messages never left is abandoned at the cut-off, or when the scheduler is back past it."""
    desk = two_channel_desk(
        MemoryStore(), queuing=queuing, quiet_hours=quiet_hours, retry_every=every
    )
    sms, email = scripted(desk.sms), scripted(desk.email)
    if fails == "intro":
        sms.plan(*[BUSY] * intro_busy, LANDLINE)
        email.plan(*[BUSY] * fallback_busy)  # the email intro
        email.plan(*[BUSY] * busy)  # the reminder, by email
    else:
        sms.plan(*[BUSY] * intro_busy)
        sms.plan(*[BUSY] * busy, *([LANDLINE] if fails == "reminder" else []))
        email.plan(*[BUSY] * fallback_busy)  # the email the reminder falls back to
    queued = desk.connect()
    desk.run_until(queued + down_from)
    back = queued + down_from + down_for
    desk.outage(back)
    desk.run_until(queued + timedelta(days=16))

    assert desk.handoff.state is S.ABANDONED
    assert notified(desk) == ["abandoned"]
    closed = desk.closed_at()
    assert closed is not None
    intros, reminders = _sent(desk, "intro."), _sent(desk, "reminder.")
    reminder_rows = _queued(desk, "reminder.")
    assert len(reminders) <= len(reminder_rows) <= 1
    if fails == "reminder":
        assert _sent(desk, "reminder.email") == []
    if reminders:
        invites = [t for t in intros if t <= reminders[0]]
        assert invites
        assert reminders[0] >= invites[-1] + DAY - SLACK
    if not reminder_rows:
        # The intro (or its fallback) never left: abandoned at its cut-off, put off by
        # as long as quiet hours held it, or when the scheduler came back past that.
        event(f"{fails}: no reminder")
        assert intros == []
        intro_queued = _queued(desk, "intro.")[-1]
        cutoff = intro_queued + DAY + ABANDON_AFTER + _hold_after(desk, intro_queued)
        assert closed <= max(cutoff, back)
        return
    reminder_queued = reminder_rows[0]
    followed = reminders + [t for t in intros if t >= reminder_queued]
    if followed:
        event(f"{fails}: abandoned after {'reminder' if reminders else 'its fallback'}")
        assert closed >= followed[-1] + ABANDON_AFTER - SLACK
        assert closed <= max(followed[-1] + ABANDON_AFTER, back)
    else:
        event(f"{fails}: the follow-up never left")
        last_queued = max(reminder_queued, *_queued(desk, "intro."))
        cutoff = last_queued + ABANDON_AFTER + _hold_after(desk, last_queued)
        assert closed <= max(cutoff, back)
