"""``ConsentPolicy``: one tenant's consent settings, per purpose.

An ``Escalator`` serves one tenant, so the policy it is given is that tenant's:
quiet hours per purpose (``None`` turns them off for a purpose), the default
zone, keywords per locale, the help and confirmation texts, whether a
free-text revocation revokes or is flagged for review, and whether an email
opt-out from an unauthenticated sender is honoured or held for a person.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Literal

from escalate._enum import StrEnum, member_of
from escalate._exceptions import InvalidInput
from escalate._locale import language_of
from escalate._models import Channel
from escalate.consent._keywords import DEFAULT_KEYWORDS, KeywordSet
from escalate.consent._quiet_hours import QuietHours, zone_info
from escalate.consent._records import Purpose

__all__ = [
    "HELP_TEMPLATE",
    "KEYWORD_REPLY_TEMPLATES",
    "OPT_IN_CONFIRMATION_TEMPLATE",
    "OPT_IN_REQUEST_TEMPLATE",
    "OPT_OUT_CONFIRMATION_TEMPLATE",
    "ConsentPolicy",
    "FreeTextPolicy",
]

#: ``SendMessage.template`` names of the texts the consent layer sends itself.
HELP_TEMPLATE = "consent.help"
OPT_OUT_CONFIRMATION_TEMPLATE = "consent.opt_out_confirmation"
OPT_IN_CONFIRMATION_TEMPLATE = "consent.opt_in_confirmation"
OPT_IN_REQUEST_TEMPLATE = "consent.opt_in_request"
#: Answers to a customer's own keyword: sent at once (no quiet hours), within the
#: confirmation window of the message they answer, or not at all.
KEYWORD_REPLY_TEMPLATES = frozenset(
    {HELP_TEMPLATE, OPT_OUT_CONFIRMATION_TEMPLATE, OPT_IN_CONFIRMATION_TEMPLATE}
)


def is_keyword_answer(command: object) -> bool:
    """Whether an outbox command answers a customer's keyword (HELP, STOP, START).

    Such an answer belongs to the address, not to the case: its failure, or its
    refusal, is no failure of the handoff it is tied to.
    """
    return getattr(command, "template", None) in KEYWORD_REPLY_TEMPLATES


RATES_NOTICE = "Msg & data rates may apply"


class FreeTextPolicy(StrEnum):
    """What a free-text revocation ("please stop texting me") does."""

    REVOKE = "revoke"  # revoke every purpose, like STOP
    REVIEW = "review"  # record a review event and notify; a person decides


def _default_quiet_hours() -> dict[Purpose, QuietHours | None]:
    return {Purpose.TRANSACTIONAL: QuietHours(), Purpose.MARKETING: QuietHours()}


@dataclass(frozen=True)
class ConsentPolicy:
    """One tenant's consent settings.

    Args:
        brand: the name the help and confirmation texts sign with; ``None`` uses
            the workflow's ``brand`` setting.
        quiet_hours: per purpose; ``None`` for a purpose sends at any hour.
        quiet_hours_channels: the channels quiet hours apply to (SMS, WhatsApp).
        default_zone: the tenant's zone, used when a number gives none that works.
        locale: the keyword locale of inbound replies.
        keywords: keyword sets by locale.
        free_text: revoke on a free-text revocation, or flag it for review: a
            ``FreeTextPolicy`` or its value (``"revoke"``, ``"review"``); always
            the member once built.
        unauthenticated_email_opt_out: what an email opt-out does when the
            receiving side could not authenticate its sender
            (``InboundMessage.sender_authenticated is False``) and it did not
            come from the case's address to its signed reply-to address. ``"review"`` (the
            default): nothing is revoked or declined and nothing is sent to the
            address; a ``consent.opt_out_unverified`` event on each open case of
            the address, and an ``unverified_opt_out`` notice to the helpdesk,
            so that a person confirms with the customer; the message is no
            reply (no case moves, no timer is cancelled). A forged STOP cannot
            close someone's case, but a genuine one from a mail system that
            authenticates nothing waits for that person. ``"honour"``: every
            email opt-out revokes, as an SMS STOP does.
        unauthenticated_email_reply: the same, for a plain reply (no keyword):
            ``"review"`` (the default) feeds it to no case (its reminder and
            abandonment still run) and gives each open case of the address a
            ``reply.unverified`` event and an ``unverified_reply`` notice.
            ``"accept"``: it answers the case as any reply does.
        help_text: the HELP/INFO answer; must name ``{brand}``, say how to stop
            (``STOP``) and say "Msg & data rates may apply".
        opt_out_confirmation: the one text after a revocation.
        opt_in_confirmation: the answer to START (or to YES for a double opt-in).
        case_reference: added to those three answers when the reply is matched
            to a handoff, so that they too carry the case's reference code (as
            every private message does); may use ``{brand}`` and
            ``{reference}``; ``""`` adds nothing.
        reply_window: keyword answers go out within this time of the message
            they answer, or not at all (5 minutes).
        hash_key: key of the address hash that erased proofs keep; set a secret
            so the hash of a phone number cannot be reversed by enumeration.

    Raises:
        InvalidInput: a help text missing a required part, an unknown zone or locale.
    """

    brand: str | None = None
    quiet_hours: Mapping[Purpose, QuietHours | None] = field(default_factory=_default_quiet_hours)
    quiet_hours_channels: frozenset[Channel] = frozenset({Channel.SMS, Channel.WHATSAPP})
    default_zone: str = "UTC"
    locale: str = "en"
    keywords: Mapping[str, KeywordSet] = field(default_factory=lambda: dict(DEFAULT_KEYWORDS))
    # The text ("review") is accepted as the docs show it; __post_init__ makes it the member.
    free_text: FreeTextPolicy | Literal["revoke", "review"] = FreeTextPolicy.REVOKE
    unauthenticated_email_opt_out: Literal["review", "honour"] = "review"
    unauthenticated_email_reply: Literal["review", "accept"] = "review"
    help_text: str = (
        "{brand}: we text you about your support case. Reply STOP to opt out, HELP for help. "
        "Msg & data rates may apply."
    )
    opt_out_confirmation: str = (
        "{brand}: you're unsubscribed and will get no more texts from us. Reply START to "
        "resubscribe."
    )
    opt_in_confirmation: str = (
        "{brand}: you're subscribed to texts about your case. Reply STOP to opt out. "
        "Msg & data rates may apply."
    )
    case_reference: str = " Case {reference}."
    reply_window: timedelta = timedelta(minutes=5)
    hash_key: bytes = b"escalate"

    def __post_init__(self) -> None:
        text = self.help_text
        if "{brand}" not in text or "STOP" not in text.upper() or RATES_NOTICE not in text:
            raise InvalidInput(
                f"help_text must name {{brand}}, say how to stop (STOP) and say {RATES_NOTICE!r}"
            )
        # Each rendered once here with the values its answer has: a text that only
        # fails when rendered would fail inside a STOP, before its revoke is kept.
        for name in ("help_text", "opt_out_confirmation", "opt_in_confirmation"):
            try:
                self.render(getattr(self, name), "Brand")
            except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
                raise InvalidInput(f"{name} may use only {{brand}} ({exc!r})") from None
        if self.case_reference:
            try:
                sample = self.render(self.case_reference, "Brand", reference="K7QP-3M")
            except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
                raise InvalidInput(
                    f"case_reference may use only {{brand}} and {{reference}} ({exc!r})"
                ) from None
            if "K7QP-3M" not in sample:
                raise InvalidInput('case_reference must contain "{reference}", or be ""')
        zone_info(self.default_zone)
        if not isinstance(self.reply_window, timedelta):
            raise InvalidInput(f"reply_window must be a timedelta, not {self.reply_window!r}")
        object.__setattr__(
            self, "free_text", member_of(FreeTextPolicy, self.free_text, "free_text")
        )
        if self.unauthenticated_email_opt_out not in ("review", "honour"):
            raise InvalidInput('unauthenticated_email_opt_out must be "review" or "honour"')
        if self.unauthenticated_email_reply not in ("review", "accept"):
            raise InvalidInput('unauthenticated_email_reply must be "review" or "accept"')
        unknown = set(self.quiet_hours) - set(Purpose)
        if unknown:
            raise InvalidInput(f"quiet_hours has unknown purposes {sorted(map(str, unknown))}")
        for purpose, hours in self.quiet_hours.items():
            if hours is not None and not isinstance(hours, QuietHours):
                raise InvalidInput(f"quiet_hours[{purpose}] must be QuietHours or None")
        # A purpose left out keeps the default hours: tightening marketing's must
        # not let transactional texts go at 2 a.m. Only an explicit None is "any hour".
        object.__setattr__(self, "quiet_hours", {**_default_quiet_hours(), **self.quiet_hours})
        if language_of(self.locale) not in {key.split("-")[0].lower() for key in self.keywords}:
            raise InvalidInput(f"no keywords for locale {self.locale!r}")
        if self.reply_window <= timedelta(0):
            raise InvalidInput("reply_window must be positive")

    def render(self, text: str, brand: str, **values: str) -> str:
        """Fill a policy text with the brand (the policy's own, else ``brand``)."""
        return text.format(brand=self.brand or brand, **values)
