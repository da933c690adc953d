"""The default workflow's actions and guards: pure functions of (handoff, input, context).

``_default.py`` declares the steps that use them. A guard's docstring names it in
the transition table.
"""

from __future__ import annotations

from escalate._exceptions import InvalidInput
from escalate._identity import Identity
from escalate._models import Channel, Handoff, HandoffState, channel_for
from escalate.consent._records import ConsentAction, ConsentEvidence, ConsentSource, Purpose
from escalate.sms import MAX_SMS_CHARS
from escalate.workflow._commands import (
    Command,
    Notify,
    PostPublicReply,
    RecordConsent,
    SendMessage,
    StartTimer,
)
from escalate.workflow._default_settings import duration
from escalate.workflow._definition import ContactAddress, Context, Effects, effects
from escalate.workflow._hours import BusinessHours
from escalate.workflow._inputs import (
    AgentReplied,
    ContactProvided,
    Opened,
    OptInConfirmed,
    PublicReplyFailed,
    PublicReplyPosted,
    ReplyReceived,
    SendDeferred,
    SendFailed,
    TimerFired,
)
from escalate.workflow._invite import consent_page_link, meta_private_reply_allowed, x_dm_link
from escalate.workflow._threading import ReplyAddressing, email_thread_headers, root_headers

S = HandoffState
OPEN = (S.ACKNOWLEDGED, S.AWAITING_CONTACT, S.AWAITING_CONSENT, S.CONNECTED)
BEFORE_CONTACT = (S.ACKNOWLEDGED, S.AWAITING_CONTACT, S.AWAITING_CONSENT)
SLA, REMINDER, ABANDON, IDLE = "first_response_sla", "reminder", "abandon", "idle"
INTRO = ("intro.sms", "intro.email", "intro.subject")
REMINDERS = ("reminder.sms", "reminder.email", "reminder.subject")
AGENT = ("agent.sms", "agent.email", "agent.subject")
#: What ``give_up`` tells the helpdesk: the case closed, or an agent's message with it.
GIVE_UP = ("notify.failed", "notify.undelivered")


# -- messages -------------------------------------------------------------------


def templated_message(
    handoff: Handoff,
    ctx: Context,
    to: ContactAddress | Identity,
    name: str,
    *,
    opt_in: bool = False,
    follow_up: bool = False,
    index: int = 0,
    in_order: bool = False,
    **values: str,
) -> SendMessage:
    """A private message from template family ``name`` (``intro``...) on ``to``'s channel.

    ``values`` fill the template's own variables (an agent's ``text``), and are
    kept on the message so a fallback can render it again; a ``follow_up`` is
    withdrawn if the customer replies before it leaves; an ``in_order`` one
    never overtakes the handoff's earlier messages to ``to``. ``index`` is the
    message's place among the transition's emails (a fallback's intro, then the
    agent's message it carries).
    """
    identity = to.identity if isinstance(to, ContactAddress) else to
    channel = channel_for(identity)
    reference = handoff.reference
    if channel is Channel.EMAIL:
        replies = _reply_addressing(ctx)
        domain = replies.domain if replies else str(ctx.settings["message_id_domain"])
        # The handoff's first email starts the thread; later ones answer it.
        if handoff.channel is Channel.EMAIL or index > 0:
            headers = email_thread_headers(handoff.id, handoff.version + 1, index, domain)
        else:
            headers = root_headers(handoff.id, domain)
        return SendMessage(
            channel=channel,
            to=identity,
            body=ctx.render(f"{name}.email", reference=reference, **values),
            subject=ctx.render(f"{name}.subject", reference=reference),
            template=f"{name}.email",
            headers=headers,
            reply_to=replies.address_for(handoff.id) if replies else None,
            follow_up=follow_up,
            in_order=in_order,
            values=values,
        )
    return SendMessage(
        channel=channel,
        to=identity,
        body=ctx.render(f"{name}.sms", reference=reference, **values),
        template=f"{name}.sms",
        opt_in_request=opt_in,
        follow_up=follow_up,
        in_order=in_order,
        values=values,
    )


def agent_message(
    handoff: Handoff, ctx: Context, to: ContactAddress | Identity, text: str, *, index: int = 0
) -> SendMessage:
    """An agent's ``text`` to the customer at ``to``, signed (``agent.*``).

    ``in_order``: it never overtakes the intro (or an earlier text) it follows,
    should that one wait for a retry.
    """
    return templated_message(handoff, ctx, to, "agent", index=index, in_order=True, text=text)


