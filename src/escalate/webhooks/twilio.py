"""``TwilioWebhook``: verify and parse Twilio's messaging webhooks (incoming SMS and
WhatsApp messages, and the StatusCallback delivery reports).

Needs the extra: ``pip install 'escalate[twilio]'``. The ``X-Twilio-Signature``
check is the SDK's ``RequestValidator`` (HMAC over the URL Twilio called and the
sorted form fields; JSON bodies are signed through ``?bodySHA256=``), so the URL
must be the public one: set ``public_base_url`` behind a proxy.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal, Unpack
from urllib.parse import parse_qs, urlsplit

from escalate._exceptions import (
    InvalidIdentity,
    InvalidInput,
    InvalidWebhookPayload,
    MissingDependencyError,
)
from escalate._identity import Identity
from escalate._messages import DeliveryStatus, InboundMessage
from escalate._models import Channel
from escalate.transports.twilio import STATUS_CALLBACK_PARAM, STATUSES
from escalate.webhooks._base import (
    DeliveryReport,
    ParserOptions,
    WebhookParser,
    content_key,
    header,
)

try:
    from twilio import request_validator as _validator
    from twilio.request_validator import RequestValidator
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise MissingDependencyError("twilio", "twilio") from exc

__all__ = ["ESCALATE_ID_PARAM", "SIGNATURE_HEADER", "STATUSES", "TwilioWebhook"]

SIGNATURE_HEADER = "X-Twilio-Signature"
_SETTINGS_HEADER = "X-Twilio-Webhooks-Signature-Settings"

# One table for both directions: the status a send returns and the one a callback reports.
ESCALATE_ID_PARAM = STATUS_CALLBACK_PARAM

#: Sender prefix -> channel; a bare E.164 number is SMS.
_CHANNELS: dict[str, Channel] = {"whatsapp:": Channel.WHATSAPP}


class _Params(dict[str, list[str]]):
    """Form fields with every value kept; ``getlist`` is what RequestValidator asks for."""

    def getlist(self, name: str) -> list[str]:
        return self[name]

    def first(self, name: str) -> str | None:
        values = self.get(name)
        return values[0] if values else None


def _phone(raw: str | None) -> tuple[Channel, Identity] | None:
    if not raw:
        return None
    channel = Channel.SMS
    for prefix, prefixed in _CHANNELS.items():
        if raw.lower().startswith(prefix):
            channel, raw = prefixed, raw[len(prefix) :]
    try:
        return channel, Identity.phone(raw)
    except InvalidIdentity:
        return None


#: Twilio's Advanced Opt-Out reading of an inbound message (``OptOutType``): it has
#: already acted on it, custom keywords and other languages included.
_OPT_OUT_TYPES: dict[str, Literal["opt_out", "opt_in", "help"]] = {
    "STOP": "opt_out",
    "START": "opt_in",
    "HELP": "help",
}


class TwilioWebhook(WebhookParser):
    """Verifies and parses Twilio messaging webhooks.

    Args:
        auth_token: the account's auth token (or the webhook SharedKey secret);
            ``None`` only with ``insecure=True``.
        max_bytes: the largest body read. Twilio's own are a few kilobytes (a
            1,600-character text, ten media URLs); the form fields are parsed
            before the signature can be checked, at some 30 times their size
            in memory, so a larger body is refused unread.
        public_base_url, insecure, clock, tenant: see ``WebhookParser``.

    Every ``parse*`` method verifies first; pass the URL your app saw (or its
    path, with ``public_base_url``), the headers and the raw body bytes.

    Raises:
        InvalidInput: ``max_bytes`` is not a positive int.
    """

    provider = "twilio"

    def __init__(
        self,
        auth_token: str | None,
        *,
        max_bytes: int = 1024 * 1024,
        **options: Unpack[ParserOptions],
    ) -> None:
        super().__init__(auth_token, **options)
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 1:
            raise InvalidInput("max_bytes must be a positive int")
        self.max_bytes = max_bytes
        self._validator = RequestValidator(auth_token) if auth_token else None

    def verify(
        self, url_or_path: str, headers: Mapping[str, str], body: bytes, *, method: str = "POST"
    ) -> _Params:
        """Check ``X-Twilio-Signature``; return the signed fields (form body, or query for GET).

        Raises:
            WebhookSignatureError: missing or wrong signature (wrong token, tampered
                body, or a URL other than the one Twilio called).
            InvalidInput: a bare path without ``public_base_url``.
            InvalidWebhookPayload: a body that is not UTF-8, or over ``max_bytes``.
        """
        url = self.public_url(url_or_path)
        if isinstance(body, bytes | bytearray) and len(body) > self.max_bytes:
            # Before the fields are parsed: they must be, to check the signature.
            raise InvalidWebhookPayload(f"a twilio webhook body over {self.max_bytes} bytes")
        text = self.text(body)
        query = urlsplit(url).query
        signed_json = "bodySHA256" in parse_qs(query)
        source = query if method.upper() == "GET" else ("" if signed_json else text)
        params = _Params(parse_qs(source, keep_blank_values=True))
        if self.skip_verification():
            return params
        assert self._validator is not None  # a secret was configured
        signature = header(headers, SIGNATURE_HEADER)
        if not signature:
            raise self.refuse(f"no {SIGNATURE_HEADER} header")
        signed: _Params | str = text if signed_json else params
        if method.upper() == "GET":
            signed = _Params()  # a GET is signed over its URL, query included
        choose = getattr(_validator, "get_signature_algorithm", None)
        if choose is not None:  # twilio >= 9.13 also signs with HMAC-SHA256 on request
            algorithm = choose(header(headers, _SETTINGS_HEADER))
            valid = self._validator.validate(url, signed, signature, algorithm=algorithm)
        else:  # pragma: no cover - older twilio 9.x
            valid = self._validator.validate(url, signed, signature)
        if not valid:
            raise self.refuse("X-Twilio-Signature does not match")
        return params

    def parse_inbound(
        self, url_or_path: str, headers: Mapping[str, str], body: bytes, *, method: str = "POST"
    ) -> InboundMessage:
        """An incoming SMS or WhatsApp message (``From``, ``To``, ``Body``, ``MessageSid``).

        Raises:
            WebhookSignatureError: see ``verify``.
            InvalidWebhookPayload: no usable ``From`` number.
        """
        return self._inbound(self.verify(url_or_path, headers, body, method=method))

    def _inbound(self, params: _Params) -> InboundMessage:
        sender = _phone(params.first("From"))
        if sender is None:
            raise InvalidWebhookPayload("twilio inbound message without a valid From number")
        channel, identity = sender
        to = _phone(params.first("To"))
        return InboundMessage(
            tenant=self.tenant,
            channel=channel,
            sender=identity,
            body=params.first("Body") or "",
            received_at=self.clock.now(),
            recipient=to[1].value if to else None,
            provider=self.provider,
            provider_message_id=params.first("MessageSid") or params.first("SmsMessageSid"),
            carrier_keyword=_OPT_OUT_TYPES.get((params.first("OptOutType") or "").upper()),
            raw={
                name: values[0] if len(values) == 1 else values for name, values in params.items()
            },
        )

    def parse_status(
        self, url_or_path: str, headers: Mapping[str, str], body: bytes, *, method: str = "POST"
    ) -> DeliveryReport:
        """A StatusCallback delivery report; ``message_id`` is the URL's ``escalate_id``.

        Raises:
            WebhookSignatureError: see ``verify``.
            InvalidWebhookPayload: no ``MessageStatus``.
        """
        params = self.verify(url_or_path, headers, body, method=method)
        return self._status(url_or_path, params)

    def _status(self, url_or_path: str, params: _Params) -> DeliveryReport:
        status = params.first("MessageStatus") or params.first("SmsStatus")
        if not status:
            raise InvalidWebhookPayload("twilio status callback without a MessageStatus")
        sid = params.first("MessageSid") or params.first("SmsSid")
        query = _Params(parse_qs(urlsplit(url_or_path).query, keep_blank_values=True))
        error_code = params.first("ErrorCode") or None
        to = _phone(params.first("To"))
        status = status.strip().lower()
        return DeliveryReport(
            provider=self.provider,
            message_id=query.first(ESCALATE_ID_PARAM) or None,
            provider_message_id=sid,
            status=STATUSES.get(status, DeliveryStatus.UNKNOWN),
            provider_status=status,
            error_code=error_code,
            address=to[1] if to else None,
            # Twilio's callbacks carry no event time: what they say is the key.
            at=self.clock.now(),
            key=content_key(self.provider, sid, status, error_code),
            raw={
                name: values[0] if len(values) == 1 else values for name, values in params.items()
            },
        )

    def parse(
        self, url_or_path: str, headers: Mapping[str, str], body: bytes, *, method: str = "POST"
    ) -> InboundMessage | DeliveryReport:
        """Either kind, told apart by ``MessageStatus`` (an incoming message has none or
        ``received``): for one endpoint serving both."""
        params = self.verify(url_or_path, headers, body, method=method)
        status = (params.first("MessageStatus") or "").strip().lower()
        if status and status != "received":
            return self._status(url_or_path, params)
        return self._inbound(params)
