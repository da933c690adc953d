"""The default workflow's steps for a private message held by quiet hours.

The SLA timer stops when contact arrives, but the first message may not leave
then: quiet hours can hold it until morning (``SendDeferred``). The helpdesk
hears of it at once, while it can still answer some other way. Either way the
follow-up the held message started (reminder, abandonment) counts from when it
leaves. Only when connected can the reminder be pending, to be moved.
``HELD_STEPS`` are the default workflow's ``SendDeferred`` steps.
"""

from __future__ import annotations

from escalate._models import Handoff, HandoffState
from escalate.workflow._abandonment import abandonment_after_hold
from escalate.workflow._commands import MoveTimer
from escalate.workflow._default_actions import (
    ABANDON,
    BEFORE_CONTACT,
    REMINDER,
    S,
    sla_at_risk,
)
from escalate.workflow._default_settings import duration
from escalate.workflow._definition import Context, Effects, Step, effects
from escalate.workflow._inputs import SendDeferred
from escalate.workflow._reminder import reminder_after_hold

__all__ = ["HELD_STEPS"]

#: What a handoff's first private message is sent from: the SLA runs until it leaves.
FIRST_MESSAGES = ("intro.sms", "intro.email", "opt_in.sms")


def held(handoff: Handoff, event: SendDeferred, ctx: Context) -> Effects:
    return effects(*_follow_ups_from(handoff, event, ctx))


def held_past_sla(handoff: Handoff, event: SendDeferred, ctx: Context) -> Effects:
    return effects(
        *sla_at_risk(handoff, event, ctx).commands, *_follow_ups_from(handoff, event, ctx)
    )


def _follow_ups_from(handoff: Handoff, event: SendDeferred, ctx: Context) -> list[MoveTimer]:
    """The follow-up a held message started, moved to count from when it will leave.

    The reminder comes ``reminder_after`` of quiet time after the intro, the
    abandonment ``abandon_after`` after the reminder (``contact_timeout`` after
    an opt-in request): quiet hours holding the message until morning would
    otherwise eat that time, or send the reminder right behind the intro. A
    timer no longer pending (a reply cancelled the reminder before a fallback's
    intro was held) stays stopped: ``MoveTimer`` never starts one.
    """
    template = event.template or ""
    if template.startswith("intro.") and handoff.state is S.CONNECTED:
        due = reminder_after_hold(
            ctx.messages,
            ctx.now,
            event.not_before,
            reminder_after=duration(ctx, "reminder_after"),
            abandon_after=duration(ctx, "abandon_after"),
        )
        return [MoveTimer(name=REMINDER, due_at=due)]
    if template.startswith("reminder."):
        due = abandonment_after_hold(
            ctx.messages, ctx.now, event.not_before, abandon_after=duration(ctx, "abandon_after")
        )
        return [MoveTimer(name=ABANDON, due_at=due)]
    if template == "opt_in.sms":
        return [MoveTimer(name=ABANDON, due_at=event.not_before + duration(ctx, "contact_timeout"))]
    return []


def first_message_misses_sla(handoff: Handoff, event: SendDeferred, ctx: Context) -> bool:
    """quiet hours hold the first private message past the first-response SLA"""
    due = handoff.opened_at + duration(ctx, "sla")
    return _first_message(event, ctx) and event.not_before > due


def _first_message(event: SendDeferred, ctx: Context) -> bool:
    """Whether the held message is the handoff's first private message.

    With double opt-in a text's intro answers the customer's YES: the opt-in
    request before it was the first message, and met the SLA (a YES at 21:01
    held the intro until morning and told the helpdesk of a miss that was none).
    Nor is an intro first when a private message already left: a reminder that
    met a landline falls back to an intro on the other channel, a day or more
    after the first intro reached the customer (connected, the steps load
    ``ctx.messages``; before contact nothing private has left).
    """
    if event.template == "intro.sms" and ctx.settings["double_opt_in"]:
        return False
    if any(message.sent_at is not None for message in ctx.messages):
        return False
    return event.template in FIRST_MESSAGES


def _held_steps(
    sources: HandoffState | tuple[HandoffState, ...], timers: tuple[str, ...]
) -> tuple[Step, Step]:
    """A private message held by quiet hours: past the SLA (helpdesk told), or not.

    Connected, the moves read the intro (``reminder_after_hold``) or the reminder
    (``abandonment_after_hold``).
    """
    connected = sources == S.CONNECTED
    return (
        Step(
            sources,
            SendDeferred,
            None,
            "first private message held past the first-response SLA; helpdesk notified",
            held_past_sla,
            guard=first_message_misses_sla,
            templates=("notify.sla_at_risk",),
            starts=timers,
            uses_messages=connected,
        ),
        Step(
            sources,
            SendDeferred,
            None,
            "a private message held by quiet hours",
            held,
            starts=timers,
            uses_messages=connected,
        ),
    )


#: The ``SendDeferred`` steps, in the order they are tried.
HELD_STEPS = (
    *_held_steps(S.CONNECTED, (REMINDER, ABANDON)),
    *_held_steps(BEFORE_CONTACT, (ABANDON,)),
)
