"""An "email first, SMS only on request" workflow, declared with ``Step``s.

A team whose agents work in email (long answers, attachments, one thread per
case) wants customers there, and wants a text message only when the customer
asks for one. The path:

- The public reply asks for an email address (DM or the consent page).
- An email given with the customer's consent starts the email conversation.
- A phone number is texted only when the customer ticked "text me" (consent
  evidence comes with it); a bare phone number is not texted: the helpdesk is
  told to ask for an email instead.
- Once on email, the customer may ask to switch to SMS ("text me instead at ...");
  the integration passes that number with the email as evidence, and the
  conversation moves to SMS.
- A STOP, or a number that cannot take texts (a landline), moves the
  conversation back to the customer's consented email rather than ending it.
- Quiet for 2 days: one reminder; quiet 3 more days: abandoned, helpdesk told.
  Email is slower than SMS, so these are longer than the default workflow's.

Every action is a pure function of ``(handoff, input, ctx)``; the ``Step``
declarations say which templates it renders, which timers it starts and cancels,
and the consent purpose its private messages rely on, so a mistake fails when
the module is imported.
"""

from __future__ import annotations

from datetime import timedelta

from custom_workflow.templates import TEMPLATES
from escalate import Channel, Handoff, HandoffState, Identity, IdentityKind, Purpose
from escalate.consent import ConsentAction
from escalate.workflow import (
    Command,
    ContactAddress,
    ContactProvided,
    Context,
    Effects,
    Notify,
    Opened,
    OptedOut,
    PostPublicReply,
    PublicReplyPosted,
    RecordConsent,
    ReplyReceived,
    ResolveRequested,
    SendFailed,
    SendMessage,
    StartTimer,
    Step,
    TimerFired,
    Workflow,
    effects,
)

__all__ = ["TEMPLATES", "email_first_workflow"]

S = HandoffState
TX = Purpose.TRANSACTIONAL
OPEN = (S.ACKNOWLEDGED, S.AWAITING_CONTACT, S.CONNECTED)
BEFORE_CONTACT = (S.ACKNOWLEDGED, S.AWAITING_CONTACT)

# Timer names.
SLA, NO_CONTACT, REMINDER, ABANDON, IDLE = "sla", "no_contact", "reminder", "abandon", "idle"

# -- guards (a guard's docstring names it in the transition table) -------------------


def is_email(handoff: Handoff, event: ContactProvided, ctx: Context) -> bool:
    """the address is an email"""
    return event.identity.kind is IdentityKind.EMAIL


def phone_with_consent(handoff: Handoff, event: ContactProvided, ctx: Context) -> bool:
    """a phone number, and the customer asked to be texted"""
    return event.identity.kind is IdentityKind.PHONE and event.consent is not None


def email_to_return_to(handoff: Handoff, event: SendFailed | OptedOut, ctx: Context) -> bool:
    """the conversation is on SMS and the contact has an email with consent"""
    return handoff.channel is Channel.SMS and _consented_email(ctx) is not None


def stale_failure(handoff: Handoff, event: SendFailed, ctx: Context) -> bool:
    """the failure is on a channel the handoff no longer uses"""
    return event.channel is not handoff.channel


def opted_out(handoff: Handoff, event: SendFailed, ctx: Context) -> bool:
    """consent for the address was revoked"""
    return event.reason in ("consent:revoked", "RecipientOptedOut")


def _consented_email(ctx: Context) -> ContactAddress | None:
    return next((a for a in ctx.addresses if a.channel is Channel.EMAIL and a.allowed), None)


# -- actions --------------------------------------------------------------------------


def acknowledge(handoff: Handoff, event: Opened, ctx: Context) -> Effects:
    text = ctx.render(
        "public.ack", reference=handoff.reference, handle=handoff.thread.author.handle or "there"
    )
    return effects(
        PostPublicReply(text=text),
        StartTimer(name=SLA, due_at=handoff.opened_at + ctx.settings["sla"]),
        StartTimer(name=NO_CONTACT, due_at=ctx.now + ctx.settings["contact_timeout"]),
    )


def _grant(handoff: Handoff, event: ContactProvided, channel: Channel) -> list[Command]:
    """The consent the customer gave with the address, tied to this case (or nothing)."""
    if event.consent is None:
        return []
    evidence = event.consent.model_copy(
        update={"thread_id": event.consent.thread_id or handoff.thread.thread_id}
    )
    record = RecordConsent(
        address=event.identity,
        channel=channel,
        purpose=TX,
        action=ConsentAction.GRANT,
        evidence=evidence,
    )
    return [record]


