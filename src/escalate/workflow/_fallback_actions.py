"""The default workflow's fallback guards and actions: a message that failed for good.

A permanent failure on one channel moves the case to the contact's next consented
channel with its intro (and an agent's message that failed, rendered anew there,
or, when it is too long for a text, a notice asking the helpdesk for a shorter
one); with none left, the case closes and the helpdesk is told. Kept apart from
``_default_actions`` so each reads on its own.
"""

from __future__ import annotations

from escalate._identity import Identity
from escalate._models import Channel, Handoff
from escalate.sms import MAX_SMS_CHARS
from escalate.workflow._commands import Command, StartTimer
from escalate.workflow._default_actions import (
    REMINDER,
    S,
    agent_message,
    carried_text,
    helpdesk_notice,
    templated_message,
)
from escalate.workflow._default_settings import duration
from escalate.workflow._definition import ContactAddress, Context, Effects, effects
from escalate.workflow._inputs import SendFailed
from escalate.workflow._recipient import ADDRESS_UNLINKED

__all__ = [
    "TOO_LONG",
    "answered_since",
    "can_fall_back",
    "carried_message",
    "fall_back",
    "fall_back_with_message",
    "give_up",
    "opted_out",
    "stale_failure",
]


#: What the helpdesk is told of an agent's message too long for the text it would go as.
TOO_LONG = "notify.too_long_for_sms"


def stale_failure(handoff: Handoff, event: SendFailed, _: Context) -> bool:
    """the failure is not on the handoff's current channel (a late result)"""
    return event.channel is not handoff.channel


def answered_since(handoff: Handoff, event: SendFailed, ctx: Context) -> bool:
    """the customer has written from the address since the message (no agent's) was queued"""
    # A carrier's late "undelivered" for the intro, after the customer texted
    # back from that number: the conversation is live there, and moving it to
    # email (or closing it, with no email) would leave them answering into a
    # case that went elsewhere. Facts about now still count: an opt-out, a
    # consent refusal, an address unlinked from the contact.
    replied = handoff.address_replied_version
    return (
        replied is not None
        and event.queued_version is not None
        and event.queued_version < replied
        and (event.message is None or event.message.to == handoff.address)
        and carried_text(event) is None
        and not opted_out(handoff, event, ctx)
        and not event.reason.startswith("consent:")
        and event.reason != ADDRESS_UNLINKED
    )


def _fallback_address(handoff: Handoff, event: SendFailed, ctx: Context) -> ContactAddress | None:
    excluded = {event.channel, *handoff.failed_channels}
    # With double opt-in, a number gets "Reply YES" before any other text: a
    # fallback has no such request to send, so only a number that already said
    # YES (or START) by text may get its intro. A form's grant alone is not that.
    needs_yes = bool(ctx.settings.get("double_opt_in"))
    return next(
        (
            a
            for a in ctx.addresses
            if a.allowed
            and a.channel not in excluded
            and (a.confirmed or not needs_yes or a.channel is not Channel.SMS)
        ),
        None,
    )


def can_fall_back(handoff: Handoff, event: SendFailed, ctx: Context) -> bool:
    """the contact has another channel with consent"""
    return _fallback_address(handoff, event, ctx) is not None


def opted_out(handoff: Handoff, event: SendFailed, _: Context) -> bool:
    """consent for the address was revoked"""
    return event.reason in ("consent:revoked", "RecipientOptedOut")


def fall_back(handoff: Handoff, event: SendFailed, ctx: Context) -> Effects:
    """Move to the contact's next consented channel, with its intro."""
    return _fall_back(handoff, event, ctx, carry=None)


def fall_back_with_message(handoff: Handoff, event: SendFailed, ctx: Context) -> Effects:
    """``fall_back``, and after the intro the agent's message that failed, rendered anew
    for the channel (a step that declares the ``agent.*`` templates: see ``carried_text``)."""
    return _fall_back(handoff, event, ctx, carry=carried_text(event))


def _fall_back(handoff: Handoff, event: SendFailed, ctx: Context, *, carry: str | None) -> Effects:
    address = _fallback_address(handoff, event, ctx)
    assert address is not None  # the guard found it
    commands: list[Command] = [templated_message(handoff, ctx, address, "intro")]
    if carry is not None:
        # After the intro: it tells the customer who writes on this channel, and
        # on email it starts the thread the agent's message answers (index 1).
        commands.append(carried_message(handoff, ctx, address, carry, event, index=1))
    if handoff.state is S.AWAITING_CONSENT:
        commands.append(StartTimer(name=REMINDER, due_at=ctx.now + duration(ctx, "reminder_after")))
    return effects(
        *commands,
        address=address.identity,
        channel=address.channel,
        failed_channels=(*handoff.failed_channels, event.channel),
    )


def carried_message(
    handoff: Handoff,
    ctx: Context,
    to: ContactAddress | Identity,
    text: str,
    event: SendFailed,
    *,
    index: int = 0,
) -> Command:
    """The agent's ``text`` rendered for ``to``'s channel, or the helpdesk's notice when
    it does not fit one text (``TOO_LONG``).

    An email takes 5,000 characters, an SMS 1,600 (Twilio fails more for good,
    21617): cut, it would end mid-sentence; sent whole, it would fail, and a case
    with no channel left would close. The case still moves (the intro goes), so
    an agent can write the customer a shorter text. The notice gives the reason
    and the length, never the text: a notification outlives the erasable outbox row.
    """
    message = agent_message(handoff, ctx, to, text, index=index)
    if message.channel is Channel.SMS and len(message.body) > MAX_SMS_CHARS:
        return helpdesk_notice(
            handoff,
            ctx,
            "too_long_for_sms",
            why=event.reason,
            length=f"{len(message.body):,}",
            limit=f"{MAX_SMS_CHARS:,}",
        )
    return message


def give_up(handoff: Handoff, event: SendFailed, ctx: Context) -> Effects:
    """Close the case for want of a channel (failed, or declined by an opt-out), and
    tell the helpdesk: what is still queued for it never goes.

    Messages queued behind the one that failed (an agent's, written while the
    intro waited for the morning) are cancelled on the closed case: this notice
    says so, and each agent's adds its own (``_default_agent``). When the message
    that failed was an agent's, the notice says so (``notify.undelivered``).
    The reason only: the agent's text is personal data, and a notification
    outlives the outbox row that ``erase`` removes.
    """
    topic = "failed" if carried_text(event) is None else "undelivered"
    notify = helpdesk_notice(handoff, ctx, topic, why=event.reason)
    return effects(notify, failed_channels=(*handoff.failed_channels, event.channel))
