"""The default workflow's steps for an agent's message whose send failed.

The agent wrote it for the customer, not for a channel: when its channel fails
(a landline, an address unlinked from the contact, consent gone), it follows the
case to the channel that still reaches them, after that channel's intro
(``fall_back_with_message``), unless it is too long for a text there: then the
helpdesk is told to write a shorter one (``carried_message``); when none does,
the case closes and the helpdesk is told it was not delivered (``give_up``, with
the default workflow's other failures). A failure reported late, after the case
already moved on, sends it on the channel the case uses now (or tells the
helpdesk, when too long for a text there); after the case closed, it only tells the helpdesk
(``undelivered_after_close``): a closed case texts no one, and whether the
customer still needs the text, and how to reach them, is the agent's call.

The engine feeds every failure with the message as queued (``SendFailed.message``);
the agent's text is in its ``values``, so the message is rendered anew for the
new channel (an email gets its subject and threading headers). Templated
messages are not carried (``carried_text``). ``AGENT_MESSAGE_STEPS`` come
before the default workflow's other ``SendFailed`` steps.
"""

from __future__ import annotations

from escalate._models import Handoff
from escalate.consent._records import Purpose
from escalate.workflow._default_actions import (
    AGENT,
    INTRO,
    S,
    carried_text,
    helpdesk_notice,
)
from escalate.workflow._definition import Context, Effects, Step, effects
from escalate.workflow._fallback_actions import (
    TOO_LONG,
    can_fall_back,
    carried_message,
    fall_back_with_message,
    stale_failure,
)
from escalate.workflow._inputs import ResolveRequested, SendFailed

__all__ = ["AGENT_MESSAGE_STEPS", "resolved_as_given"]


def resolved_as_given(handoff: Handoff, event: ResolveRequested, ctx: Context) -> Effects:
    """Close with the agent's own reason ("duplicate of K7QP-3M"), the audit's and the case's."""
    return Effects(reason=event.reason)


def left_behind(handoff: Handoff, event: SendFailed, ctx: Context) -> bool:
    """an agent's message failed on a channel the handoff no longer uses"""
    return (
        carried_text(event) is not None
        and handoff.address is not None
        and stale_failure(handoff, event, ctx)
    )


def can_carry(handoff: Handoff, event: SendFailed, ctx: Context) -> bool:
    """an agent's message failed, and the contact has another channel with consent"""
    return carried_text(event) is not None and can_fall_back(handoff, event, ctx)


def send_where_the_case_went(handoff: Handoff, event: SendFailed, ctx: Context) -> Effects:
    text = carried_text(event)
    assert text is not None  # the guard saw it
    assert handoff.address is not None  # connected is entered with an address
    return effects(carried_message(handoff, ctx, handoff.address, text, event))


def an_agents_message(handoff: Handoff, event: SendFailed, ctx: Context) -> bool:
    """an agent's message did not go (and no report said it was delivered)"""
    return carried_text(event) is not None


def undelivered_after_close(handoff: Handoff, event: SendFailed, ctx: Context) -> Effects:
    """Tell the helpdesk, and nothing more: the case stays closed.

    The reason only, as ``give_up`` gives it. A templated message's failure
    after close tells no one: an intro or a reminder was about a conversation
    that is over, and a STOP's or HELP's answer is no failure of the case.
    """
    return effects(helpdesk_notice(handoff, ctx, "undelivered", why=event.reason))


# Only an agent writes while connected, so only there can its message fail while
# the case is open; closed, it can still fail, or be cancelled, after the agent
# wrote it (held by quiet hours, waiting for a retry, reported by the carrier).
AGENT_MESSAGE_STEPS = (
    Step(
        S.CONNECTED,
        SendFailed,
        None,
        "an agent's message failed on a previous channel; sent on the current one",
        send_where_the_case_went,
        guard=left_behind,
        templates=(*AGENT, TOO_LONG),
        sends=Purpose.TRANSACTIONAL,
    ),
    Step(
        S.CONNECTED,
        SendFailed,
        None,
        "an agent's message failed; fell back to another channel with it",
        fall_back_with_message,
        guard=can_carry,
        templates=(*INTRO, *AGENT, TOO_LONG),
        uses_addresses=True,
        sends=Purpose.TRANSACTIONAL,
    ),
    Step(
        (S.RESOLVED, S.ABANDONED, S.DECLINED, S.FAILED),
        SendFailed,
        None,
        "an agent's message was lost after the case closed; helpdesk notified",
        undelivered_after_close,
        guard=an_agents_message,
        templates=("notify.undelivered",),
    ),
)