def carried_text(event: SendFailed) -> str | None:
    """The text of the agent's message whose send failed, if the failure is one's.

    Only an agent's message follows the case to another channel: a fallback
    sends its own intro, and a reminder is only a nudge. None too when a report
    said the message was delivered (``SendFailed.message`` is then None).
    """
    message = event.message
    if message is None or message.template not in AGENT:
        return None
    return message.values.get("text") or None


def _reply_addressing(ctx: Context) -> ReplyAddressing | None:
    value = ctx.settings.get("reply_to")
    return value if isinstance(value, ReplyAddressing) else None


def helpdesk_notice(
    handoff: Handoff, ctx: Context, topic: str, template: str | None = None, **values: object
) -> Notify:
    """The helpdesk notification ``notify.<template>`` (default: the topic), rendered."""
    text = ctx.render(f"notify.{template or topic}", reference=handoff.reference, **values)
    return Notify(topic=topic, text=text)


# -- steps ----------------------------------------------------------------------


def acknowledge(handoff: Handoff, event: Opened, ctx: Context) -> Effects:
    ref = handoff.reference
    handle = handoff.thread.author.handle
    commands: list[Command] = []
    settings = ctx.settings
    if settings.get("contact_url"):
        invite = ctx.render("invite.link", link=consent_page_link(settings["contact_url"], ref))
    elif handoff.thread.platform == "x" and settings.get("x_recipient_id"):
        prefill = ctx.render("social.dm_prefill", reference=ref)
        link = x_dm_link(settings["x_recipient_id"], prefill)
        invite = ctx.render("invite.x_dm", link=link, reference=ref)
    elif settings.get("meta_private_replies") and meta_private_reply_allowed(
        handoff.thread, ctx.now, earlier_handoffs=event.earlier_handoffs
    ):
        invite = ctx.render("invite.meta", reference=ref)
        private = ctx.render("social.private_reply", reference=ref)
        commands.append(PostPublicReply(text=private, private=True))
    else:
        invite = ctx.render("invite.dm", reference=ref)
    greeting = f"@{handle}" if handle else ctx.render("public.greeting")
    hours = settings.get("business_hours")
    text = ctx.render("public.ack", greeting=greeting, invite=invite, reference=ref)
    if isinstance(hours, BusinessHours) and not hours.is_open(ctx.now):
        back = hours.describe_return(ctx.now, ctx.locale)
        off_hours = ctx.render(
            "public.ack_off_hours", greeting=greeting, invite=invite, reference=ref, back=back
        )
        # Posted once the team is back (a retry, a late scheduler), "back Monday
        # 09:00" would be stale: the plain acknowledgement goes instead.
        reply = PostPublicReply(
            text=off_hours, valid_until=hours.next_open(ctx.now), later_text=text
        )
    else:
        reply = PostPublicReply(text=text)
    commands.insert(0, reply)
    sla_at = handoff.opened_at + duration(ctx, "sla") * float(settings["sla_warning"])
    commands += [
        StartTimer(name=SLA, due_at=sla_at),
        StartTimer(name=ABANDON, due_at=ctx.now + duration(ctx, "contact_timeout")),
    ]
    return effects(*commands)


def private_reply(handoff: Handoff, event: PublicReplyPosted, _: Context) -> bool:
    """it was the Meta private reply, which only the comment's author sees"""
    # The case moves on when the public acknowledgement is out, not when the
    # private reply beat it there (or went alone, the public one refused).
    return event.private


def wants_opt_in(handoff: Handoff, event: ContactProvided, ctx: Context) -> bool:
    """double opt-in configured and the address is a phone"""
    return bool(ctx.settings["double_opt_in"]) and channel_for(event.identity) is Channel.SMS


