"""``Workflow.default()``: public acknowledgement -> private contact -> consent -> resolution.

::

    opened -> acknowledged -> awaiting_contact -> [awaiting_consent] -> connected -> resolved
                                  \\-> abandoned (no answer), declined (opted out), failed

An agent's message whose channel fails goes on to the channel the case falls
back to (``_default_agent.py``); a case left without a channel tells the helpdesk.

Timers: ``first_response_sla`` (notify the helpdesk when the SLA is at risk),
``reminder`` (one follow-up when the customer goes quiet), ``abandon`` (no
answer: abandoned, helpdesk notified), ``idle`` (a conversation that went quiet
after the customer answered). ``docs/workflows.md`` has the generated table.
"""

from __future__ import annotations

import typing
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from escalate._exceptions import InvalidInput, InvalidWorkflowDefinition
from escalate._models import Handoff, HandoffState
from escalate.consent._records import Purpose
from escalate.workflow._default_actions import (
    ABANDON,
    AGENT,
    BEFORE_CONTACT,
    GIVE_UP,
    IDLE,
    INTRO,
    OPEN,
    REMINDER,
    SLA,
    S,
    abandon,
    acknowledge,
    agent_reply,
    can_fall_back,
    confirm_opt_in,
    connect,
    customer_replied,
    fall_back,
    first_message_misses_sla,
    from_address,
    give_up,
    held,
    held_past_sla,
    opted_out,
    request_opt_in,
    sla_at_risk,
    stale_failure,
    wants_opt_in,
)
from escalate.workflow._default_agent import AGENT_MESSAGE_STEPS
from escalate.workflow._default_templates import DEFAULT_TEMPLATES
from escalate.workflow._definition import Step, Workflow
from escalate.workflow._hours import BusinessHours
from escalate.workflow._inputs import (
    AgentReplied,
    ContactProvided,
    Opened,
    OptedOut,
    OptInConfirmed,
    PublicReplyPosted,
    ReplyReceived,
    ResolveRequested,
    SendDeferred,
    SendFailed,
    TimerFired,
)
from escalate.workflow._reminder import REMINDER_STEPS
from escalate.workflow._templates import Templates
from escalate.workflow._threading import ReplyAddressing

__all__ = ["DEFAULT_STEPS", "default_workflow"]

TX = Purpose.TRANSACTIONAL


def _held_steps(
    sources: HandoffState | tuple[HandoffState, ...], timers: tuple[str, ...]
) -> tuple[Step, Step]:
    """A private message held by quiet hours: past the SLA (helpdesk told), or not."""
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
        ),
        Step(
            sources,
            SendDeferred,
            None,
            "a private message held by quiet hours",
            held,
            starts=timers,
        ),
    )


