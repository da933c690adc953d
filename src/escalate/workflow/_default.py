"""``Workflow.default()``: public acknowledgement -> private contact -> consent -> resolution.

::

    opened -> acknowledged -> awaiting_contact -> [awaiting_consent] -> connected -> resolved
                                  \\-> abandoned (no answer), declined (opted out), failed

An agent's message whose channel fails goes on to the channel the case falls
back to (``_default_agent.py``); a case left without a channel tells the helpdesk.
A message held by quiet hours moves the follow-up it started
(``_default_held.py``); the reminder waits for the intro to leave
(``_reminder.py``), the abandonment for the reminder (``_abandonment.py``).
The keyword settings are checked in ``_default_settings.py``.

Timers: ``first_response_sla`` (notify the helpdesk when the SLA is at risk),
``reminder`` (one follow-up when the customer goes quiet), ``abandon`` (no
answer: abandoned, helpdesk notified), ``idle`` (a conversation that went quiet
after the customer answered). ``docs/workflows.md`` has the generated table.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from escalate._domain import check_url, header_domain
from escalate._exceptions import InvalidInput
from escalate._models import Handoff
from escalate.consent._records import Purpose
from escalate.workflow._abandonment import ABANDON_STEPS
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
    confirm_opt_in,
    connect,
    customer_replied,
    from_address,
    private_reply,
    reply_failed,
    request_opt_in,
    sla_at_risk,
    wants_opt_in,
    went_idle,
)
from escalate.workflow._default_agent import AGENT_MESSAGE_STEPS, resolved_as_given
from escalate.workflow._default_held import HELD_STEPS
from escalate.workflow._default_settings import (
    check_reply_templates,
    check_settings,
    check_types,
)
from escalate.workflow._default_templates import DEFAULT_TEMPLATES
from escalate.workflow._definition import Step, Workflow
from escalate.workflow._fallback_actions import (
    answered_since,
    can_fall_back,
    fall_back,
    give_up,
    opted_out,
    stale_failure,
)
from escalate.workflow._hours import BusinessHours
from escalate.workflow._inputs import (
    AgentReplied,
    ContactProvided,
    Opened,
    OptedOut,
    OptInConfirmed,
    PublicReplyFailed,
    PublicReplyPosted,
    ReplyReceived,
    ResolveRequested,
    SendFailed,
    TimerFired,
)
from escalate.workflow._reminder import REMINDER_STEPS
from escalate.workflow._templates import Templates
from escalate.workflow._threading import ReplyAddressing

__all__ = ["DEFAULT_STEPS", "default_workflow"]

TX = Purpose.TRANSACTIONAL


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
    Step(OPEN, PublicReplyPosted, None, "Meta private reply posted", guard=private_reply),
    Step(S.ACKNOWLEDGED, PublicReplyPosted, S.AWAITING_CONTACT, "public reply posted"),
    Step(OPEN[1:], PublicReplyPosted, None, "public reply posted"),
    Step(
        OPEN,
        PublicReplyFailed,
        None,
        "public or private reply failed; helpdesk notified",
        reply_failed,
        templates=("notify.public_reply_failed", "notify.private_reply_failed"),
    ),
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
    # A private message held by quiet hours (see ``_default_held``).
    *HELD_STEPS,
    # The reminder counts from when the intro left, not from when it was queued.
    *REMINDER_STEPS,
    # So does the abandonment, from when the reminder left (``_abandonment``).
    *ABANDON_STEPS,
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
        went_idle,
        timer=IDLE,
        templates=("notify.idle",),
    ),
    *AGENT_MESSAGE_STEPS,
    Step(OPEN, SendFailed, None, "late failure on a previous channel", guard=stale_failure),
    Step(
        S.CONNECTED,
        SendFailed,
        None,
        "late failure; the customer has written from the address since",
        guard=answered_since,
    ),
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
    Step(OPEN, ResolveRequested, S.RESOLVED, "resolved", resolved_as_given),
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
    contact_requires_author: bool | None = None,
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
        contact_url: a consent page, an absolute http(s) URL; the public reply
            links to it with ``?ref=``.
        x_recipient_id: the brand's numeric X id; on X the reply carries a DM link.
        meta_private_replies: on Facebook/Instagram, send a private reply to the
            comment (one per comment, within 7 days of it).
        double_opt_in: a phone gets "Reply YES..." before any other text.
        contact_requires_author: ``esc.contact_provided`` takes the customer's
            details only with ``author=``, the platform account the consent page
            signed them in with, and only when it is the thread's author (the
            public reply's link can be opened by anyone who read it). ``None``
            (the default): ``True`` when ``contact_url`` is set.
        sla: first-response SLA, measured to the first private message.
        sla_warning: share of ``sla`` after which the helpdesk is told it is at risk.
        reminder_after: quiet time after the intro left before the one reminder.
        abandon_after: further quiet time after the reminder before abandoning.
        contact_timeout: time to wait for contact details / the YES before abandoning.
        idle_after: quiet time after a customer reply before the handoff is abandoned.
        reply_to: signed reply-to addresses for email (``ReplyAddressing``).
        message_id_domain: Message-ID domain when ``reply_to`` is not set, a host
            name (an internationalized one is IDNA-encoded).
        templates: a replacement template library (same names and variables).
        settings: extra values the templates use (``team="Billing"`` for a
            replacement library's ``{team}``).

    Raises:
        InvalidInput: a non-positive duration, a warning share outside (0, 1], a
            setting of the wrong type (``double_opt_in="no"``), an
            ``x_recipient_id`` that is not an ASCII numeric id, a fixed ``locale``
            the templates lack (``"es-MX"`` counts as ``"es"``), or an extra
            setting no template uses (a misspelt keyword, ``double_optin=True``,
            is caught here rather than quietly ignored), a ``contact_url`` that
            is not an absolute http(s) URL with a host, or a
            ``message_id_domain`` that is not a host name (``""``, ``"a b"``,
            ``"x>y"``, a line break).
        InvalidWorkflowDefinition: replacement templates that do not fit: public
            replies, the DM prefill or email subjects without ``{reference}``, an
            off-hours reply without ``{back}`` when ``business_hours`` is set,
            the consent-page invitation without ``{link}`` when ``contact_url`` is;
            an email subject holding a line break, its own or a setting's
            (``brand="Acme\\n"``), which the email adapters would refuse at send.
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
    check_types(
        brand=(brand, str),
        business_hours=(business_hours, BusinessHours | None),
        contact_url=(contact_url, str | None),
        meta_private_replies=(meta_private_replies, bool),
        double_opt_in=(double_opt_in, bool),
        contact_requires_author=(contact_requires_author, bool | None),
        reply_to=(reply_to, ReplyAddressing | None),
        message_id_domain=(message_id_domain, str),
        templates=(templates, Templates | None),
    )
    check_url(contact_url, "contact_url")
    # Stored encoded: the Message-ID header is ASCII.
    message_id_domain = header_domain(message_id_domain, "message_id_domain")
    if not (isinstance(locale, str) or callable(locale)):
        raise InvalidInput('locale must be a locale code ("en") or a callable (handoff) -> code')
    library = templates or DEFAULT_TEMPLATES
    check_settings(library, locale, x_recipient_id, settings)
    check_reply_templates(
        library, off_hours=business_hours is not None, consent_page=contact_url is not None
    )
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
            "contact_requires_author": (
                contact_url is not None
                if contact_requires_author is None
                else contact_requires_author
            ),
            "sla_warning": sla_warning,
            "reply_to": reply_to,
            "message_id_domain": message_id_domain,
        },
    )
