"""When the default workflow abandons a connected case: ``abandon_after`` after the reminder LEFT.

The ``abandon`` timer starts when the reminder is queued, ``abandon_after``
ahead. A reminder kept queued by transient failures and their retries, or by a
scheduler that was down when its retry came due, would otherwise leave late
while the timer kept its time: the case abandoned, and the helpdesk told to
close the public thread, hours or seconds after "still need help?" reached the
customer. So when the timer fires on a connected case, the handoff's private
messages (``ctx.messages``) decide:

- the reminder left at least ``abandon_after`` ago (less ``SLACK``), or there is
  no reminder that left or may still leave: abandon, as the timer always did;
- it left more recently: the timer comes back ``abandon_after`` after it left;
- it has not left yet, ``abandon_after`` after it was queued (the cut-off): its
  whole follow-up would have run its course, and the customer who never got it
  will not answer it; the case is abandoned and the helpdesk told, which
  withdraws the reminder (a closed case texts no one). Before the cut-off (a
  timer fired early: the default workflow's never does) it comes back then.

A reminder that failed for good (a landline, a carrier opt-out, an undelivered
report) made the case fall back with an intro on its other channel: that intro,
queued after the reminder, is the customer's nudge there, and stands for the
reminder above (left: ``abandon_after`` after it left; unsent: abandoned
``abandon_after`` after it was queued). The timer, started for the failed
reminder, used to abandon the case hours after the fallback reached the
customer, when the reminder failed after retries or the fallback waited for its
own, or for the morning. With no such intro (it failed too, and the case gave
up), there is nothing to wait for.

Quiet hours are handled before: a hold moves the timer (``SendDeferred``,
``abandonment_after_hold``), no later than the cut-off put off by the hold. A
fallback's intro held until morning moves no timer: the check, at the latest at
the intro's cut-off, finds it gone and puts the timer off again. The
reply that answers the reminder cancels the timer, wherever it was put off to.
``ABANDON_STEPS`` are the default workflow's steps for the timer on a connected
case; the check is pure: the engine loads the messages (``uses_messages=True``)
only when the ``abandon`` timer fires on a connected case.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from escalate._models import Handoff
from escalate.workflow._commands import StartTimer
from escalate.workflow._default_actions import ABANDON, S, abandon
from escalate.workflow._default_settings import duration
from escalate.workflow._definition import Context, Effects, Step, effects
from escalate.workflow._inputs import TimerFired
from escalate.workflow._messages import PrivateMessage
from escalate.workflow._reminder import INTROS, SLACK, due_after_hold

__all__ = ["ABANDON_STEPS", "AbandonCheck", "abandonment_after_hold", "check_abandonment"]

#: The reminder's templates (the subject is the email's, not a message of its own).
REMINDERS = frozenset({"reminder.sms", "reminder.email"})


@dataclass(frozen=True)
class AbandonCheck:
    """What the reminder's departure says about an ``abandon`` timer firing now.

    Attributes:
        wait_until: when to look again instead of abandoning; ``None``: abandon now.
        unsent: abandon now, the reminder still unsent at its cut-off.
    """

    wait_until: datetime | None = None
    unsent: bool = False


def check_abandonment(
    messages: Sequence[PrivateMessage], now: datetime, *, abandon_after: timedelta
) -> AbandonCheck:
    """Judge an ``abandon`` timer firing at ``now`` by the handoff's private ``messages``."""
    reminder = _reminder(messages)
    if reminder is None:
        return AbandonCheck()
    if reminder.sent_at is None:
        cutoff = reminder.queued_at + abandon_after
        if now >= cutoff:
            return AbandonCheck(unsent=True)
        return AbandonCheck(wait_until=cutoff)
    due = reminder.sent_at + abandon_after
    if now < due - SLACK:
        return AbandonCheck(wait_until=due)
    return AbandonCheck()


def abandonment_after_hold(
    messages: Sequence[PrivateMessage],
    now: datetime,
    not_before: datetime,
    *,
    abandon_after: timedelta,
) -> datetime:
    """When the ``abandon`` timer goes once quiet hours held the reminder until ``not_before``.

    ``abandon_after`` after the hold ends, as the reminder leaves then; but no
    later than its cut-off (see ``check_abandonment``) put off by the hold. A
    retry held on the second morning would otherwise move the timer most of a
    day past the cut-off, and a case whose reminder never left stay open that
    much longer. A reminder that leaves at the end of the hold is found gone
    when the timer fires at the cut-off, which puts it off again.
    """
    return due_after_hold(
        _reminder(messages), now, not_before, wait=abandon_after, cutoff_after=abandon_after
    )


def _reminder(messages: Sequence[PrivateMessage]) -> PrivateMessage | None:
    """The message the abandonment follows: the reminder, or the intro it fell back to.

    The reminder while it left or still may. Once it failed (or was refused), the
    case fell back with an intro on another channel, queued after it: that intro
    is the customer's nudge there, the latest one that left or still may.
    """
    for index in range(len(messages) - 1, -1, -1):
        reminder = messages[index]
        if reminder.template in REMINDERS:
            if _live(reminder):
                return reminder
            later = messages[index + 1 :]
            return next((m for m in reversed(later) if m.template in INTROS and _live(m)), None)
    return None


def _live(message: PrivateMessage) -> bool:
    return message.waiting or message.sent_at is not None


# -- the default workflow's steps -------------------------------------------------


def _check(ctx: Context) -> AbandonCheck:
    return check_abandonment(ctx.messages, ctx.now, abandon_after=duration(ctx, "abandon_after"))


def reminder_unsent(handoff: Handoff, _: TimerFired, ctx: Context) -> bool:
    """the reminder is still unsent `abandon_after` after it was queued"""
    return _check(ctx).unsent


def reminder_not_gone_long(handoff: Handoff, _: TimerFired, ctx: Context) -> bool:
    """the reminder left less than `abandon_after` ago (or, unsent, is short of its cut-off)"""
    return _check(ctx).wait_until is not None


def put_off_abandonment(handoff: Handoff, _: TimerFired, ctx: Context) -> Effects:
    wait_until = _check(ctx).wait_until
    assert wait_until is not None  # the guard saw it
    return effects(StartTimer(name=ABANDON, due_at=wait_until))


#: The ``abandon`` timer's steps on a connected case, tried before the one that
#: abandons (``no answer from the customer``) every open state.
ABANDON_STEPS = (
    Step(
        S.CONNECTED,
        TimerFired,
        S.ABANDONED,
        "the reminder never left; helpdesk notified",
        abandon,
        guard=reminder_unsent,
        timer=ABANDON,
        templates=("notify.abandoned",),
        uses_messages=True,
    ),
    Step(
        S.CONNECTED,
        TimerFired,
        None,
        "abandonment put off until abandon_after after the reminder left",
        put_off_abandonment,
        guard=reminder_not_gone_long,
        timer=ABANDON,
        starts=(ABANDON,),
        uses_messages=True,
    ),
)
