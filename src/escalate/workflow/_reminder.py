"""When the default workflow's reminder may go: ``reminder_after`` after the intro LEFT.

The ``reminder`` timer starts when the intro is queued, ``reminder_after``
ahead. A scheduler that was late or paused (cron down for a day, a worker
backlog), or an intro kept queued by retries or pacing, would otherwise have one
``run_due()`` fire the timer and dispatch the intro together: the customer gets
the intro and "still need help?" seconds apart, or the reminder first. So when
the timer fires, the handoff's private messages (``ctx.messages``) decide:

- the intro has left at least ``reminder_after`` ago (less ``SLACK``): remind;
- it left more recently: the timer comes back ``reminder_after`` after it left;
- it has not left yet: the timer comes back ``reminder_after`` after the
  earliest it can leave (its next due time, or now if that is past), and at
  the latest when the cut-off below falls, to judge it then;
- it is still waiting ``reminder_after + abandon_after`` after it was queued:
  the whole follow-up (reminder, then abandonment) would have run its course by
  now, so there is no reminder; the case is abandoned and the helpdesk told,
  which withdraws the stale intro (a closed case texts no one).

Quiet hours are handled before: the hold moves the timer (``SendDeferred``),
and the check above then finds the intro gone on time. ``REMINDER_STEPS`` are
the default workflow's steps for the timer; like every guard and action, the
check is pure: the engine loads the messages (``uses_messages=True``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from escalate._models import Handoff
from escalate.consent._records import Purpose
from escalate.workflow._commands import StartTimer
from escalate.workflow._default_actions import ABANDON, REMINDER, REMINDERS, S, abandon, remind
from escalate.workflow._default_settings import duration
from escalate.workflow._definition import Context, Effects, Step, effects
from escalate.workflow._inputs import TimerFired
from escalate.workflow._messages import PrivateMessage

__all__ = [
    "REMINDER_STEPS",
    "SLACK",
    "ReminderCheck",
    "check_reminder",
    "due_after_hold",
    "reminder_after_hold",
]

#: A reminder this much early still goes: a scheduler that runs every minute
#: sends the intro up to a minute after it was queued, and re-arming the timer
#: for those seconds would only add a transition.
SLACK = timedelta(minutes=1)
#: The intro's templates. A fallback's intro (the first failed) is the one that
#: counts, being the later; an opt-in request is no intro (the reminder starts
#: when the intro answering the YES is queued).
INTROS = frozenset({"intro.sms", "intro.email"})


@dataclass(frozen=True)
class ReminderCheck:
    """What the intro's departure says about a reminder timer firing now.

    Attributes:
        wait_until: when to look again instead of reminding; ``None``: no wait.
        stuck: the intro is still waiting ``reminder_after + abandon_after``
            after it was queued: abandon instead of reminding.
    """

    wait_until: datetime | None = None
    stuck: bool = False


GO = ReminderCheck()


def check_reminder(
    messages: Sequence[PrivateMessage],
    now: datetime,
    *,
    reminder_after: timedelta,
    abandon_after: timedelta,
) -> ReminderCheck:
    """Judge a reminder timer firing at ``now`` by the handoff's private ``messages``."""
    intro = _intro(messages)
    if intro is None:
        # No intro that left or may still leave (failed, refused, erased): there
        # is nothing to wait for, so the reminder goes as it always did.
        return GO
    if intro.sent_at is None:
        cutoff = intro.queued_at + reminder_after + abandon_after
        if now >= cutoff:
            return ReminderCheck(stuck=True)
        next_due = max(intro.due_at or now, now)
        return ReminderCheck(wait_until=min(next_due + reminder_after, cutoff))
    due = intro.sent_at + reminder_after
    if now < due - SLACK:
        return ReminderCheck(wait_until=due)
    return GO


def reminder_after_hold(
    messages: Sequence[PrivateMessage],
    now: datetime,
    not_before: datetime,
    *,
    reminder_after: timedelta,
    abandon_after: timedelta,
) -> datetime:
    """When the reminder timer goes once quiet hours held the intro at ``now`` until ``not_before``.

    ``reminder_after`` after the hold ends, as the intro leaves then; but no later
    than the cut-off (see ``check_reminder``) put off by the hold. A retry held
    on the third morning would otherwise move the timer a day past the cut-off,
    and an intro that never left would keep its case open that much longer (or
    leave three days late, with a reminder to follow).
    """
    return due_after_hold(
        _intro(messages),
        now,
        not_before,
        wait=reminder_after,
        cutoff_after=reminder_after + abandon_after,
    )


def due_after_hold(
    message: PrivateMessage | None,
    now: datetime,
    not_before: datetime,
    *,
    wait: timedelta,
    cutoff_after: timedelta,
) -> datetime:
    """``wait`` after a hold of ``message`` ends, but no later than its cut-off put off by the hold.

    The cut-off is ``cutoff_after`` after ``message`` was queued; a message that
    left already (or none) has none.
    """
    due = not_before + wait
    if message is None or message.sent_at is not None:
        return due
    return min(due, message.queued_at + cutoff_after + max(not_before - now, timedelta()))


def _intro(messages: Sequence[PrivateMessage]) -> PrivateMessage | None:
    """The latest intro that left or still may: the one the reminder follows."""
    for message in reversed(messages):
        if message.template in INTROS and (message.waiting or message.sent_at is not None):
            return message
    return None


# -- the default workflow's steps -------------------------------------------------


def _check(ctx: Context) -> ReminderCheck:
    return check_reminder(
        ctx.messages,
        ctx.now,
        reminder_after=duration(ctx, "reminder_after"),
        abandon_after=duration(ctx, "abandon_after"),
    )


def intro_stuck(handoff: Handoff, _: TimerFired, ctx: Context) -> bool:
    """the intro is still unsent `reminder_after` + `abandon_after` after it was queued"""
    return _check(ctx).stuck


def intro_not_gone_long(handoff: Handoff, _: TimerFired, ctx: Context) -> bool:
    """the intro has not left yet, or left less than `reminder_after` ago"""
    return _check(ctx).wait_until is not None


def put_off_reminder(handoff: Handoff, _: TimerFired, ctx: Context) -> Effects:
    wait_until = _check(ctx).wait_until
    assert wait_until is not None  # the guard saw it
    return effects(StartTimer(name=REMINDER, due_at=wait_until))


#: The ``reminder`` timer's steps, in the order they are tried.
REMINDER_STEPS = (
    Step(
        S.CONNECTED,
        TimerFired,
        S.ABANDONED,
        "the intro never left; no reminder, helpdesk notified",
        abandon,
        guard=intro_stuck,
        timer=REMINDER,
        templates=("notify.abandoned",),
        uses_messages=True,
    ),
    Step(
        S.CONNECTED,
        TimerFired,
        None,
        "reminder put off until reminder_after after the intro left",
        put_off_reminder,
        guard=intro_not_gone_long,
        timer=REMINDER,
        starts=(REMINDER,),
        uses_messages=True,
    ),
    Step(
        S.CONNECTED,
        TimerFired,
        None,
        "no reply; follow-up reminder sent",
        remind,
        timer=REMINDER,
        templates=REMINDERS,
        starts=(ABANDON,),
        sends=Purpose.TRANSACTIONAL,
    ),
)