def _email(handoff: Handoff, ctx: Context, to: Identity, name: str) -> SendMessage:
    return SendMessage(
        channel=Channel.EMAIL,
        to=to,
        template=f"{name}.email",
        body=ctx.render(f"{name}.email", reference=handoff.reference),
        subject=ctx.render(f"{name}.subject", reference=handoff.reference),
    )


def _remind_later(ctx: Context) -> StartTimer:
    return StartTimer(name=REMINDER, due_at=ctx.now + ctx.settings["reminder_after"])


def start_email(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
    hello = _email(handoff, ctx, event.identity, "intro")
    return effects(
        *_grant(handoff, event, Channel.EMAIL),
        hello,
        _remind_later(ctx),
        address=event.identity,
        channel=Channel.EMAIL,
    )


def start_sms(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
    text = SendMessage(
        channel=Channel.SMS,
        to=event.identity,
        template="switch.sms",
        body=ctx.render("switch.sms", reference=handoff.reference),
    )
    return effects(
        *_grant(handoff, event, Channel.SMS),
        text,
        _remind_later(ctx),
        address=event.identity,
        channel=Channel.SMS,
    )


def ask_for_email(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
    text = ctx.render("notify.phone_without_consent", reference=handoff.reference)
    return effects(Notify(topic="phone_without_consent", text=text))


def back_to_email(handoff: Handoff, event: SendFailed | OptedOut, ctx: Context) -> Effects:
    email = _consented_email(ctx)
    assert email is not None  # the guard found it
    return effects(
        _email(handoff, ctx, email.identity, "back_to_email"),
        _remind_later(ctx),
        address=email.identity,
        channel=Channel.EMAIL,
        failed_channels=(*handoff.failed_channels, Channel.SMS),
    )


def remind(handoff: Handoff, event: TimerFired, ctx: Context) -> Effects:
    assert handoff.address is not None  # connected is entered with an address
    if handoff.channel is Channel.SMS:
        # The customer asked for texts; the one reminder still goes by email if we
        # have a consented one, otherwise not at all (SMS only on request).
        email = _consented_email(ctx)
        commands: list[Command] = (
            [_email(handoff, ctx, email.identity, "reminder")] if email else []
        )
    else:
        commands = [_email(handoff, ctx, handoff.address, "reminder")]
    later = StartTimer(name=ABANDON, due_at=ctx.now + ctx.settings["abandon_after"])
    return effects(*commands, later)


def customer_replied(handoff: Handoff, event: ReplyReceived, ctx: Context) -> Effects:
    return effects(StartTimer(name=IDLE, due_at=ctx.now + ctx.settings["idle_after"]))


def sla_at_risk(handoff: Handoff, event: TimerFired, ctx: Context) -> Effects:
    text = ctx.render("notify.sla_at_risk", reference=handoff.reference)
    return effects(Notify(topic="sla_at_risk", text=text))


def abandon(handoff: Handoff, event: TimerFired, ctx: Context) -> Effects:
    return effects(
        Notify(topic="abandoned", text=ctx.render("notify.abandoned", reference=handoff.reference))
    )


def give_up(handoff: Handoff, event: SendFailed | OptedOut, ctx: Context) -> Effects:
    why = event.reason
    text = ctx.render("notify.failed", reference=handoff.reference, why=why)
    channels = {*handoff.failed_channels, event.channel}
    return effects(Notify(topic="failed", text=text), failed_channels=tuple(sorted(channels)))


# -- the declaration --------------------------------------------------------------------

EMAIL_TEMPLATES = ("intro.email", "intro.subject")
BACK_TEMPLATES = ("back_to_email.email", "back_to_email.subject")
REMINDER_TEMPLATES = ("reminder.email", "reminder.subject")
CONVERSATION_TIMERS = (REMINDER, ABANDON, IDLE)


def steps() -> list[Step]:
    """The declared transitions, first match wins."""
    return [
        Step(
            S.OPENED,
            Opened,
            S.ACKNOWLEDGED,
            "asked publicly for an email",
            acknowledge,
            templates=("public.ack",),
            starts=(SLA, NO_CONTACT),
        ),
        Step(S.ACKNOWLEDGED, PublicReplyPosted, S.AWAITING_CONTACT, "public reply posted"),
        Step((S.AWAITING_CONTACT, S.CONNECTED), PublicReplyPosted, None, "public reply posted"),
        # Before any private contact.
        Step(
            BEFORE_CONTACT,
            ContactProvided,
            S.CONNECTED,
            "email given",
            start_email,
            guard=is_email,
            templates=EMAIL_TEMPLATES,
            sends=TX,
            starts=(REMINDER,),
            cancels=(SLA, NO_CONTACT),
        ),
        Step(
            BEFORE_CONTACT,
            ContactProvided,
            S.CONNECTED,
            "customer asked to be texted",
            start_sms,
            guard=phone_with_consent,
            templates=("switch.sms",),
            sends=TX,
            starts=(REMINDER,),
            cancels=(SLA, NO_CONTACT),
        ),
        Step(
            BEFORE_CONTACT,
            ContactProvided,
            None,
            "phone without a request to be texted; helpdesk asked to get an email",
            ask_for_email,
            templates=("notify.phone_without_consent",),
        ),
        Step(
            BEFORE_CONTACT,
            TimerFired,
            None,
            "first-response SLA at risk; helpdesk notified",
            sla_at_risk,
            timer=SLA,
            templates=("notify.sla_at_risk",),
        ),
        Step(
            BEFORE_CONTACT,
            TimerFired,
            S.ABANDONED,
            "no contact details; helpdesk notified",
            abandon,
            timer=NO_CONTACT,
            templates=("notify.abandoned",),
        ),
        # In the conversation.
        Step(
            S.CONNECTED,
            ContactProvided,
            None,
            "customer asked to switch to SMS",
            start_sms,
            guard=phone_with_consent,
            templates=("switch.sms",),
            sends=TX,
            starts=(REMINDER,),
            cancels=CONVERSATION_TIMERS,
        ),
        Step(
            S.CONNECTED,
            ContactProvided,
            None,
            "another email given",
            start_email,
            guard=is_email,
            templates=EMAIL_TEMPLATES,
            sends=TX,
            starts=(REMINDER,),
            cancels=CONVERSATION_TIMERS,
        ),
        Step(
            S.CONNECTED,
            ReplyReceived,
            None,
            "customer replied",
            customer_replied,
            starts=(IDLE,),
            cancels=CONVERSATION_TIMERS,
        ),
        Step(
            S.CONNECTED,
            TimerFired,
            None,
            "quiet: one reminder by email",
            remind,
            timer=REMINDER,
            templates=REMINDER_TEMPLATES,
            sends=TX,
            starts=(ABANDON,),
            uses_addresses=True,
        ),
        Step(
            S.CONNECTED,
            TimerFired,
            S.ABANDONED,
            "no answer after the reminder",
            abandon,
            timer=ABANDON,
            templates=("notify.abandoned",),
        ),
        Step(
            S.CONNECTED,
            TimerFired,
            S.ABANDONED,
            "conversation went idle",
            abandon,
            timer=IDLE,
            templates=("notify.abandoned",),
        ),
        # Trouble on SMS goes back to email; anything else ends the handoff.
        Step(
            S.CONNECTED,
            OptedOut,
            None,
            "STOP on SMS; back to email",
            back_to_email,
            guard=email_to_return_to,
            templates=BACK_TEMPLATES,
            sends=TX,
            starts=(REMINDER,),
            cancels=CONVERSATION_TIMERS,
            uses_addresses=True,
        ),
        Step(OPEN, OptedOut, S.DECLINED, "the customer opted out"),
        Step(OPEN, SendFailed, None, "late failure on a previous channel", guard=stale_failure),
        Step(
            S.CONNECTED,
            SendFailed,
            None,
            "SMS failed; back to email",
            back_to_email,
            guard=email_to_return_to,
            templates=BACK_TEMPLATES,
            sends=TX,
            starts=(REMINDER,),
            cancels=CONVERSATION_TIMERS,
            uses_addresses=True,
        ),
        Step(
            OPEN,
            SendFailed,
            S.DECLINED,
            "the customer opted out; no other channel",
            give_up,
            guard=opted_out,
            templates=("notify.failed",),
        ),
        Step(
            OPEN,
            SendFailed,
            S.FAILED,
            "send failed; no other channel",
            give_up,
            templates=("notify.failed",),
        ),
        Step(OPEN, ResolveRequested, S.RESOLVED, "resolved"),
    ]


def email_first_workflow(
    *,
    brand: str = "Support",
    sla: timedelta = timedelta(minutes=60),
    contact_timeout: timedelta = timedelta(hours=72),
    reminder_after: timedelta = timedelta(days=2),
    abandon_after: timedelta = timedelta(days=3),
    idle_after: timedelta = timedelta(days=7),
) -> Workflow:
    """The email-first workflow; durations are the team's own choices."""
    return Workflow(
        "email-first",
        steps(),
        templates=TEMPLATES,
        settings={
            "brand": brand,
            "sla": sla,
            "contact_timeout": contact_timeout,
            "reminder_after": reminder_after,
            "abandon_after": abandon_after,
            "idle_after": idle_after,
        },
    )
