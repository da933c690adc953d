"""Messages crossing the boundary: what we send, what a provider answers, what comes in."""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import ConfigDict, Field, model_validator

from escalate._enum import StrEnum
from escalate._exceptions import InvalidInput
from escalate._identity import Identity, IdentityKind
from escalate._model import Model
from escalate._models import DEFAULT_TENANT, AwareDatetime, Channel
from escalate._redact import redact_body

__all__ = ["DeliveryStatus", "InboundMessage", "OutboundMessage", "SendResult"]

# The address kind a private channel's sender has. A social sender (a DM) is
# let through on any channel: ``inbound`` routes it without consent planning.
_SENDER_KIND = {
    Channel.SMS: IdentityKind.PHONE,
    Channel.WHATSAPP: IdentityKind.PHONE,
    Channel.EMAIL: IdentityKind.EMAIL,
}


class OutboundMessage(Model):
    """A private message for a transport to deliver.

    ``id`` is ours and stable across retries, so a provider's status callback can
    be matched back to it; ``idempotency_key`` is what the outbox deduplicates on.
    """

    model_config = ConfigDict(frozen=True)

    id: str
    idempotency_key: str
    tenant: str = DEFAULT_TENANT
    channel: Channel
    to: Identity
    body: str = Field(min_length=1)
    subject: str | None = None
    reference: str | None = None
    handoff_id: str | None = None
    headers: dict[str, str] = Field(default_factory=dict)

    def __repr__(self) -> str:
        return (
            f"OutboundMessage(id={self.id!r}, channel={self.channel.value!r}, to={self.to!r}, "
            f"body={redact_body(self.body)})"
        )


class DeliveryStatus(StrEnum):
    """A message's state at the provider, normalized across providers."""

    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    UNKNOWN = "unknown"


class SendResult(Model):
    """What a provider answered when it accepted a message."""

    model_config = ConfigDict(frozen=True)

    provider: str
    provider_message_id: str | None = None
    status: DeliveryStatus = DeliveryStatus.QUEUED
    raw: Any = None


class InboundMessage(Model):
    """A message a customer sent us on a private channel, already verified and parsed.

    ``sender_authenticated``: whether the receiving side vouches that whoever
    sent it controls ``sender`` (an email's From is whatever the sender typed).
    ``True``: it does (an aligned DKIM or SPF pass); ``False``: it checked and
    could not; ``None``: unknown or not applicable (an SMS sender id is the
    carrier's to vouch for; a parser with no such information). An email
    opt-out or plain reply with ``False`` waits for a person (``ConsentPolicy``'s
    ``unauthenticated_email_opt_out`` and ``unauthenticated_email_reply``).

    ``carrier_keyword``: what the provider's own keyword handling read the
    message as, when it says (Twilio's ``OptOutType``: ``"opt_out"``,
    ``"opt_in"``, ``"help"``). It has already acted on it (a STOP blocks our
    texts at the provider), so the consent ledger follows it, whatever words the
    customer used (a custom opt-out keyword, another language).
    """

    model_config = ConfigDict(frozen=True)

    channel: Channel
    sender: Identity
    body: str
    received_at: AwareDatetime
    tenant: str = DEFAULT_TENANT
    recipient: str | None = None
    provider: str = "unknown"
    provider_message_id: str | None = None
    # Strict: a coerced "no" or 1 must not vouch for a sender.
    sender_authenticated: bool | None = Field(default=None, strict=True)
    carrier_keyword: Literal["opt_out", "opt_in", "help"] | None = None
    raw: Any = None

    @model_validator(mode="after")
    def _check_sender_fits_channel(self) -> Self:
        # An email "from" a phone number matches no consent record nor open case,
        # so inbound() would drop it without a word.
        kind = self.sender.kind
        if kind is not IdentityKind.SOCIAL and kind is not _SENDER_KIND[self.channel]:
            raise InvalidInput(
                f"a {self.channel.value} message's sender must be "
                f"Identity.{_SENDER_KIND[self.channel].value}(...), not Identity.{kind.value}(...)"
            )
        return self

    def __repr__(self) -> str:
        return (
            f"InboundMessage(channel={self.channel.value!r}, sender={self.sender!r}, "
            f"body={redact_body(self.body)})"
        )
