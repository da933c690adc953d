"""``Workflow.default()``: public acknowledgement -> private contact -> consent -> resolution.

::

    opened -> acknowledged -> awaiting_contact -> [awaiting_consent] -> connected -> resolved
                                  \\-> abandoned (no answer), declined (opted out), failed

Timers: ``first_response_sla`` (notify the helpdesk when the SLA is at risk),
``reminder`` (one follow-up when the customer goes quiet), ``abandon`` (no
answer: abandoned, helpdesk notified), ``idle`` (a conversation that went quiet
after the customer answered). ``docs/workflows.md`` has the generated table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from escalate._exceptions import InvalidInput
from escalate._identity import Identity
from escalate._models import TERMINAL_STATES, Channel, Handoff, HandoffState, channel_for
from escalate.consent._records import ConsentAction, ConsentEvidence, ConsentSource, Purpose
from escalate.workflow._commands import (
    Command,
    Notify,
    PostPublicReply,
    RecordConsent,
    SendMessage,
    StartTimer,
)
from escalate.workflow._default_templates import DEFAULT_TEMPLATES
from escalate.workflow._definition import ContactAddress, Context, Effects, Step, Workflow, effects
from escalate.workflow._hours import BusinessHours
from escalate.workflow._inputs import (
    ContactProvided,
    Opened,
    OptedOut,
    OptInConfirmed,
    PublicReplyPosted,
    ReplyReceived,
    ResolveRequested,
    SendFailed,
    TimerFired,
)
from escalate.workflow._invite import consent_page_link, meta_private_reply_allowed, x_dm_link
from escalate.workflow._segments import sms_segments
from escalate.workflow._templates import Templates
from escalate.workflow._threading import ReplyAddressing, root_headers, thread_headers

__all__ = ["DEFAULT_STEPS", "default_workflow"]

S = HandoffState
OPEN = (S.ACKNOWLEDGED, S.AWAITING_CONTACT, S.AWAITING_CONSENT, S.CONNECTED)
BEFORE_CONTACT = (S.ACKNOWLEDGED, S.AWAITING_CONTACT, S.AWAITING_CONSENT)
SLA, REMINDER, ABANDON, IDLE = "first_response_sla", "reminder", "abandon", "idle"
INTRO = ("intro.sms", "intro.email", "intro.subject")
REMINDERS = ("reminder.sms", "reminder.email", "reminder.subject")


def _td(ctx: Context, name: str) -> timedelta:
    value = ctx.settings[name]
    assert isinstance(value, timedelta)  # checked by default_workflow
    return value


# -- messages -------------------------------------------------------------------


def _message(
    handoff: Handoff,
    ctx: Context,
    to: ContactAddress | Identity,
    name: str,
    *,
    opt_in: bool = False,
) -> SendMessage:
    """A private message from template family ``name`` (``intro``...) on ``to``'s channel."""
    identity = to.identity if isinstance(to, ContactAddress) else to
    channel = channel_for(identity)
    reference = handoff.reference
    if channel is Channel.EMAIL:
        replies = _reply_addressing(ctx)
        domain = replies.domain if replies else str(ctx.settings["message_id_domain"])
        # The handoff's first email starts the thread; later ones answer it.
        if handoff.channel is Channel.EMAIL:
            headers = thread_headers(handoff.id, handoff.version + 1, 0, domain)
        else:
            headers = root_headers(handoff.id, domain)
        return SendMessage(
            channel=channel,
            to=identity,
            body=ctx.render(f"{name}.email", reference=reference),
            subject=ctx.render(f"{name}.subject", reference=reference),
            template=f"{name}.email",
            headers=headers,
            reply_to=replies.address_for(handoff.id) if replies else None,
        )
    body = ctx.render(f"{name}.sms", reference=reference)
    cost = sms_segments(body)
    return SendMessage(
        channel=channel,
        to=identity,
        body=body,
        template=f"{name}.sms",
        opt_in_request=opt_in,
        segments=cost.segments,
        encoding=cost.encoding,
    )


def _reply_addressing(ctx: Context) -> ReplyAddressing | None:
    value = ctx.settings.get("reply_to")
    return value if isinstance(value, ReplyAddressing) else None


