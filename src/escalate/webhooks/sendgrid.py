"""``SendGridWebhook`` (the signed Event Webhook) and ``SendGridInboundParse``
(Inbound Parse: a customer's email reply).

Needs the extra: ``pip install 'escalate[sendgrid]'``. The signature is ECDSA
P-256/SHA-256 over the ``X-Twilio-Email-Event-Webhook-Timestamp`` header plus
the raw body, the timestamp within ``max_skew`` of our clock
(``webhooks/_sendgrid_signing.py``). The body is a JSON array of events: delivery
events become ``DeliveryReport``s (keyed to our ``escalate_id`` custom arg), the
others ``ProviderEvent``s; a hard ``bounce`` is both.

Inbound Parse is signed the same way only when its Parse setting has a security
policy with signature verification; without one, SendGrid signs nothing and the
app must protect the URL itself (``docs/webhooks.md``). Its multipart body is
read with the stdlib ``email`` package (``webhooks/_mail.py``), the quoted
earlier message cut by ``strip_quoted``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any, Unpack

from escalate._exceptions import InvalidIdentity, InvalidInput, InvalidWebhookPayload
from escalate._identity import Identity
from escalate._messages import DeliveryStatus, InboundMessage
from escalate._models import Channel
from escalate.webhooks._base import (
    DeliveryReport,
    ParserOptions,
    ProviderEvent,
    content_key,
    header,
    logger,
)
from escalate.webhooks._mail import (
    addresses,
    decode,
    form_fields,
    header_block,
    header_text,
    html_text,
    json_object,
    mime,
    text_of,
)
from escalate.webhooks._mail_auth import sender_authenticated
from escalate.webhooks._quotes import strip_quoted
from escalate.webhooks._sendgrid_signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, SignedParser

__all__ = [
    "SIGNATURE_HEADER",
    "STATUSES",
    "TIMESTAMP_HEADER",
    "SendGridInboundParse",
    "SendGridWebhook",
]

_CUSTOM_ARG = "escalate_id"  # transports.sendgrid.CUSTOM_ARG, without importing the transport

#: SendGrid delivery event -> normalized status. Events not listed (open, click,
#: unsubscribe, group_unsubscribe, spamreport, any new one) are ``ProviderEvent``s.
STATUSES: dict[str, DeliveryStatus] = {
    "processed": DeliveryStatus.QUEUED,
    "deferred": DeliveryStatus.QUEUED,  # SendGrid is still trying
    "delivered": DeliveryStatus.DELIVERED,
    "bounce": DeliveryStatus.FAILED,
    "dropped": DeliveryStatus.FAILED,
}

#: Delivery events that are also a fact about the address (``bounce`` of type ``bounce``).
_ALSO_EVENTS = frozenset({"bounce"})
#: ``dropped`` reasons saying SendGrid holds the address on a suppression list: it
#: was unsubscribed, bounced or reported spam, perhaps before our webhook saw it
#: (or in SendGrid's own UI). The ledger records a ``suppressed`` fact, so the
#: address is not tried again on any purpose until the customer grants anew.
_SUPPRESSED_DROPS = frozenset({"unsubscribed address", "bounced address", "spam reporting address"})


def _str(value: object) -> str | None:
    return value if isinstance(value, str) and value else None


def _address(raw: object) -> Identity | None:
    if not isinstance(raw, str):
        return None
    try:
        return Identity.email(raw)
    except InvalidIdentity:
        return None


def _our_id(event: Mapping[str, Any]) -> str | None:
    # Custom args arrive as top-level fields; older payloads nest them.
    found = _str(event.get(_CUSTOM_ARG))
    for nested in ("custom_args", "unique_args"):
        args = event.get(nested)
        if found is None and isinstance(args, dict):
            found = _str(args.get(_CUSTOM_ARG))
    return found


class SendGridWebhook(SignedParser):
    """Verifies and parses SendGrid's signed Event Webhook.

    Args:
        public_key: the verification key from Mail Settings > Signed Event
            Webhook (base64 DER); ``None`` only with ``insecure=True``.
        max_skew: how far the signed timestamp may be from our clock.
        insecure, clock: see ``WebhookParser``.

    Raises:
        InvalidInput: a public key that is not an EC public key.
    """

    def verify(self, url_or_path: str | None, headers: Mapping[str, str], body: bytes) -> str:
        """Check the signature and the timestamp; return the body as text.

        ``url_or_path`` is not signed by SendGrid; it is accepted so that every
        parser is called the same way.

        Raises:
            WebhookSignatureError: a missing header, a bad signature (wrong key or
                a body changed by a single byte) or a timestamp outside ``max_skew``.
            InvalidWebhookPayload: a body that is not UTF-8.
        """
        text = self.text(body)
        self._check(headers, bytes(body))
        return text

    def parse(
        self, url_or_path: str | None, headers: Mapping[str, str], body: bytes
    ) -> tuple[DeliveryReport | ProviderEvent, ...]:
        """Verify, then read every event of the batch.

        An event that cannot be read (no name, no timestamp) is skipped and logged,
        so one odd event does not make SendGrid resend the whole batch forever.

        Raises:
            WebhookSignatureError: see ``verify``.
            InvalidWebhookPayload: the body is not a JSON array.
        """
        text = self.verify(url_or_path, headers, body)
        try:
            events = json.loads(text)
        except (ValueError, RecursionError):
            raise InvalidWebhookPayload("a SendGrid event webhook body is a JSON array") from None
        if not isinstance(events, list):
            raise InvalidWebhookPayload("a SendGrid event webhook body is a JSON array")
        records: list[DeliveryReport | ProviderEvent] = []
        for index, event in enumerate(events):
            read = self._read(event) if isinstance(event, dict) else None
            if read is None:
                logger.warning("sendgrid event %d skipped: no event name or timestamp", index)
                continue
            records.extend(read)
        return tuple(records)

    def _read(self, event: dict[str, Any]) -> list[DeliveryReport | ProviderEvent] | None:
        name = _str(event.get("event"))
        stamp = event.get("timestamp")
        if name is None or not isinstance(stamp, int | float) or isinstance(stamp, bool):
            return None
        try:
            at = datetime.fromtimestamp(stamp, UTC)
        except (ValueError, OverflowError, OSError):
            return None
        name = name.strip().lower()
        kind = _str(event.get("type"))  # bounce: "bounce" (hard) or "blocked"
        sg_id, ours, email = _str(event.get("sg_message_id")), _our_id(event), event.get("email")
        address = _address(email)
        # The content, never sg_event_id alone: SendGrid may change it on a retry.
        key = content_key(self.provider, sg_id or ours, name, kind, stamp, address)
        records: list[DeliveryReport | ProviderEvent] = []
        status = STATUSES.get(name)
        if status is not None:
            code = event.get("status") if name == "bounce" else event.get("reason")
            records.append(
                DeliveryReport(
                    provider=self.provider,
                    message_id=ours,
                    provider_message_id=sg_id,
                    status=status,
                    provider_status=name,
                    error_code=_str(code) if name != "processed" else None,
                    address=address,
                    at=at,
                    key=key,
                    raw=event,
                )
            )
        reason = _str(event.get("reason"))
        suppressed = name == "dropped" and (reason or "").strip().lower() in _SUPPRESSED_DROPS
        if status is None or name in _ALSO_EVENTS or suppressed:
            fact = "blocked" if name == "bounce" and kind == "blocked" else name
            fact = "suppressed" if suppressed else fact
            records.append(
                ProviderEvent(
                    provider=self.provider,
                    event=fact,
                    address=address,
                    message_id=ours,
                    provider_message_id=sg_id,
                    at=at,
                    key=content_key(key, "event"),  # a bounce's report has its own key
                    raw=event,
                )
            )
        return records


class SendGridInboundParse(SignedParser):
    """Reads SendGrid Inbound Parse POSTs: a customer's email reply as an ``InboundMessage``.

    Both of SendGrid's modes are read: the default parsed form (``from``, ``to``,
    ``cc``, ``text``, ``html``, ``headers``, ``envelope``, ``charsets``...) and
    "POST the raw, full MIME message" (``email``). Pass the raw body bytes and
    the headers (the multipart boundary is in ``Content-Type``).

    Args:
        public_key: the verification key of the Parse webhook's security policy
            (signature enabled): SendGrid then signs timestamp + raw body as it
            signs the Event Webhook. ``None`` only with ``insecure=True``, for a
            Parse setting without a security policy: SendGrid does not sign
            those, so protect the URL yourself (basic auth in it, a secret path).
        max_skew: how far the signed timestamp may be from our clock.
        max_bytes: the largest request read (SendGrid caps a message at 30 MB).
        max_text_chars: the longest reply text, once quotes are cut.
        insecure, clock, tenant: see ``WebhookParser``.
    """

    def __init__(
        self,
        public_key: str | None,
        *,
        max_bytes: int = 40 * 1024 * 1024,
        max_text_chars: int = 100_000,
        **options: Unpack[ParserOptions],
    ) -> None:
        super().__init__(public_key, **options)
        for name, value in (("max_bytes", max_bytes), ("max_text_chars", max_text_chars)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 1:
                raise InvalidInput(f"{name} must be a positive int")
        self.max_bytes = max_bytes
        self.max_text_chars = max_text_chars

    def verify(self, url_or_path: str | None, headers: Mapping[str, str], body: bytes) -> bytes:
        """Check the size, then the signature and timestamp; return the body.

        Raises:
            WebhookSignatureError: see ``SendGridWebhook.verify``.
            InvalidWebhookPayload: not bytes, or larger than ``max_bytes``.
        """
        if not isinstance(body, bytes | bytearray):
            raise InvalidWebhookPayload("a webhook body must be the raw bytes received")
        if len(body) > self.max_bytes:
            raise InvalidWebhookPayload(f"an inbound email POST over {self.max_bytes} bytes")
        self._check(headers, bytes(body))
        return bytes(body)

    def parse(
        self, url_or_path: str | None, headers: Mapping[str, str], body: bytes
    ) -> InboundMessage:
        """Verify, then read the reply.

        ``sender`` is the ``From`` address; ``recipient`` every address of the
        envelope's ``to``, then the ``To`` and ``Cc`` headers (so a signed reply-to
        address anywhere among them routes it); ``body`` the text part without the
        quoted earlier message (``strip_quoted``); ``provider_message_id`` the
        ``Message-ID``; ``received_at`` our clock; ``sender_authenticated`` from
        the ``dkim`` and ``SPF`` fields, aligned with the From domain
        (``webhooks/_mail_auth.py``; ``None`` when SendGrid posted neither).

        Raises:
            WebhookSignatureError: see ``verify``.
            InvalidWebhookPayload: not form data, JSON fields that are not JSON
                objects, no valid ``From`` address, a reply over ``max_text_chars``.
        """
        fields = form_fields(
            header(headers, "Content-Type"), self.verify(url_or_path, headers, body)
        )
        charsets = json_object(fields, "charsets")
        envelope = json_object(fields, "envelope")
        envelope_to = envelope.get("to", [])
        if not isinstance(envelope_to, list) or not all(isinstance(a, str) for a in envelope_to):
            raise InvalidWebhookPayload("sendgrid inbound envelope 'to' is not a list of addresses")

        def field(name: str) -> str | None:
            charset = charsets.get(name)
            raw = fields.get(name)
            return (
                None if raw is None else decode(raw, charset if isinstance(charset, str) else None)
            )

        if "email" in fields:  # "POST the raw, full MIME message"
            message = mime(fields["email"])
            from_ = header_text(message, "From") or field("from")
            to = [header_text(message, "To"), header_text(message, "Cc"), field("to")]
            text = text_of(message)
        else:
            message = header_block(fields.get("headers", b""))
            from_, to = field("from"), [field("to"), field("cc")]
            html = field("html")
            text = field("text") or (html_text(html) if html else "")
        senders = addresses([from_])
        try:
            sender = Identity.email(senders[0]) if senders else None
        except InvalidIdentity:
            sender = None
        if sender is None:
            raise InvalidWebhookPayload("sendgrid inbound email without a valid From address")
        reply = strip_quoted(text)
        if len(reply) > self.max_text_chars:
            raise InvalidWebhookPayload(f"a reply over {self.max_text_chars} characters")
        message_id = (header_text(message, "Message-ID") or "").strip()
        envelope_from = envelope.get("from")
        return InboundMessage(
            tenant=self.tenant,
            channel=Channel.EMAIL,
            sender=sender,
            body=reply,
            # Our clock, not the Date header: the sender writes that one, and a
            # STOP must not be filed before or after the facts it follows.
            received_at=self.clock.now(),
            recipient=", ".join(addresses([*envelope_to, *to])) or None,
            provider=self.provider,
            provider_message_id=message_id if 0 < len(message_id) <= 998 else None,
            sender_authenticated=sender_authenticated(
                sender.value,
                dkim=field("dkim"),
                spf=field("SPF"),
                envelope_from=envelope_from if isinstance(envelope_from, str) else None,
            ),
            raw={name: field(name) for name in fields},
        )