def request_opt_in(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
    send = templated_message(handoff, ctx, event.identity, "opt_in", opt_in=True)
    timer = StartTimer(name=ABANDON, due_at=ctx.now + duration(ctx, "contact_timeout"))
    commands: list[Command] = [send, timer]
    if event.consent is not None:
        # Keep the form's proof, marked as waiting for the YES: the ledger
        # refuses every other text until the YES turns it into a grant.
        evidence = event.consent.model_copy(
            update={"thread_id": event.consent.thread_id or handoff.thread.thread_id}
        )
        commands.insert(
            0,
            RecordConsent(
                address=event.identity,
                channel=send.channel,
                purpose=Purpose.TRANSACTIONAL,
                action=ConsentAction.GRANT,
                evidence=evidence,
                awaiting_confirmation=True,
            ),
        )
    return effects(*commands, address=event.identity, channel=send.channel)


def connect(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
    channel = channel_for(event.identity)
    commands: list[Command] = []
    if event.consent is not None:
        evidence = event.consent.model_copy(
            update={"thread_id": event.consent.thread_id or handoff.thread.thread_id}
        )
        commands.append(
            RecordConsent(
                address=event.identity,
                channel=channel,
                purpose=Purpose.TRANSACTIONAL,
                action=ConsentAction.GRANT,
                evidence=evidence,
            )
        )
    commands.append(templated_message(handoff, ctx, event.identity, "intro"))
    commands.append(StartTimer(name=REMINDER, due_at=ctx.now + duration(ctx, "reminder_after")))
    return effects(*commands, address=event.identity, channel=channel)


def from_address(handoff: Handoff, event: OptInConfirmed, _: Context) -> bool:
    """the YES came from the handoff's address"""
    return event.message.sender == handoff.address


def confirm_opt_in(handoff: Handoff, event: OptInConfirmed, ctx: Context) -> Effects:
    assert handoff.address is not None  # awaiting_consent is entered with an address
    evidence = ConsentEvidence(
        source=ConsentSource.SMS_KEYWORD,
        text=ctx.render("opt_in.sms", reference=handoff.reference),
        provider_message_id=event.message.provider_message_id,
        thread_id=handoff.thread.thread_id,
    )
    record = RecordConsent(
        address=handoff.address,
        channel=Channel.SMS,
        purpose=Purpose.TRANSACTIONAL,
        action=ConsentAction.GRANT,
        evidence=evidence,
    )
    intro = templated_message(handoff, ctx, handoff.address, "intro")
    timer = StartTimer(name=REMINDER, due_at=ctx.now + duration(ctx, "reminder_after"))
    return effects(record, intro, timer)


def agent_reply(handoff: Handoff, event: AgentReplied, ctx: Context) -> Effects:
    assert handoff.address is not None  # connected is entered with an address
    message = agent_message(handoff, ctx, handoff.address, event.text)
    if message.channel is Channel.SMS and len(message.body) > MAX_SMS_CHARS:
        # Refused here, before anything is written: sent, it would fail for good
        # at the provider, and a case with no other channel would close failed.
        raise InvalidInput(
            f"the message is {len(message.body):,} characters as a text (with the"
            f" brand and case reference); an SMS takes at most {MAX_SMS_CHARS:,}: split it"
        )
    return effects(message)


def customer_replied(handoff: Handoff, _: ReplyReceived, ctx: Context) -> Effects:
    return effects(StartTimer(name=IDLE, due_at=ctx.now + duration(ctx, "idle_after")))


def remind(handoff: Handoff, _: TimerFired, ctx: Context) -> Effects:
    assert handoff.address is not None  # connected is entered with an address
    send = templated_message(handoff, ctx, handoff.address, "reminder", follow_up=True)
    return effects(send, StartTimer(name=ABANDON, due_at=ctx.now + duration(ctx, "abandon_after")))


def sla_at_risk(handoff: Handoff, _: TimerFired | SendDeferred, ctx: Context) -> Effects:
    due = handoff.opened_at + duration(ctx, "sla")
    return effects(
        helpdesk_notice(handoff, ctx, "sla_at_risk", due=due.isoformat(timespec="minutes"))
    )


def reply_failed(handoff: Handoff, event: PublicReplyFailed, ctx: Context) -> Effects:
    # Without it the case waits out its abandonment timer, the customer
    # unanswered (or told to expect a private message that never came).
    topic = "private_reply_failed" if event.private else "public_reply_failed"
    return effects(helpdesk_notice(handoff, ctx, topic, why=event.reason))


def abandon(handoff: Handoff, _: TimerFired, ctx: Context) -> Effects:
    return effects(helpdesk_notice(handoff, ctx, "abandoned"))


def went_idle(handoff: Handoff, _: TimerFired, ctx: Context) -> Effects:
    # Same topic as an unanswered case (the helpdesk closes the public thread
    # either way), but the customer did answer: "no answer" would send an agent
    # looking for a reply that is in the thread.
    return effects(helpdesk_notice(handoff, ctx, "abandoned", template="idle"))
