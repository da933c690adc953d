"""Email threading shared by the SendGrid and SMTP adapters.

By default every message of one handoff threads under one root: a
``Message-ID`` of our own (from ``OutboundMessage.id``, so a bounce or reply
names the outbox row), and ``In-Reply-To``/``References`` pointing at the
handoff's root id. The reply-to address can carry the reference code, so a
customer's reply routes back to the handoff. Headers on the message itself win
over the defaults, whatever their case: a message that brings its own
``Message-ID`` brings its own threading (the default workflow's first email
answers nothing, later ones answer it), and its ``Reply-To`` (the workflow's
signed address) is the reply-to, which the adapters set in the provider's own
field: SendGrid refuses ``Reply-To`` among custom headers.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from escalate._domain import check_email, has_line_break, header_domain
from escalate._exceptions import InvalidInput, InvalidRecipient, PermanentTransportError
from escalate._identity import IdentityKind
from escalate._messages import OutboundMessage

__all__ = ["EmailSettings", "ascii_domain", "has_line_break"]


def ascii_domain(address: str) -> str:
    """``address`` with its domain in A-labels (``jane@xn--bcher-kva.de`` for
    ``jane@bücher.de``): what SMTP commands and ASCII headers carry. The local
    part is kept; only SMTPUTF8 carries a non-ASCII one.

    Raises:
        InvalidInput: not an email address.
    """
    local, _, domain = address.rpartition("@")
    if domain.isascii():
        return address
    return f"{local}@{check_email(address, 'not an email address').ascii_domain}"


@dataclass(frozen=True)
class EmailSettings:
    """How an email adapter addresses and threads what it sends.

    Args:
        from_email: the sender address.
        from_name: the sender's display name, if any.
        reply_to: a reply-to address, optionally a template with ``{reference}``
            and ``{handoff_id}`` (``"support+{reference}@inbound.example.com"``).
        subject: the subject template when a message has none.
        message_id_domain: the right-hand side of our Message-IDs, a host name
            (default: the sender's domain).

    Raises:
        InvalidInput: a ``from_email`` that is not an email address, a
            ``from_name`` with a line break, a ``message_id_domain`` that is not
            a host name, a ``reply_to`` that is not an email address once filled
            in, or a template with another placeholder or a line break.
    """

    from_email: str
    from_name: str | None = None
    reply_to: str | None = None
    subject: str = "Your case {reference}"
    message_id_domain: str | None = None
    #: The right-hand side of our Message-IDs, in A-labels.
    _domain: str = field(init=False, repr=False, compare=False, default="")

    def __post_init__(self) -> None:
        # Each of these is in every email: a bad one would fail every send, or
        # break every thread, instead of failing here once.
        if not isinstance(self.from_email, str):
            raise InvalidInput(f"from_email must be str, not {type(self.from_email).__name__}")
        check_email(self.from_email, "from_email must be an email address")
        if self.from_name is not None and (
            not isinstance(self.from_name, str) or has_line_break(self.from_name)
        ):
            raise InvalidInput("from_name must be a str without line breaks")
        if self.message_id_domain is not None:
            domain = header_domain(self.message_id_domain, "message_id_domain")
            object.__setattr__(self, "message_id_domain", domain)
        # The sender's own domain as typed may be internationalized; a Message-ID is ASCII.
        default = ascii_domain(self.from_email).rpartition("@")[2].lower()
        object.__setattr__(self, "_domain", self.message_id_domain or default)
        for name in ("reply_to", "subject"):
            template = getattr(self, name)
            if template is None:
                continue
            if not isinstance(template, str):
                raise InvalidInput(f"{name} must be str, not {type(template).__name__}")
            try:
                sample = template.format(reference="F1B7-43", handoff_id="ho_sample")
            except (KeyError, IndexError, ValueError):
                raise InvalidInput(
                    f"{name} may use only {{reference}} and {{handoff_id}}: {template!r}"
                ) from None
            if has_line_break(sample):
                raise InvalidInput(f"{name} must not contain a line break")
            if name == "reply_to":
                check_email(sample, "reply_to must be an email address")

    @property
    def domain(self) -> str:
        """The right-hand side of our Message-IDs: ``message_id_domain``, else the sender's."""
        return self._domain

    def recipient(self, message: OutboundMessage, provider: str) -> str:
        """The address to send to; a non-email identity is a permanent failure."""
        if message.to.kind is not IdentityKind.EMAIL:
            raise InvalidRecipient(
                f"{provider} sends email; got a {message.to.kind.value} address", provider=provider
            )
        return message.to.value

    def subject_for(self, message: OutboundMessage, provider: str = "email") -> str:
        """The message's own subject, else the ``subject`` template filled in.

        Raises:
            PermanentTransportError: the message's subject holds a line break.
        """
        if message.subject:
            _refuse_line_breaks("Subject", message.subject, provider)
            return message.subject
        return self.subject.format(
            reference=message.reference or "", handoff_id=message.handoff_id or ""
        ).strip()

    def reply_to_for(self, message: OutboundMessage, provider: str = "email") -> str | None:
        """The message's own ``Reply-To`` header, else the ``reply_to`` template filled in."""
        own = _own_headers(message)
        if "reply-to" in own:
            name, value = own["reply-to"]
            _refuse_line_breaks(name, value, provider)
            return value
        if self.reply_to is None:
            return None
        # Checked to be an address when configured; its domain may be internationalized.
        return ascii_domain(
            self.reply_to.format(
                reference=message.reference or "", handoff_id=message.handoff_id or ""
            )
        )

    def headers_for(self, message: OutboundMessage, provider: str) -> dict[str, str]:
        """Message-ID, In-Reply-To and References, then the message's own headers.

        The message's own win, compared without regard to case; its ``Reply-To``
        is left out (``reply_to_for`` gives it, for the provider's own field).
        """
        own = _own_headers(message)
        own.pop("reply-to", None)
        headers = {"message-id": ("Message-ID", f"<{message.id}@{self.domain}>")}
        if message.handoff_id and "message-id" not in own:
            root = f"<handoff.{message.handoff_id}@{self.domain}>"
            headers["in-reply-to"] = ("In-Reply-To", root)
            headers["references"] = ("References", root)
        headers.update(own)
        for name, value in headers.values():
            _refuse_line_breaks(name, value, provider)
        return dict(headers.values())


def _own_headers(message: OutboundMessage) -> dict[str, tuple[str, str]]:
    """The message's headers by lowercase name, each with its name as written."""
    return {name.lower(): (name, value) for name, value in message.headers.items()}


def _refuse_line_breaks(name: str, value: str, provider: str) -> None:
    # A line break in a header would let the value forge headers of its own.
    if has_line_break(name) or has_line_break(value):
        raise PermanentTransportError(f"header {name!r} contains a line break", provider=provider)
