"""What every provider's webhook parser shares: the normalized records and a small base.

A parser takes what any web framework can hand over (the URL the provider
called, the headers, the raw body bytes), verifies the provider's signature
first, and returns frozen records that keep the raw payload. Nothing here
imports a provider SDK; ``twilio.py`` and ``sendgrid.py`` do, each for itself.
"""

from __future__ import annotations

import hashlib
import logging
import warnings
from collections.abc import Mapping
from typing import Any, TypedDict
from urllib.parse import urlsplit, urlunsplit

from pydantic import ConfigDict

from escalate._clock import Clock, SystemClock
from escalate._domain import check_url
from escalate._exceptions import InvalidInput, InvalidWebhookPayload, WebhookSignatureError
from escalate._identity import Identity
from escalate._messages import DeliveryStatus
from escalate._model import Model
from escalate._models import DEFAULT_TENANT, AwareDatetime
from escalate._tenant import check_tenant

__all__ = [
    "DeliveryReport",
    "InsecureWebhookWarning",
    "ParserOptions",
    "ProviderEvent",
    "WebhookParser",
    "content_key",
    "header",
]

logger = logging.getLogger("escalate.webhooks")


class InsecureWebhookWarning(UserWarning):
    """A webhook parser was built without a secret: anyone can forge its input."""


def content_key(*parts: object) -> str:
    """A deduplication key from what a callback says, not from the provider's event id.

    Hashed, so an address among the parts never reaches a key store or a log.
    An ``Identity`` counts by its whole value: its ``str()`` is redacted, and
    ``jane@`` and ``john@`` (both ``j***@``) would share a key.
    """
    joined = "\x1f".join(_key_part(part) for part in parts)
    return hashlib.sha256(joined.encode("utf-8", "surrogatepass")).hexdigest()


def _key_part(part: object) -> str:
    if part is None:
        return ""
    if isinstance(part, Identity):
        return f"{part.kind.value}:{part.value}"
    return str(part)


class DeliveryReport(Model):
    """A provider's word on one message we sent: queued, sent, delivered or failed.

    ``message_id`` is ours (``OutboundMessage.id``, the outbox row), read from the
    callback URL's ``escalate_id`` (Twilio) or the ``escalate_id`` custom arg
    (SendGrid); ``None`` for a message escalate did not send. ``key`` is the
    content key duplicates share; ``raw`` is the provider's payload as received.
    """

    model_config = ConfigDict(frozen=True)

    provider: str
    message_id: str | None
    provider_message_id: str | None
    status: DeliveryStatus
    provider_status: str
    error_code: str | None = None
    address: Identity | None = None
    at: AwareDatetime
    key: str
    raw: Any = None

    def __repr__(self) -> str:
        return (
            f"DeliveryReport(provider={self.provider!r}, message_id={self.message_id!r}, "
            f"status={self.status.value!r}, error_code={self.error_code!r}, to={self.address!r})"
        )


class ProviderEvent(Model):
    """Anything else a provider reports about an address: unsubscribe, spam report,
    hard bounce (consent facts), or open and click (engagement, recorded nowhere)."""

    model_config = ConfigDict(frozen=True)

    provider: str
    event: str
    address: Identity | None
    message_id: str | None = None
    provider_message_id: str | None = None
    at: AwareDatetime
    key: str
    raw: Any = None

    def __repr__(self) -> str:
        return (
            f"ProviderEvent(provider={self.provider!r}, event={self.event!r}, "
            f"address={self.address!r}, message_id={self.message_id!r})"
        )


def header(headers: Mapping[str, str], name: str) -> str | None:
    """``headers[name]``, matched case-insensitively (frameworks differ in case)."""
    wanted = name.lower()
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == wanted:
            return value if isinstance(value, str) else None
    return None


class ParserOptions(TypedDict, total=False):
    """``WebhookParser``'s keyword arguments, which every provider's parser passes on.

    Spelled out so that a type checker checks them at the provider parser's call
    (a misspelt ``publc_base_url=`` is an error there, not an ``Any``).
    """

    public_base_url: str | None
    insecure: bool
    clock: Clock | None
    tenant: str


