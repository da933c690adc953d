"""The check both SendGrid webhooks share: ECDSA P-256/SHA-256 over the
``X-Twilio-Email-Event-Webhook-Timestamp`` header plus the raw body, byte for
byte, checked by the SDK's ``EventWebhook``. The timestamp must also be within
``max_skew`` of our clock, so a captured request cannot be replayed next week.

The Event Webhook (``SendGridWebhook``) and a Parse setting with a signing
security policy (``SendGridInboundParse``) sign alike; both parsers build on
``SignedParser``.
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Unpack

from escalate._exceptions import InvalidInput, MissingDependencyError
from escalate.webhooks._base import ParserOptions, WebhookParser, header

try:
    from cryptography.exceptions import InvalidSignature
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from sendgrid.helpers.eventwebhook import EventWebhook
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise MissingDependencyError("sendgrid", "sendgrid") from exc

__all__ = ["SIGNATURE_HEADER", "TIMESTAMP_HEADER", "SignedParser"]

SIGNATURE_HEADER = "X-Twilio-Email-Event-Webhook-Signature"
TIMESTAMP_HEADER = "X-Twilio-Email-Event-Webhook-Timestamp"


class SignedParser(WebhookParser):
    """The check both SendGrid webhooks share: ECDSA P-256/SHA-256 over the
    timestamp header plus the raw body, the timestamp within ``max_skew``."""

    provider = "sendgrid"

    def __init__(
        self,
        public_key: str | None,
        *,
        max_skew: timedelta = timedelta(minutes=5),
        **options: Unpack[ParserOptions],
    ) -> None:
        super().__init__(public_key, **options)
        if not isinstance(max_skew, timedelta) or max_skew <= timedelta(0):
            raise InvalidInput("max_skew must be a positive timedelta")
        self.max_skew = max_skew
        self._key: ec.EllipticCurvePublicKey | None = None
        try:
            self._verifier = EventWebhook(public_key.strip()) if public_key else None
            if public_key:
                key = serialization.load_der_public_key(base64.b64decode(public_key.strip()))
                if not isinstance(key, ec.EllipticCurvePublicKey):
                    raise TypeError("not an EC key")
                self._key = key
        except (ValueError, TypeError) as exc:
            raise InvalidInput(f"not a SendGrid verification key: {type(exc).__name__}") from None

    def _check(self, headers: Mapping[str, str], body: bytes) -> None:
        if self.skip_verification():
            return
        assert self._verifier is not None  # a key was configured
        signature = header(headers, SIGNATURE_HEADER)
        timestamp = header(headers, TIMESTAMP_HEADER)
        if not signature or not timestamp:
            raise self.refuse(f"no {SIGNATURE_HEADER} / {TIMESTAMP_HEADER} header")
        try:
            signed_at = datetime.fromtimestamp(int(timestamp.strip()), UTC)
        except (ValueError, OverflowError, OSError):
            raise self.refuse("the timestamp header is not epoch seconds") from None
        if abs(self.clock.now() - signed_at) > self.max_skew:
            raise self.refuse("the timestamp is outside the allowed clock skew (a replay?)")
        if not self._valid(body, signature, timestamp):
            raise self.refuse("the ECDSA signature does not match")

    def _valid(self, body: bytes, signature: str, timestamp: str) -> bool:
        assert self._verifier is not None  # a key was configured
        assert self._key is not None
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError:
            text = None
        try:
            if text is not None:
                return bool(self._verifier.verify_signature(text, signature, timestamp))
            # The SDK's helper takes text; an Inbound Parse form body with a binary
            # attachment or a Latin-1 part is not. The same check, on the bytes.
            self._key.verify(
                base64.b64decode(signature), timestamp.encode() + body, ec.ECDSA(hashes.SHA256())
            )
            return True
        except InvalidSignature:
            return False
        except (ValueError, TypeError):  # not base64, not a DER signature
            return False
