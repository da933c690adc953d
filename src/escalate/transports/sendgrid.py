"""``SendGridEmail``: email through the official ``sendgrid`` SDK (v3 Mail Send).

Needs the extra: ``pip install 'escalate[sendgrid]'``. The 202's ``X-Message-Id``
becomes the provider message id (it is ``sg_message_id`` in SendGrid's events),
and the personalization's ``custom_args.escalate_id`` carries our
``OutboundMessage.id`` into every event. Importing it silences the SDK's HTTP
client's DEBUG dumps, which carry the API key and personal data.
"""

from __future__ import annotations

import http.client
import logging
import os
import re
import urllib.error
from collections.abc import Mapping
from socket import gaierror
from typing import Any, TypedDict, Unpack

from escalate._clock import Clock, SystemClock
from escalate._exceptions import (
    InvalidInput,
    InvalidRecipient,
    MissingDependencyError,
    PermanentTransportError,
    RetryableTransportError,
    TransportError,
)
from escalate._messages import DeliveryStatus, OutboundMessage, SendResult
from escalate._models import Channel
from escalate.transports._email import EmailSettings
from escalate.transports._provider import (
    NETWORK_ERRORS,
    check_overrides,
    error_for,
    http_keys,
    retry_after_seconds,
)

try:
    from python_http_client.exceptions import HTTPError
    from sendgrid import SendGridAPIClient
    from sendgrid.helpers.mail import CustomArg, From, Header, Mail, ReplyTo, To
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise MissingDependencyError("sendgrid", "sendgrid") from exc

__all__ = ["CUSTOM_ARG", "ERRORS", "SendGridEmail", "SendGridOptions"]

#: HTTP status (with the offending field, for a 400) or network failure -> meaning.
ERRORS: dict[str, type[TransportError]] = {
    **NETWORK_ERRORS,
    "400 personalizations.to.email": InvalidRecipient,  # not an email address
    "400 personalizations.to": InvalidRecipient,
    "429": RetryableTransportError,  # rate limited; X-RateLimit-Reset says until when
    # 503 refuses the request before it is worked on. After a 500 the mail may
    # have been queued (mail/send has no idempotency key), so a 500, like any 5xx
    # not named here, is an unknown outcome: resending could mail the customer twice.
    "503": RetryableTransportError,
    "4xx": PermanentTransportError,  # bad key (401), no permission (403), too large (413)
}

#: The ``custom_args`` key carrying ``OutboundMessage.id`` into SendGrid's events.
CUSTOM_ARG = "escalate_id"


