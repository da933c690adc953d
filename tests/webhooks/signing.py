"""Real signatures for tests: Twilio's HMAC with a test token, SendGrid's ECDSA with a fresh key."""

from __future__ import annotations

import base64
import json
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from twilio.request_validator import RequestValidator

TWILIO_TOKEN = "test-auth-token-0123456789abcdef"
PUBLIC_BASE = "https://hooks.example.com"


def twilio_request(
    params: dict[str, str], url: str = f"{PUBLIC_BASE}/twilio/sms", token: str = TWILIO_TOKEN
) -> tuple[str, dict[str, str], bytes]:
    """A form POST as Twilio sends it to ``url``, signed with ``token``."""
    signature = RequestValidator(token).compute_signature(url, params)
    body = urlencode(params).encode()
    return url, {"X-Twilio-Signature": signature, "Content-Type": "form"}, body


class SendGridKey:
    """An EC P-256 key pair standing in for SendGrid's signing key."""

    def __init__(self) -> None:
        self.private = ec.generate_private_key(ec.SECP256R1())
        der = self.private.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        self.public = base64.b64encode(der).decode()

    def sign(self, body: bytes, at: datetime) -> dict[str, str]:
        timestamp = str(int(at.timestamp()))
        signature = self.private.sign(timestamp.encode() + body, ec.ECDSA(hashes.SHA256()))
        return {
            "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
            "X-Twilio-Email-Event-Webhook-Timestamp": timestamp,
        }

    def request(self, events: Any, at: datetime) -> tuple[str, dict[str, str], bytes]:
        body = events if isinstance(events, bytes) else json.dumps(events).encode()
        return f"{PUBLIC_BASE}/sendgrid/events", self.sign(body, at), body