def _notify(handoff: Handoff, ctx: Context, topic: str, **values: object) -> Notify:
    text = ctx.render(f"notify.{topic}", reference=handoff.reference, **values)
    return Notify(topic=topic, text=text)


# -- steps ----------------------------------------------------------------------


def _acknowledge(handoff: Handoff, _: Opened, ctx: Context) -> Effects:
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
        handoff.thread, ctx.now
    ):
        invite = ctx.render("invite.meta", reference=ref)
        private = ctx.render("social.private_reply", reference=ref)
        commands.append(PostPublicReply(text=private, private=True))
    else:
        invite = ctx.render("invite.dm", reference=ref)
    greeting = f"@{handle}" if handle else ctx.render("public.greeting")
    hours = settings.get("business_hours")
    if isinstance(hours, BusinessHours) and not hours.is_open(ctx.now):
        back = hours.describe_return(ctx.now, ctx.locale)
        text = ctx.render(
            "public.ack_off_hours", greeting=greeting, invite=invite, reference=ref, back=back
        )
    else:
        text = ctx.render("public.ack", greeting=greeting, invite=invite, reference=ref)
    commands.insert(0, PostPublicReply(text=text))
    sla_at = handoff.opened_at + _td(ctx, "sla") * float(settings["sla_warning"])
    commands += [
        StartTimer(name=SLA, due_at=sla_at),
        StartTimer(name=ABANDON, due_at=ctx.now + _td(ctx, "contact_timeout")),
    ]
    return effects(*commands)


def _wants_opt_in(handoff: Handoff, event: ContactProvided, ctx: Context) -> bool:
    """double opt-in configured and the address is a phone"""
    return bool(ctx.settings["double_opt_in"]) and channel_for(event.identity) is Channel.SMS


