"""The default workflow's steps for an agent's message whose send failed.

The agent wrote it for the customer, not for a channel: when its channel fails
(a landline, an address unlinked from the contact, consent gone), it follows the
case to the channel that still reaches them, after that channel's intro; when
none does, the helpdesk is told it was not delivered. A failure reported late,
after the case already moved on, sends it on the channel the case uses now.

The engine feeds every failure with the message as queued (``SendFailed.message``);
the agent's text is in its ``values``, so the message is rendered anew for the
new channel (an email gets its subject and threading headers). Templated
messages are not carried: a fallback sends its own intro, and a reminder is
only a nudge. ``AGENT_MESSAGE_STEPS`` come before the default workflow's other
``SendFailed`` steps, which then only ever see other messages' failures.
"""

from __future__ import annotations

from escalate._models import Handoff
from escalate.consent._records import Purpose
from escalate.workflow._default_actions import (
    AGENT,
    INTRO,
    S,
    _message,
    _notify,
    can_fall_back,
    fall_back,
    mark_failed,
    opted_out,
    stale_failure,
)
from escalate.workflow._definition import Context, Effects, Step, effects
from escalate.workflow._inputs import SendFailed

__all__ = ["AGENT_MESSAGE_STEPS"]

UNDELIVERED = ("notify.undelivered",)


def _agent_text(event: SendFailed) -> str | None:
    """The text of the agent's message whose send failed, if the failure is one's."""
    message = event.message
    if message is None or message.template not in AGENT:
        return None
    return message.values.get("text") or None


def _text(event: SendFailed) -> str:
    text = _agent_text(event)
    assert text is not None  # the step's guard saw it
    return text


# -- guards ---------------------------------------------------------------------


def left_behind(handoff: Handoff, event: SendFailed, ctx: Context) -> bool:
    """an agent's message failed on a channel the handoff no longer uses"""
    return (
        _agent_text(event) is not None
        and handoff.address is not None
        and stale_failure(handoff, event, ctx)
    )


def can_carry(handoff: Handoff, event: SendFailed, ctx: Context) -> bool:
    """an agent's message failed, and the contact has another channel with consent"""
    return _agent_text(event) is not None and can_fall_back(handoff, event, ctx)


def refused_after_opt_out(handoff: Handoff, event: SendFailed, ctx: Context) -> bool:
    """an agent's message failed: consent for the address was revoked"""
    return _agent_text(event) is not None and opted_out(handoff, event, ctx)


def undelivered(handoff: Handoff, event: SendFailed, _: Context) -> bool:
    """an agent's message failed"""
    return _agent_text(event) is not None


# -- actions --------------------------------------------------------------------


def send_where_the_case_went(handoff: Handoff, event: SendFailed, ctx: Context) -> Effects:
    assert handoff.address is not None  # connected is entered with an address
    return effects(_message(handoff, ctx, handoff.address, "agent", text=_text(event)))


def fall_back_with_message(handoff: Handoff, event: SendFailed, ctx: Context) -> Effects:
    fell = fall_back(handoff, event, ctx)
    # After the intro: it tells the customer who writes on this channel, and on
    # email it starts the thread the agent's message answers (index 1).
    carried = _message(handoff, ctx, fell.updates["address"], "agent", index=1, text=_text(event))
    return Effects(commands=(*fell.commands, carried), updates=fell.updates)


def tell_the_helpdesk(handoff: Handoff, event: SendFailed, ctx: Context) -> Effects:
    # The reason only: the agent's text is personal data, and a notification
    # outlives the outbox row that ``erase`` removes with the address.
    notify = _notify(handoff, ctx, "undelivered", why=event.reason)
    return effects(notify, **mark_failed(handoff, event, ctx).updates)


# Only an agent writes while connected, so only there can its message fail.
AGENT_MESSAGE_STEPS = (
    Step(
        S.CONNECTED,
        SendFailed,
        None,
        "an agent's message failed on a previous channel; sent on the current one",
        send_where_the_case_went,
        guard=left_behind,
        templates=AGENT,
        sends=Purpose.TRANSACTIONAL,
    ),
    Step(
        S.CONNECTED,
        SendFailed,
        None,
        "an agent's message failed; fell back to another channel with it",
        fall_back_with_message,
        guard=can_carry,
        templates=(*INTRO, *AGENT),
        uses_addresses=True,
        sends=Purpose.TRANSACTIONAL,
    ),
    Step(
        S.CONNECTED,
        SendFailed,
        S.DECLINED,
        "the customer opted out; no other channel; helpdesk told the agent's message"
        " was not delivered",
        tell_the_helpdesk,
        guard=refused_after_opt_out,
        templates=UNDELIVERED,
    ),
    Step(
        S.CONNECTED,
        SendFailed,
        S.FAILED,
        "an agent's message failed; no other consented channel; helpdesk notified",
        tell_the_helpdesk,
        guard=undelivered,
        templates=UNDELIVERED,
    ),
)
