"""The email-first workflow's messages: one locale, every private one carrying the case's
reference (the library refuses a ``*.sms``/``*.email`` template without it), SMS capped at
one segment."""

from __future__ import annotations

from escalate import Templates

__all__ = ["TEMPLATES"]

_REF = {"reference"}
TEMPLATES = Templates(
    {
        "en": {
            "public.ack": (
                "@{handle} sorry about this! Send us a DM with your email address and we will "
                "pick it up there. Case {reference}"
            ),
            "intro.email": (
                "Hello from {brand}. This is about your post (case {reference}). Reply to this "
                "email with anything that helps: order number, photos. If you would rather "
                "get texts, reply with your mobile number and the words TEXT ME."
            ),
            "intro.subject": "{brand} case {reference}",
            "switch.sms": (
                "{brand}: as asked, we will text you about case {reference} from now on. "
                "Reply STOP to opt out."
            ),
            "back_to_email.email": (
                "We will keep talking about case {reference} by email, as we can no longer "
                "text you. Reply here any time."
            ),
            "back_to_email.subject": "{brand} case {reference}",
            "reminder.email": (
                "Still need help with case {reference}? Just reply to this email, {brand}."
            ),
            "reminder.subject": "Re: {brand} case {reference}",
            "notify.sla_at_risk": "Case {reference}: no private contact yet; SLA at risk.",
            "notify.phone_without_consent": (
                "Case {reference}: the customer gave a phone number without asking to be "
                "texted. Ask for an email instead."
            ),
            "notify.abandoned": "Case {reference}: no answer; abandoned. Close the public thread.",
            "notify.failed": "Case {reference}: no channel works ({why}); reach out publicly.",
        }
    },
    variables={
        "public.ack": {"reference", "handle"},
        "intro.email": _REF,
        "intro.subject": _REF,
        "switch.sms": _REF,
        "back_to_email.email": _REF,
        "back_to_email.subject": _REF,
        "reminder.email": _REF,
        "reminder.subject": _REF,
        "notify.sla_at_risk": _REF,
        "notify.phone_without_consent": _REF,
        "notify.abandoned": _REF,
        "notify.failed": {"reference", "why"},
    },
    max_sms_segments=1,
)