def _request_opt_in(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
    send = _message(handoff, ctx, event.identity, "opt_in", opt_in=True)
    timer = StartTimer(name=ABANDON, due_at=ctx.now + _td(ctx, "contact_timeout"))
    return effects(send, timer, address=event.identity, channel=send.channel)


def _connect(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
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
    commands.append(_message(handoff, ctx, event.identity, "intro"))
    commands.append(StartTimer(name=REMINDER, due_at=ctx.now + _td(ctx, "reminder_after")))
    return effects(*commands, address=event.identity, channel=channel)


def _from_address(handoff: Handoff, event: OptInConfirmed, _: Context) -> bool:
    """the YES came from the handoff's address"""
    return event.message.sender == handoff.address


def _confirm_opt_in(handoff: Handoff, event: OptInConfirmed, ctx: Context) -> Effects:
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
    intro = _message(handoff, ctx, handoff.address, "intro")
    timer = StartTimer(name=REMINDER, due_at=ctx.now + _td(ctx, "reminder_after"))
    return effects(record, intro, timer)


def _customer_replied(handoff: Handoff, _: ReplyReceived, ctx: Context) -> Effects:
    return effects(StartTimer(name=IDLE, due_at=ctx.now + _td(ctx, "idle_after")))


def _remind(handoff: Handoff, _: TimerFired, ctx: Context) -> Effects:
    assert handoff.address is not None  # connected is entered with an address
    send = _message(handoff, ctx, handoff.address, "reminder")
    return effects(send, StartTimer(name=ABANDON, due_at=ctx.now + _td(ctx, "abandon_after")))


def _sla_at_risk(handoff: Handoff, _: TimerFired, ctx: Context) -> Effects:
    due = handoff.opened_at + _td(ctx, "sla")
    return effects(_notify(handoff, ctx, "sla_at_risk", due=due.isoformat(timespec="minutes")))


def _abandon(handoff: Handoff, _: TimerFired, ctx: Context) -> Effects:
    return effects(_notify(handoff, ctx, "abandoned"))


# -- fallback -------------------------------------------------------------------


def _stale_failure(handoff: Handoff, event: SendFailed, _: Context) -> bool:
    """the failure is not on the handoff's current channel (a late result)"""
    return event.channel is not handoff.channel


def _fallback_address(handoff: Handoff, event: SendFailed, ctx: Context) -> ContactAddress | None:
    excluded = {event.channel, *handoff.failed_channels}
    return next(
        (a for a in ctx.addresses if a.allowed and a.channel not in excluded),
        None,
    )


def _can_fall_back(handoff: Handoff, event: SendFailed, ctx: Context) -> bool:
    """the contact has another channel with consent"""
    return _fallback_address(handoff, event, ctx) is not None


def _opted_out(handoff: Handoff, event: SendFailed, _: Context) -> bool:
    """consent for the address was revoked"""
    return event.reason in ("consent:revoked", "RecipientOptedOut")


def _fall_back(handoff: Handoff, event: SendFailed, ctx: Context) -> Effects:
    address = _fallback_address(handoff, event, ctx)
    assert address is not None  # the guard found it
    commands: list[Command] = [_message(handoff, ctx, address, "intro")]
    if handoff.state is S.AWAITING_CONSENT:
        commands.append(StartTimer(name=REMINDER, due_at=ctx.now + _td(ctx, "reminder_after")))
    return effects(
        *commands,
        address=address.identity,
        channel=address.channel,
        failed_channels=(*handoff.failed_channels, event.channel),
    )


def _mark_failed(handoff: Handoff, event: SendFailed, _: Context) -> Effects:
    return effects(failed_channels=(*handoff.failed_channels, event.channel))


TX = Purpose.TRANSACTIONAL

DEFAULT_STEPS = (
    Step(
        S.OPENED,
        Opened,
        S.ACKNOWLEDGED,
        "public acknowledgement queued",
        _acknowledge,
        templates=(
            "public.greeting",
            "public.ack",
            "public.ack_off_hours",
            "invite.link",
            "invite.x_dm",
            "invite.dm",
            "invite.meta",
            "social.dm_prefill",
            "social.private_reply",
        ),
        starts=(SLA, ABANDON),
    ),
    Step(S.ACKNOWLEDGED, PublicReplyPosted, S.AWAITING_CONTACT, "public reply posted"),
    Step(OPEN[1:], PublicReplyPosted, None, "public reply posted"),
    Step(
        BEFORE_CONTACT,
        ContactProvided,
        S.AWAITING_CONSENT,
        "contact provided; double opt-in requested",
        _request_opt_in,
        guard=_wants_opt_in,
        templates=("opt_in.sms",),
        opt_in_request=True,
        starts=(ABANDON,),
        sends=TX,
    ),
    Step(
        BEFORE_CONTACT,
        ContactProvided,
        S.CONNECTED,
        "contact provided",
        _connect,
        templates=INTRO,
        starts=(REMINDER,),
        cancels=(SLA, ABANDON),
        sends=TX,
    ),
    Step(
        S.AWAITING_CONSENT,
        OptInConfirmed,
        S.CONNECTED,
        "double opt-in confirmed",
        _confirm_opt_in,
        guard=_from_address,
        templates=("opt_in.sms", *INTRO),
        starts=(REMINDER,),
        cancels=(SLA, ABANDON),
        sends=TX,
    ),
    Step(S.AWAITING_CONSENT, ReplyReceived, None, "reply before opt-in; not a YES"),
    Step(
        S.CONNECTED,
        ReplyReceived,
        None,
        "customer replied",
        _customer_replied,
        starts=(IDLE,),
        cancels=(REMINDER, ABANDON, IDLE),
    ),
    Step(
        BEFORE_CONTACT,
        TimerFired,
        None,
        "first-response SLA at risk; helpdesk notified",
        _sla_at_risk,
        timer=SLA,
        templates=("notify.sla_at_risk",),
    ),
    Step(
        S.CONNECTED,
        TimerFired,
        None,
        "no reply; follow-up reminder sent",
        _remind,
        timer=REMINDER,
        templates=REMINDERS,
        starts=(ABANDON,),
        sends=TX,
    ),
    Step(
        OPEN,
        TimerFired,
        S.ABANDONED,
        "no answer from the customer; helpdesk notified",
        _abandon,
        timer=ABANDON,
        templates=("notify.abandoned",),
    ),
    Step(
        S.CONNECTED,
        TimerFired,
        S.ABANDONED,
        "conversation went idle; helpdesk notified",
        _abandon,
        timer=IDLE,
        templates=("notify.abandoned",),
    ),
    Step(OPEN, SendFailed, None, "late failure on a previous channel", guard=_stale_failure),
    Step(
        S.AWAITING_CONSENT,
        SendFailed,
        S.CONNECTED,
        "send failed; fell back to another channel",
        _fall_back,
        guard=_can_fall_back,
        templates=INTRO,
        starts=(REMINDER,),
        cancels=(SLA, ABANDON),
        uses_addresses=True,
        sends=TX,
    ),
    Step(
        S.CONNECTED,
        SendFailed,
        None,
        "send failed; fell back to another channel",
        _fall_back,
        guard=_can_fall_back,
        templates=INTRO,
        uses_addresses=True,
        sends=TX,
    ),
    Step(
        OPEN,
        SendFailed,
        S.DECLINED,
        "the customer opted out; no other channel",
        _mark_failed,
        guard=_opted_out,
    ),
    Step(
        OPEN,
        SendFailed,
        S.FAILED,
        "send failed; no other consented channel",
        _mark_failed,
    ),
    Step(OPEN, OptedOut, S.DECLINED, "the customer opted out"),
    Step(OPEN, ResolveRequested, S.RESOLVED, "resolved"),
)


def default_workflow(
    *,
    brand: str = "Support",
    locale: str | Callable[[Handoff], str] = "en",
    business_hours: BusinessHours | None = None,
    contact_url: str | None = None,
    x_recipient_id: str | None = None,
    meta_private_replies: bool = False,
    double_opt_in: bool = False,
    sla: timedelta = timedelta(minutes=60),
    sla_warning: float = 0.75,
    reminder_after: timedelta = timedelta(hours=24),
    abandon_after: timedelta = timedelta(hours=48),
    contact_timeout: timedelta = timedelta(hours=72),
    idle_after: timedelta = timedelta(days=7),
    reply_to: ReplyAddressing | None = None,
    message_id_domain: str = "escalate.invalid",
    templates: Templates | None = None,
    **settings: Any,
) -> Workflow:
    """Build the default workflow.

    Args:
        brand: the name messages sign with.
        locale: a locale code of the templates (``"en"``, ``"es"``), or a callable
            ``(handoff) -> locale``.
        business_hours: off-hours acknowledgements say when the team is back.
        contact_url: a consent page; the public reply links to it with ``?ref=``.
        x_recipient_id: the brand's numeric X id; on X the reply carries a DM link.
        meta_private_replies: on Facebook/Instagram, send a private reply to the
            comment (one per comment, within 7 days of it).
        double_opt_in: a phone gets "Reply YES..." before any other text.
        sla: first-response SLA, measured to the first private message.
        sla_warning: share of ``sla`` after which the helpdesk is told it is at risk.
        reminder_after: quiet time after the first private message before the one reminder.
        abandon_after: further quiet time after the reminder before abandoning.
        contact_timeout: time to wait for contact details / the YES before abandoning.
        idle_after: quiet time after a customer reply before the handoff is abandoned.
        reply_to: signed reply-to addresses for email (``ReplyAddressing``).
        message_id_domain: Message-ID domain when ``reply_to`` is not set.
        templates: a replacement template library (same names and variables).
        settings: extra string values templates may use.

    Raises:
        InvalidInput: a non-positive duration or a warning share outside (0, 1].
        InvalidWorkflowDefinition: replacement templates that do not fit.
    """
    durations = {
        "sla": sla,
        "reminder_after": reminder_after,
        "abandon_after": abandon_after,
        "contact_timeout": contact_timeout,
        "idle_after": idle_after,
    }
    for name, value in durations.items():
        if not isinstance(value, timedelta) or value <= timedelta(0):
            raise InvalidInput(f"{name} must be a positive timedelta")
    if not 0 < sla_warning <= 1:
        raise InvalidInput("sla_warning must be in (0, 1]")
    return Workflow(
        "default",
        DEFAULT_STEPS,
        templates=templates or DEFAULT_TEMPLATES,
        settings={
            **settings,
            **durations,
            "brand": brand,
            "locale": locale,
            "business_hours": business_hours,
            "contact_url": contact_url,
            "x_recipient_id": x_recipient_id,
            "meta_private_replies": meta_private_replies,
            "double_opt_in": double_opt_in,
            "sla_warning": sla_warning,
            "reply_to": reply_to,
            "message_id_domain": message_id_domain,
        },
    )


assert not TERMINAL_STATES & set(OPEN)
