"""``TwilioSMS``: SMS and WhatsApp through the official ``twilio`` SDK.

Needs the extra: ``pip install 'escalate[twilio]'``. Twilio's message create has
no idempotency key, so a read timeout or a connection dropped after the request
left is an ``UnknownOutcomeError`` (held for the status callback), never a retry.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Mapping
from typing import Any, TypedDict, Unpack
from urllib.parse import quote_plus, urlsplit, urlunsplit

from escalate._clock import Clock, SystemClock
from escalate._domain import check_url
from escalate._exceptions import (
    InvalidInput,
    InvalidRecipient,
    MissingDependencyError,
    PermanentTransportError,
    RecipientOptedOut,
    RetryableTransportError,
    TransportError,
)
from escalate._identity import IdentityKind
from escalate._messages import DeliveryStatus, OutboundMessage, SendResult
from escalate._models import Channel
from escalate.transports._provider import (
    NETWORK_ERRORS,
    check_overrides,
    error_for,
    http_keys,
    retry_after_seconds,
)

try:
    import requests
    from requests.adapters import HTTPAdapter
    from twilio.base.exceptions import TwilioException
    from twilio.http.http_client import TwilioHttpClient
    from twilio.http.response import Response
    from twilio.rest import Client
    from urllib3.exceptions import NewConnectionError
except ImportError as exc:  # pragma: no cover - exercised in a subprocess test
    raise MissingDependencyError("twilio", "twilio") from exc

__all__ = ["ERRORS", "STATUSES", "STATUS_CALLBACK_PARAM", "TwilioOptions", "TwilioSMS"]

#: Twilio error code, HTTP status or network failure -> what it means for us.
ERRORS: dict[str, type[TransportError]] = {
    **NETWORK_ERRORS,
    "21211": InvalidRecipient,  # 'To' is not a valid phone number
    "21612": InvalidRecipient,  # 'To' is not reachable by this channel
    "21614": InvalidRecipient,  # 'To' is not a mobile number (a landline)
    "21610": RecipientOptedOut,  # the recipient replied STOP to this sender
    "20429": RetryableTransportError,  # too many concurrent requests
    "429": RetryableTransportError,
    # 503 refuses the request before it is worked on. A 500 does not: Twilio's
    # error 20500 warns that retrying a message create after it may text the
    # customer twice, so it is an unknown outcome, like any 5xx not named here.
    "503": RetryableTransportError,
    "4xx": PermanentTransportError,
}

#: Twilio message status -> normalized delivery status.
STATUSES: dict[str, DeliveryStatus] = {
    "accepted": DeliveryStatus.QUEUED,
    "scheduled": DeliveryStatus.QUEUED,
    "queued": DeliveryStatus.QUEUED,
    "sending": DeliveryStatus.QUEUED,
    "sent": DeliveryStatus.SENT,
    "delivered": DeliveryStatus.DELIVERED,
    "read": DeliveryStatus.DELIVERED,
    "undelivered": DeliveryStatus.FAILED,
    "failed": DeliveryStatus.FAILED,
    "canceled": DeliveryStatus.FAILED,
}

#: The query parameter of the StatusCallback URL that carries ``OutboundMessage.id``.
STATUS_CALLBACK_PARAM = "escalate_id"

_TWILIO_ORIGIN = re.compile(r"^https://[A-Za-z0-9.-]+\.twilio\.com")


class _HttpClient(TwilioHttpClient):  # type: ignore[misc]
    """The SDK's own client, pointed at ``base_url`` and keeping each thread's last response.

    The last response carries the headers (Retry-After) and raw body that the
    SDK's exceptions drop. No retries are mounted: a POST is never resent here.
    """

    def __init__(self, *, base_url: str | None, timeout: float, pool_size: int) -> None:
        super().__init__(timeout=timeout)
        adapter = HTTPAdapter(pool_maxsize=pool_size, max_retries=0)
        self.session.mount("https://", adapter)
        self.session.mount("http://", adapter)
        self._base_url = base_url.rstrip("/") if base_url else None
        self._local = threading.local()

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        if self._base_url:
            url = _TWILIO_ORIGIN.sub(self._base_url, url, count=1)
        self._local.response = None
        response: Response = super().request(method, url, *args, **kwargs)
        self._local.response = response
        return response

    def last_response(self) -> Response | None:
        return getattr(self._local, "response", None)


def _network_key(exc: requests.RequestException) -> str:
    """Did the request leave the machine? Only a failed connect proves it did not."""
    if isinstance(exc, requests.ConnectTimeout):
        return "net:connect-timeout"
    if isinstance(exc, requests.ConnectionError):
        reason = getattr(exc.args[0], "reason", None) if exc.args else None
        if isinstance(reason, NewConnectionError):
            return "net:refused"
    if isinstance(exc, requests.Timeout):
        return "net:read-timeout"
    return "net:aborted"


def _callback_prefix(url: str) -> str:
    """``url`` ready for ``quote_plus(message_id)``: computed once, since sends are hot."""
    parts = urlsplit(url)
    base = urlunsplit(parts._replace(fragment=""))  # a fragment never reaches the server
    return f"{base}{'&' if parts.query else '?'}{STATUS_CALLBACK_PARAM}="


def _check_callback(url: str) -> None:
    """Refuse a StatusCallback Twilio refuses: every send would then fail for good.

    Twilio answers a message create whose ``StatusCallback`` is no absolute URL
    with a 4xx, a ``PermanentTransportError``: each case would fall back or fail.
    The URL may carry basic-auth credentials, so it is never quoted.
    """
    try:
        check_url(url, "status_callback")
    except InvalidInput:
        raise InvalidInput(
            "TwilioSMS: status_callback (TWILIO_STATUS_CALLBACK_URL) must be an absolute "
            "http(s) URL with a host, like https://hooks.example.com/twilio/status"
        ) from None


def _with_id(url: str, message_id: str) -> str:
    return _callback_prefix(url) + quote_plus(message_id)


class TwilioOptions(TypedDict, total=False):
    """``TwilioSMS.from_env``'s keyword overrides: the constructor's arguments, by name.

    Spelled out so a type checker checks them at the call; the tests hold them to
    the constructor's signature, and ``from_env`` holds a call to them at run time.
    """

    account_sid: str
    auth_token: str
    from_: str | None
    messaging_service_sid: str | None
    status_callback: str | None
    api_key: str | None
    base_url: str | None
    timeout: float
    pool_size: int
    clock: Clock | None
    name: str


class TwilioSMS:
    """Sends SMS and WhatsApp messages with Twilio's Programmable Messaging.

    Args:
        account_sid: the account (``AC...``).
        auth_token: its auth token (or an API key secret, with ``api_key``).
        from_: the sender number (E.164); WhatsApp sends use ``whatsapp:`` + it.
        messaging_service_sid: a Messaging Service (``MG...``) instead of ``from_``.
        status_callback: the URL Twilio posts delivery reports to; each send adds
            ``?escalate_id=<OutboundMessage.id>`` so reports reconcile to the outbox row.
        api_key: an API key sid (``SK...``) to authenticate with instead of the token.
        base_url: send to this origin instead of ``https://api.twilio.com`` (tests).
        timeout: seconds to wait for Twilio; after that the outcome is unknown.
        pool_size: kept-alive connections, one per concurrent dispatcher worker.
        clock: the time source for an HTTP-date Retry-After.

    Raises:
        InvalidInput: no credentials, no sender, or a ``status_callback`` that is
            not an absolute http(s) URL with a host (Twilio would refuse every send).
    """

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        *,
        from_: str | None = None,
        messaging_service_sid: str | None = None,
        status_callback: str | None = None,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 10.0,
        pool_size: int = 16,
        clock: Clock | None = None,
        name: str = "twilio",
    ) -> None:
        if not account_sid or not auth_token:
            raise InvalidInput("TwilioSMS needs an account sid and an auth token")
        if not (from_ or messaging_service_sid):
            raise InvalidInput("TwilioSMS needs from_ or messaging_service_sid")
        if status_callback:
            _check_callback(status_callback)
        self.name = name
        self.channels = frozenset({Channel.SMS, Channel.WHATSAPP})
        self.from_ = from_
        self.messaging_service_sid = messaging_service_sid
        #: What the Pacer keys this transport's rate on: one number, or one service.
        self.sender = messaging_service_sid or from_
        self.status_callback = status_callback
        self._callback = _callback_prefix(status_callback) if status_callback else None
        self._clock = clock or SystemClock()
        self._http = _HttpClient(base_url=base_url, timeout=timeout, pool_size=pool_size)
        self.client = Client(
            api_key or account_sid, auth_token, account_sid=account_sid, http_client=self._http
        )

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Unpack[TwilioOptions]
    ) -> TwilioSMS:
        """Build from ``TWILIO_ACCOUNT_SID``, ``TWILIO_AUTH_TOKEN`` (or ``TWILIO_API_KEY`` +
        ``TWILIO_API_SECRET``), ``TWILIO_FROM_NUMBER``, ``TWILIO_MESSAGING_SERVICE_SID``
        and ``TWILIO_STATUS_CALLBACK_URL``; keyword arguments (``TwilioOptions``) override them.

        Raises:
            InvalidInput: a required variable is missing (named in the message),
                an override the constructor does not take or of the wrong type, or a
                status callback URL the constructor refuses.
        """
        check_overrides("TwilioSMS.from_env", TwilioOptions, overrides)
        env = os.environ if environ is None else environ
        settings: dict[str, Any] = {
            "account_sid": env.get("TWILIO_ACCOUNT_SID"),
            "auth_token": env.get("TWILIO_API_SECRET") or env.get("TWILIO_AUTH_TOKEN"),
            "api_key": env.get("TWILIO_API_KEY"),
            "from_": env.get("TWILIO_FROM_NUMBER"),
            "messaging_service_sid": env.get("TWILIO_MESSAGING_SERVICE_SID"),
            "status_callback": env.get("TWILIO_STATUS_CALLBACK_URL"),
        }
        settings.update(overrides)
        for key, variable in (
            ("account_sid", "TWILIO_ACCOUNT_SID"),
            ("auth_token", "TWILIO_AUTH_TOKEN"),
        ):
            if not settings[key]:
                raise InvalidInput(f"TwilioSMS.from_env: {variable} is not set")
        if not (settings["from_"] or settings["messaging_service_sid"]):
            raise InvalidInput(
                "TwilioSMS.from_env: set TWILIO_FROM_NUMBER or TWILIO_MESSAGING_SERVICE_SID"
            )
        return cls(**settings)

    def params(self, message: OutboundMessage) -> dict[str, str]:
        """The create parameters for ``message`` (what the SDK posts, by its argument names)."""
        if message.channel not in self.channels or message.to.kind is not IdentityKind.PHONE:
            raise InvalidRecipient(
                f"twilio sends SMS/WhatsApp to phone numbers; got {message.channel.value} "
                f"to a {message.to.kind.value} address",
                provider=self.name,
            )
        prefix = "whatsapp:" if message.channel is Channel.WHATSAPP else ""
        params = {"to": prefix + message.to.value, "body": message.body}
        if self.messaging_service_sid:
            params["messaging_service_sid"] = self.messaging_service_sid
        else:
            assert self.from_ is not None  # checked in __init__
            params["from_"] = self.from_ if self.from_.startswith(prefix) else prefix + self.from_
        if self._callback:
            params["status_callback"] = self._callback + quote_plus(message.id)
        return params

    def send(self, message: OutboundMessage) -> SendResult:
        """Create the message at Twilio.

        Raises:
            RetryableTransportError: Twilio did not take it (429, 503, no connection).
            InvalidRecipient / RecipientOptedOut / PermanentTransportError: it never will.
            UnknownOutcomeError: it may have been sent (timeout or drop after sending).
        """
        params = self.params(message)
        try:
            created = self.client.messages.create(**params)
        except TwilioException as exc:
            # Not chained: the SDK's text quotes the number, and a logged traceback
            # would print it (the response stays in the error's ``raw``).
            raise self._api_error(exc) from None
        except requests.RequestException as exc:
            key = _network_key(exc)
            raise error_for(
                ERRORS, (key,), f"twilio: {key}: {type(exc).__name__}", provider=self.name
            ) from exc
        status = str(created.status or "")
        return SendResult(
            provider=self.name,
            provider_message_id=created.sid,
            status=STATUSES.get(status, DeliveryStatus.UNKNOWN),
            raw={"sid": created.sid, "status": status, "num_segments": created.num_segments},
        )

    def _api_error(self, exc: TwilioException) -> TransportError:
        status = int(getattr(exc, "status", 0) or 0)
        code = getattr(exc, "code", None)
        response = self._http.last_response()
        raw: object = None
        headers: dict[str, str] = {}
        if response is not None:
            headers = dict(response.headers or {})
            raw = {"status": response.status_code, "body": response.text}
        # Twilio's text can quote the number; it stays in ``raw``, out of the message.
        return error_for(
            ERRORS,
            http_keys(status, code),
            f"twilio: HTTP {status}, code {code}",
            provider=self.name,
            code=None if code is None else str(code),
            raw=raw,
            retry_after=retry_after_seconds(headers, self._clock.now()),
        )

    def close(self) -> None:
        """Close the SDK's pooled connections."""
        if self._http.session is not None:
            self._http.session.close()

    def __repr__(self) -> str:
        sender = self.messaging_service_sid or "from number"
        return f"TwilioSMS(name={self.name!r}, sender={sender!r})"