DEFAULT_STEPS = (
    Step(
        S.OPENED,
        Opened,
        S.ACKNOWLEDGED,
        "public acknowledgement queued",
        acknowledge,
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
        request_opt_in,
        guard=wants_opt_in,
        templates=("opt_in.sms",),
        opt_in_request=True,
        starts=(ABANDON,),
        # The "Reply YES" text is the first private message: it meets the SLA
        # (quiet hours holding it past the SLA are a SendDeferred, below).
        cancels=(SLA,),
        sends=TX,
    ),
    Step(
        BEFORE_CONTACT,
        ContactProvided,
        S.CONNECTED,
        "contact provided",
        connect,
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
        confirm_opt_in,
        guard=from_address,
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
        customer_replied,
        starts=(IDLE,),
        cancels=(REMINDER, ABANDON, IDLE),
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
    # The SLA timer stops when contact arrives, but the first message may not
    # leave then: quiet hours can hold it until morning. The helpdesk hears of it
    # at once, while it can still answer some other way. Either way the follow-up
    # the held message started (reminder, abandonment) counts from when it leaves.
    # Only when connected can the reminder be pending, to be moved.
    *_held_steps(S.CONNECTED, (REMINDER, ABANDON)),
    *_held_steps(BEFORE_CONTACT, (ABANDON,)),
    # The reminder counts from when the intro left, not from when it was queued.
    *REMINDER_STEPS,
    Step(
        OPEN,
        TimerFired,
        S.ABANDONED,
        "no answer from the customer; helpdesk notified",
        abandon,
        timer=ABANDON,
        templates=("notify.abandoned",),
    ),
    Step(
        S.CONNECTED,
        TimerFired,
        S.ABANDONED,
        "conversation went idle; helpdesk notified",
        abandon,
        timer=IDLE,
        templates=("notify.abandoned",),
    ),
    *AGENT_MESSAGE_STEPS,
    Step(OPEN, SendFailed, None, "late failure on a previous channel", guard=stale_failure),
    Step(
        S.AWAITING_CONSENT,
        SendFailed,
        S.CONNECTED,
        "send failed; fell back to another channel",
        fall_back,
        guard=can_fall_back,
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
        fall_back,
        guard=can_fall_back,
        templates=INTRO,
        uses_addresses=True,
        sends=TX,
    ),
    Step(
        OPEN,
        SendFailed,
        S.DECLINED,
        "the customer opted out; no other channel",
        give_up,
        guard=opted_out,
        templates=GIVE_UP,
    ),
    Step(
        OPEN,
        SendFailed,
        S.FAILED,
        "send failed; no other consented channel",
        give_up,
        templates=GIVE_UP,
    ),
    Step(OPEN, OptedOut, S.DECLINED, "the customer opted out"),
    Step(
        S.CONNECTED,
        AgentReplied,
        None,
        "agent replied privately",
        agent_reply,
        templates=AGENT,
        sends=TX,
    ),
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
    contact_requires_author: bool = False,
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
        contact_requires_author: ``esc.contact_provided`` takes the customer's
            details only with ``author=``, the platform account the consent page
            signed them in with, and only when it is the thread's author (the
            public reply's link can be opened by anyone who read it).
        sla: first-response SLA, measured to the first private message.
        sla_warning: share of ``sla`` after which the helpdesk is told it is at risk.
        reminder_after: quiet time after the intro left before the one reminder.
        abandon_after: further quiet time after the reminder before abandoning.
        contact_timeout: time to wait for contact details / the YES before abandoning.
        idle_after: quiet time after a customer reply before the handoff is abandoned.
        reply_to: signed reply-to addresses for email (``ReplyAddressing``).
        message_id_domain: Message-ID domain when ``reply_to`` is not set.
        templates: a replacement template library (same names and variables).
        settings: extra values the templates use (``team="Billing"`` for a
            replacement library's ``{team}``).

    Raises:
        InvalidInput: a non-positive duration, a warning share outside (0, 1], a
            setting of the wrong type (``double_opt_in="no"``), an
            ``x_recipient_id`` that is not an ASCII numeric id, a fixed ``locale``
            the templates lack (``"es-MX"`` counts as ``"es"``), or an extra
            setting no template uses (a misspelt keyword, ``double_optin=True``,
            is caught here rather than quietly ignored).
        InvalidWorkflowDefinition: replacement templates that do not fit: public
            replies, the DM prefill or email subjects without ``{reference}``, an
            off-hours reply without ``{back}`` when ``business_hours`` is set.
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
    if (
        not isinstance(sla_warning, int | float)
        or isinstance(sla_warning, bool)
        or not 0 < sla_warning <= 1
    ):
        raise InvalidInput("sla_warning must be a number in (0, 1]")
    _check_types(
        brand=(brand, str),
        business_hours=(business_hours, BusinessHours | None),
        contact_url=(contact_url, str | None),
        meta_private_replies=(meta_private_replies, bool),
        double_opt_in=(double_opt_in, bool),
        contact_requires_author=(contact_requires_author, bool),
        reply_to=(reply_to, ReplyAddressing | None),
        message_id_domain=(message_id_domain, str),
        templates=(templates, Templates | None),
    )
    if not (isinstance(locale, str) or callable(locale)):
        raise InvalidInput('locale must be a locale code ("en") or a callable (handoff) -> code')
    library = templates or DEFAULT_TEMPLATES
    _check_settings(library, locale, x_recipient_id, settings)
    _check_reply_templates(library, off_hours=business_hours is not None)
    return Workflow(
        "default",
        DEFAULT_STEPS,
        templates=library,
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
            "contact_requires_author": contact_requires_author,
            "sla_warning": sla_warning,
            "reply_to": reply_to,
            "message_id_domain": message_id_domain,
        },
    )


def _check_types(**values: tuple[object, Any]) -> None:
    """Refuse a setting of the wrong type: ``double_opt_in="no"`` would turn it on."""
    for name, (value, expected) in values.items():
        if not isinstance(value, expected):
            allowed = " or ".join(
                "None" if kind is type(None) else kind.__name__
                for kind in typing.get_args(expected) or (expected,)
            )
            raise InvalidInput(f"{name} must be {allowed}, not {type(value).__name__}")


def _check_settings(
    library: Templates,
    locale: str | Callable[[Handoff], str],
    x_recipient_id: str | None,
    extra: dict[str, Any],
) -> None:
    """Refuse settings that would only fail later, at a customer's expense."""
    if x_recipient_id is not None and not (
        isinstance(x_recipient_id, str) and x_recipient_id.isascii() and x_recipient_id.isdigit()
    ):
        # Checked here: on the first X thread the DM link could not be built.
        raise InvalidInput("x_recipient_id must be the brand's numeric X user id, as text")
    if isinstance(locale, str) and not library.has_locale(locale):
        # A callable's locales fall back to the default one per handoff, by design;
        # a fixed locale the library lacks (even by its language) is a mistake
        # made once, here.
        raise InvalidInput(
            f"locale {locale!r} has no templates (the library has {', '.join(library.locales)})"
        )
    used = {
        field
        for name in library.names
        for loc in library.locales
        for field in library.fields(name, loc)
    }
    for name in extra:
        if name not in used:
            raise InvalidInput(
                f"unknown setting {name!r}: not a parameter of Workflow.default(),"
                " and no template uses it"
            )


#: What a replacement library's templates must say, beyond what they may: the
#: public replies and the DM prefill carry the reference code (``decide`` would
#: refuse a reply without it, at the first complaint), and the off-hours reply
#: says when the team is back.
REQUIRED_FIELDS = {
    "public.ack": frozenset({"reference"}),
    "public.ack_off_hours": frozenset({"reference", "back"}),
    "social.private_reply": frozenset({"reference"}),
    "social.dm_prefill": frozenset({"reference"}),
}
#: The templates that are whole public replies.
REPLY_TEMPLATES = ("public.ack", "public.ack_off_hours", "social.private_reply")


def _check_reply_templates(library: Templates, *, off_hours: bool) -> None:
    for name, fields in REQUIRED_FIELDS.items():
        if name not in library.names:
            continue
        # The off-hours reply is never rendered without business hours.
        required = fields - {"back"} if name == "public.ack_off_hours" and not off_hours else fields
        for locale in library.locales:
            missing = sorted(required - library.fields(name, locale))
            if missing:
                kind = "a public reply" if name in REPLY_TEMPLATES else "a template"
                raise InvalidWorkflowDefinition(
                    f"template {name!r} ({locale}) is {kind} without"
                    f" {', '.join('{' + m + '}' for m in missing)}"
                )