class _NoRequestDumps(logging.Filter):
    """Drops python_http_client's DEBUG records: they dump every request and response.

    Those records hold the ``Authorization`` header (the API key), the recipient
    and the whole body, and an application that turns on DEBUG logging would
    write them out. The SDK logs nothing else, and nothing above DEBUG.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno > logging.DEBUG


def _silence_request_dumps() -> None:
    sdk_logger = logging.getLogger("python_http_client.client")
    if not any(isinstance(f, _NoRequestDumps) for f in sdk_logger.filters):
        sdk_logger.addFilter(_NoRequestDumps())


_silence_request_dumps()

_INDEX = re.compile(r"\.\d+(?=\.|$)")


def _network_key(exc: OSError | http.client.HTTPException) -> str:
    """urllib wraps failures before the request was sent in ``URLError``; later ones are raw."""
    if isinstance(exc, urllib.error.URLError):
        reason = exc.reason
        if isinstance(reason, ConnectionRefusedError):
            return "net:refused"
        if isinstance(reason, gaierror):
            return "net:dns"
        if isinstance(reason, TimeoutError):
            return "net:connect-timeout"
        return "net:send-failed"
    if isinstance(exc, TimeoutError):
        return "net:read-timeout"
    return "net:aborted"


class SendGridOptions(TypedDict, total=False):
    """``SendGridEmail.from_env``'s keyword overrides: the constructor's arguments, by name.

    Spelled out so a type checker checks them at the call; the tests hold them to
    the constructor's signature, and ``from_env`` holds a call to them at run time.
    """

    api_key: str
    from_email: str
    from_name: str | None
    reply_to: str | None
    subject: str
    message_id_domain: str | None
    host: str
    timeout: float
    clock: Clock | None
    name: str


class SendGridEmail:
    """Sends email with SendGrid's v3 Mail Send API.

    Args:
        api_key: a SendGrid API key with Mail Send permission.
        from_email, from_name, reply_to, subject, message_id_domain: see ``EmailSettings``.
        host: the API origin (``https://api.eu.sendgrid.com`` for EU residency; tests
            point it at a mock).
        timeout: seconds to wait; after that the outcome is unknown.
        clock: the time source for X-RateLimit-Reset.
    """

    def __init__(
        self,
        api_key: str,
        *,
        from_email: str,
        from_name: str | None = None,
        reply_to: str | None = None,
        subject: str = "Your case {reference}",
        message_id_domain: str | None = None,
        host: str = "https://api.sendgrid.com",
        timeout: float = 10.0,
        clock: Clock | None = None,
        name: str = "sendgrid",
    ) -> None:
        if not api_key or not from_email:
            raise InvalidInput("SendGridEmail needs an api_key and a from_email")
        self.name = name
        self.channels = frozenset({Channel.EMAIL})
        self.sender = from_email  # the Pacer's key for this transport's rate
        self.settings = EmailSettings(
            from_email=from_email,
            from_name=from_name,
            reply_to=reply_to,
            subject=subject,
            message_id_domain=message_id_domain,
        )
        self.host = host
        self.timeout = timeout
        self._api_key = api_key
        self._clock = clock or SystemClock()

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Unpack[SendGridOptions]
    ) -> SendGridEmail:
        """Build from ``SENDGRID_API_KEY``, ``SENDGRID_FROM_EMAIL``, ``SENDGRID_FROM_NAME``
        and ``SENDGRID_REPLY_TO``; keyword arguments (``SendGridOptions``) override them.

        Raises:
            InvalidInput: a required variable is missing (named in the message), or
                an override the constructor does not take or of the wrong type.
        """
        check_overrides("SendGridEmail.from_env", SendGridOptions, overrides)
        env = os.environ if environ is None else environ
        settings: dict[str, Any] = {
            "api_key": env.get("SENDGRID_API_KEY"),
            "from_email": env.get("SENDGRID_FROM_EMAIL"),
            "from_name": env.get("SENDGRID_FROM_NAME"),
            "reply_to": env.get("SENDGRID_REPLY_TO"),
        }
        settings.update(overrides)
        for key in ("api_key", "from_email"):
            if not settings[key]:
                raise InvalidInput(f"SendGridEmail.from_env: SENDGRID_{key.upper()} is not set")
        return cls(**settings)

    def mail(self, message: OutboundMessage) -> dict[str, Any]:
        """The Mail Send request body for ``message``, built with the SDK's helpers."""
        settings = self.settings
        mail = Mail(
            from_email=From(settings.from_email, settings.from_name),
            to_emails=To(settings.recipient(message, self.name)),
            subject=settings.subject_for(message, self.name),
            plain_text_content=message.body,
        )
        reply_to = settings.reply_to_for(message, self.name)
        if reply_to:
            mail.reply_to = ReplyTo(reply_to)
        mail.header = [
            Header(key, value) for key, value in settings.headers_for(message, self.name).items()
        ]
        # Per personalization: the spec types the top-level custom_args as a string.
        mail.custom_arg = CustomArg(CUSTOM_ARG, message.id, p=0)
        body: dict[str, Any] = mail.get()
        return body

    def send(self, message: OutboundMessage) -> SendResult:
        """Post the message to SendGrid.

        Raises:
            RetryableTransportError: SendGrid did not take it (429, 503, no connection).
            InvalidRecipient / PermanentTransportError: it never will.
            UnknownOutcomeError: it may have been sent (timeout or drop after sending).
        """
        body = self.mail(message)
        # A fresh client per request: python_http_client keeps request headers between calls.
        client = SendGridAPIClient(api_key=self._api_key, host=self.host)
        try:
            response = client.client.mail.send.post(request_body=body, timeout=self.timeout)
        except HTTPError as exc:
            # Not chained: the error's text carries the response body, which can
            # quote the address (it stays in the error's ``raw``).
            raise self._api_error(exc) from None
        except (OSError, http.client.HTTPException) as exc:
            key = _network_key(exc)
            raise error_for(
                ERRORS, (key,), f"sendgrid: {key}: {type(exc).__name__}", provider=self.name
            ) from exc
        message_id = response.headers.get("X-Message-Id")
        return SendResult(
            provider=self.name,
            provider_message_id=message_id,
            status=DeliveryStatus.QUEUED,
            raw={"status": response.status_code, "x_message_id": message_id},
        )

    def _api_error(self, exc: HTTPError) -> TransportError:
        status = int(exc.status_code)
        text = exc.body.decode("utf-8", "replace") if isinstance(exc.body, bytes) else str(exc.body)
        headers = dict(exc.headers.items()) if exc.headers is not None else {}
        fields: list[str] = []
        try:
            errors = exc.to_dict.get("errors") or []
            fields = [f"{status} {_INDEX.sub('', e['field'])}" for e in errors if e.get("field")]
        except (ValueError, AttributeError, TypeError):
            pass  # not SendGrid's JSON error shape; the status decides
        return error_for(
            ERRORS,
            http_keys(status, None, *fields),
            f"sendgrid: HTTP {status}",
            provider=self.name,
            code=str(status),
            raw={"status": status, "body": text, "headers": headers},
            retry_after=retry_after_seconds(headers, self._clock.now()),
        )

    def close(self) -> None:
        """Nothing pooled: each request uses a fresh client."""

    def __repr__(self) -> str:
        return f"SendGridEmail(name={self.name!r}, host={self.host!r})"
