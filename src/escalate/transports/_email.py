"""Email threading shared by the SendGrid and SMTP adapters.

Every message of one handoff threads under one root: a ``Message-ID`` of our
own (from ``OutboundMessage.id``, so a bounce or reply names the outbox row),
and ``In-Reply-To``/``References`` pointing at the handoff's root id. The
reply-to address can carry the reference code, so a customer's reply routes
back to the handoff. Headers on the message itself (say, the customer's own
Message-ID to answer) win over the defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from escalate._exceptions import InvalidRecipient, PermanentTransportError
from escalate._identity import IdentityKind
from escalate._messages import OutboundMessage

__all__ = ["EmailSettings"]


@dataclass(frozen=True)
class EmailSettings:
    """How an email adapter addresses and threads what it sends.

    Args:
        from_email: the sender address.
        from_name: the sender's display name, if any.
        reply_to: a reply-to address, optionally a template with ``{reference}``
            and ``{handoff_id}`` (``"support+{reference}@inbound.example.com"``).
        subject: the subject template when a message has none.
        message_id_domain: the right-hand side of our Message-IDs (default: the
            sender's domain).
    """

    from_email: str
    from_name: str | None = None
    reply_to: str | None = None
    subject: str = "Your case {reference}"
    message_id_domain: str | None = None

    @property
    def domain(self) -> str:
        return self.message_id_domain or self.from_email.rpartition("@")[2] or "escalate.invalid"

    def recipient(self, message: OutboundMessage, provider: str) -> str:
        """The address to send to; a non-email identity is a permanent failure."""
        if message.to.kind is not IdentityKind.EMAIL:
            raise InvalidRecipient(
                f"{provider} sends email; got a {message.to.kind.value} address", provider=provider
            )
        return message.to.value

    def subject_for(self, message: OutboundMessage) -> str:
        if message.subject:
            return message.subject
        return self.subject.format(
            reference=message.reference or "", handoff_id=message.handoff_id or ""
        ).strip()

    def reply_to_for(self, message: OutboundMessage) -> str | None:
        if self.reply_to is None:
            return None
        return self.reply_to.format(
            reference=message.reference or "", handoff_id=message.handoff_id or ""
        )

    def headers_for(self, message: OutboundMessage, provider: str) -> dict[str, str]:
        """Message-ID, In-Reply-To and References, then the message's own headers."""
        headers = {"Message-ID": f"<{message.id}@{self.domain}>"}
        if message.handoff_id:
            root = f"<handoff.{message.handoff_id}@{self.domain}>"
            headers["In-Reply-To"] = root
            headers["References"] = root
        headers.update(message.headers)
        for name, value in headers.items():
            # A line break in a header would let the value forge headers of its own.
            if any(char in name + value for char in "\r\n"):
                raise PermanentTransportError(
                    f"header {name!r} contains a line break", provider=provider
                )
        return headers