class WebhookParser:
    """Shared by every provider's parser: the secret rule, the public URL, the clock.

    Args:
        secret: the provider's signing secret; ``None`` only with ``insecure=True``.
        public_base_url: the origin (and path prefix) the provider calls, e.g.
            ``https://hooks.example.com``. Behind a proxy or load balancer your app
            sees another URL than the one the provider signed; with this set, the
            path and query your app saw are appended to it before verification.
        insecure: accept requests unverified (local development only): warns
            with ``InsecureWebhookWarning`` when built and logs on every request.
        clock: the time source for received-at stamps and timestamp checks.
        tenant: the tenant the replies it parses belong to: the tenant of the
            ``Escalator`` the app hands them to (``esc.handle_webhook`` refuses
            another tenant's).
    """

    provider = "unknown"

    def __init__(
        self,
        secret: str | None,
        *,
        public_base_url: str | None = None,
        insecure: bool = False,
        clock: Clock | None = None,
        tenant: str = DEFAULT_TENANT,
    ) -> None:
        check_tenant(tenant)
        if secret is not None and (not isinstance(secret, str) or not secret.strip()):
            raise InvalidInput(f"{self.provider} webhook secret must be a non-empty string")
        if secret is None and not insecure:
            raise InvalidInput(
                f"{self.provider} webhook parser needs its secret; pass insecure=True to "
                "accept unverified requests (local development only)"
            )
        # The provider signs the URL it called: one without a host can never match.
        check_url(public_base_url, "public_base_url")
        self.secret = secret
        self.public_base_url = public_base_url.rstrip("/") if public_base_url else None
        self.clock: Clock = clock or SystemClock()
        self.tenant = tenant
        if secret is None:
            message = (
                f"{self.provider} webhooks are NOT verified (no secret configured): "
                "anyone can forge deliveries, opt-outs and replies"
            )
            warnings.warn(message, InsecureWebhookWarning, stacklevel=2)
            logger.warning(message)

    @property
    def insecure(self) -> bool:
        """True when requests are accepted without verification."""
        return self.secret is None

    def public_url(self, url_or_path: str) -> str:
        """The URL the provider called: the path and query seen, on the public base URL.

        Raises:
            InvalidInput: a bare path with no ``public_base_url`` configured, or
                not a valid URL (an app builds it from the request, whose Host
                header anyone can write).
        """
        if not isinstance(url_or_path, str) or not url_or_path:
            raise InvalidInput("a webhook URL or path is required")
        try:
            parts = urlsplit(url_or_path)
            if self.public_base_url is None:
                _ = parts.port  # the SDK's validator reads it: out of range, it raises
            url_or_path.encode("utf-8")  # the signature is over UTF-8: a lone surrogate is none
        except ValueError:  # UnicodeEncodeError too
            raise InvalidInput("the webhook URL is not a valid URL") from None
        if self.public_base_url is None:
            if not parts.scheme or not parts.netloc:
                raise InvalidInput("a bare path needs public_base_url to be configured")
            return url_or_path
        base = urlsplit(self.public_base_url)
        path = base.path.rstrip("/") + "/" + parts.path.lstrip("/")
        return urlunsplit((base.scheme, base.netloc, path, parts.query, ""))

    def skip_verification(self) -> bool:
        """True (and logged) when there is no secret to verify with."""
        if self.secret is None:
            logger.warning("%s webhook accepted WITHOUT verification", self.provider)
            return True
        return False

    @staticmethod
    def text(body: bytes) -> str:
        """The body as UTF-8 text; anything else is not a provider's payload.

        Raises:
            InvalidWebhookPayload: not bytes, or not UTF-8.
        """
        if not isinstance(body, bytes | bytearray):
            raise InvalidWebhookPayload("a webhook body must be the raw bytes received")
        try:
            return bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            raise InvalidWebhookPayload("a webhook body must be UTF-8") from None

    def refuse(self, reason: str) -> WebhookSignatureError:
        """The error to raise for a failed check, logged without the payload."""
        logger.warning("%s webhook refused: %s", self.provider, reason)
        return WebhookSignatureError(f"{self.provider} webhook refused: {reason}")
