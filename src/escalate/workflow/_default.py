"""``Workflow.default()``: public acknowledgement -> private contact -> resolution."""

from __future__ import annotations

from typing import Any

from escalate._models import Channel, Handoff, HandoffState, channel_for
from escalate.consent._policy import OPT_IN_REQUEST_TEMPLATE
from escalate.consent._records import ConsentAction, Purpose
from escalate.workflow._commands import Command, PostPublicReply, RecordConsent, SendMessage
from escalate.workflow._definition import Context, Effects, Step, Workflow, effects
from escalate.workflow._inputs import (
    ConsentConfirmed,
    ContactProvided,
    Opened,
    PublicReplyPosted,
    ReplyReceived,
    ResolveRequested,
    SendFailed,
)

__all__ = ["DEFAULT_TEMPLATES", "default_workflow"]

S = HandoffState
OPEN_STATES = (
    S.OPENED,
    S.ACKNOWLEDGED,
    S.AWAITING_CONTACT,
    S.AWAITING_CONSENT,
    S.CONNECTED,
)

DEFAULT_TEMPLATES: dict[str, str] = {
    "public_ack": (
        "{greeting} we're sorry about this and want to help. To keep your details private, "
        "{invite} and we'll follow up there. Case {reference}"
    ),
    "invite_link": "share a phone number or email at {contact_url}",
    "invite_dm": "send us a direct message with the best phone number or email to reach you",
    "intro_sms": (
        "{brand}: hi, this is about your post (case {reference}). Reply here and we'll sort it "
        "out. Reply STOP to opt out."
    ),
    "opt_in_request": (
        "{brand}: Reply YES to get updates on case {reference} by text. Reply STOP to opt out. "
        "Msg & data rates may apply."
    ),
    "intro_email_subject": "{brand}: your case {reference}",
    "intro_email": (
        "Hi,\n\nThanks for reaching out to {brand}. This is about your post (case {reference}). "
        "Reply to this email and we'll sort it out.\n\n{brand}"
    ),
}


def _acknowledge(handoff: Handoff, _: Opened, ctx: Context) -> Effects:
    handle = handoff.thread.author.handle
    invite = "invite_link" if ctx.settings.get("contact_url") else "invite_dm"
    text = ctx.render(
        "public_ack",
        greeting=f"@{handle}" if handle else "Hi,",
        invite=ctx.render(invite),
        reference=handoff.reference,
    )
    return effects(PostPublicReply(text=text))


def _double_opt_in(handoff: Handoff, event: ContactProvided, ctx: Context) -> bool:
    return bool(ctx.settings.get("double_opt_in")) and channel_for(event.identity) is Channel.SMS


def _request_opt_in(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
    """Double opt-in: record the form's consent as waiting for YES, and ask for it."""
    commands: list[Command] = []
    if event.consent is not None:
        commands.append(
            RecordConsent(
                address=event.identity,
                channel=Channel.SMS,
                purpose=Purpose.TRANSACTIONAL,
                action=ConsentAction.GRANT,
                evidence=event.consent.model_copy(
                    update={"thread_id": event.consent.thread_id or handoff.thread.thread_id}
                ),
                awaiting_confirmation=True,
            )
        )
    commands.append(
        SendMessage(
            channel=Channel.SMS,
            to=event.identity,
            body=ctx.render("opt_in_request", reference=handoff.reference),
            template=OPT_IN_REQUEST_TEMPLATE,
        )
    )
    return effects(*commands, address=event.identity, channel=Channel.SMS)


def _confirmed(handoff: Handoff, _: ConsentConfirmed, ctx: Context) -> Effects:
    """YES arrived (the ledger recorded it): now the first real text goes."""
    if handoff.address is None:  # pragma: no cover - set when the opt-in was requested
        return effects()
    body = ctx.render("intro_sms", reference=handoff.reference)
    return effects(
        SendMessage(channel=Channel.SMS, to=handoff.address, body=body, template="intro")
    )


def _connect(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
    channel = channel_for(event.identity)
    commands: list[Command] = []
    if event.consent is not None:
        commands.append(
            RecordConsent(
                address=event.identity,
                channel=channel,
                purpose=Purpose.TRANSACTIONAL,
                action=ConsentAction.GRANT,
                evidence=event.consent.model_copy(
                    update={"thread_id": event.consent.thread_id or handoff.thread.thread_id}
                ),
            )
        )
    if channel is Channel.EMAIL:
        body = ctx.render("intro_email", reference=handoff.reference)
        subject: str | None = ctx.render("intro_email_subject", reference=handoff.reference)
    else:
        body, subject = ctx.render("intro_sms", reference=handoff.reference), None
    commands.append(
        SendMessage(
            channel=channel, to=event.identity, body=body, subject=subject, template="intro"
        )
    )
    return effects(*commands, address=event.identity, channel=channel)


DEFAULT_STEPS = (
    Step(S.OPENED, Opened, S.ACKNOWLEDGED, "public acknowledgement queued", _acknowledge),
    Step(S.ACKNOWLEDGED, PublicReplyPosted, S.AWAITING_CONTACT, "public reply posted"),
    Step(S.CONNECTED, PublicReplyPosted, None, "public reply posted"),
    Step(
        (S.ACKNOWLEDGED, S.AWAITING_CONTACT),
        ContactProvided,
        S.AWAITING_CONSENT,
        "contact provided; double opt-in requested",
        _request_opt_in,
        guard=_double_opt_in,
    ),
    Step(
        (S.ACKNOWLEDGED, S.AWAITING_CONTACT),
        ContactProvided,
        S.CONNECTED,
        "contact provided",
        _connect,
    ),
    Step(S.AWAITING_CONSENT, ConsentConfirmed, S.CONNECTED, "double opt-in confirmed", _confirmed),
    Step(S.AWAITING_CONSENT, ReplyReceived, None, "customer replied before confirming"),
    Step(S.AWAITING_CONSENT, PublicReplyPosted, None, "public reply posted"),
    Step(S.CONNECTED, ReplyReceived, None, "customer replied"),
    Step(OPEN_STATES, ResolveRequested, S.RESOLVED, "resolved"),
    Step(OPEN_STATES, SendFailed, S.FAILED, "private send failed"),
)


def default_workflow(**settings: Any) -> Workflow:
    """Build the default workflow.

    ``settings``: ``brand`` and ``contact_url`` fill its templates;
    ``double_opt_in=True`` asks "Reply YES ..." before any other text by SMS.
    """
    return Workflow(
        "default",
        DEFAULT_STEPS,
        templates=DEFAULT_TEMPLATES,
        settings={"brand": "Support", "contact_url": None, "double_opt_in": False, **settings},
        required_templates=DEFAULT_TEMPLATES,
    )
