"""``SMTPEmail``: email through the standard library's smtplib, the fallback provider.

It speaks SMTP step by step (MAIL, RCPT, DATA) so it knows how far a failure
got: a failure before DATA completes proves the server did not take the
message (retry it); a timeout or a dropped connection while waiting for DATA's
final answer may mean it was queued (hold it, never resend).

Addresses go out with their domains in A-labels (``xn--``), which every server
takes; a non-ASCII mailbox name (``josé@``) needs the server's SMTPUTF8.
"""

from __future__ import annotations

import os
import smtplib
import ssl as _ssl
from collections.abc import Mapping
from email import policy
from email.headerregistry import Address
from email.message import EmailMessage
from socket import gaierror
from typing import Any, TypedDict, Unpack

from escalate._exceptions import (
    InvalidInput,
    InvalidRecipient,
    PermanentTransportError,
    RetryableTransportError,
    TransportError,
)
from escalate._messages import DeliveryStatus, OutboundMessage, SendResult
from escalate._models import Channel
from escalate.transports._email import EmailSettings, ascii_domain
from escalate.transports._provider import NETWORK_ERRORS, check_overrides, error_for

__all__ = ["ERRORS", "SMTPEmail", "SMTPOptions"]

#: "<stage> <code>", "<code>" or "<class>xx", or a network failure -> meaning.
ERRORS: dict[str, type[TransportError]] = {
    **NETWORK_ERRORS,
    "rcpt 550": InvalidRecipient,  # no such mailbox: a hard bounce
    "rcpt 551": InvalidRecipient,  # user not local
    "rcpt 553": InvalidRecipient,  # mailbox name not allowed
    "4xx": RetryableTransportError,  # the server refused it for now (greylisting, 421, 452)
    "5xx": PermanentTransportError,  # refused for good (auth 535, policy 554)
    "smtp:unsupported": PermanentTransportError,  # no STARTTLS: never fall back to cleartext
}


def _network_key(exc: OSError, stage: str) -> str:
    if stage == "data":
        return "net:read-timeout" if isinstance(exc, TimeoutError) else "net:aborted"
    if isinstance(exc, ConnectionRefusedError):
        return "net:refused"
    if isinstance(exc, gaierror):
        return "net:dns"
    if isinstance(exc, TimeoutError):
        return "net:connect-timeout"
    return "net:send-failed"


def _mailbox(address: str, name: str | None = None) -> Address:
    local, _, domain = address.rpartition("@")
    return Address(display_name=name or "", username=local, domain=domain)


class SMTPOptions(TypedDict, total=False):
    """``SMTPEmail.from_env``'s keyword overrides: the constructor's arguments, by name.

    Spelled out so a type checker checks them at the call; the tests hold them to
    the constructor's signature, and ``from_env`` holds a call to them at run time.
    """

    host: str
    port: int
    from_email: str
    username: str | None
    password: str | None
    starttls: bool
    ssl: bool
    from_name: str | None
    reply_to: str | None
    subject: str
    message_id_domain: str | None
    timeout: float
    ssl_context: _ssl.SSLContext | None
    name: str


_STARTTLS_VALUES = {
    **dict.fromkeys(("true", "yes", "on", "1"), True),
    **dict.fromkeys(("false", "no", "off", "0"), False),
}


def _starttls(value: str | None) -> bool:
    # A value we cannot read must not decide about TLS: "off" once kept it on.
    if value is None or not value.strip():
        return True
    starttls = _STARTTLS_VALUES.get(value.strip().lower())
    if starttls is None:
        # The value is not quoted: a misplaced secret would end up in a log.
        raise InvalidInput(
            "SMTPEmail.from_env: SMTP_STARTTLS must be one of "
            "true, yes, on, 1 (the default) or false, no, off, 0"
        )
    return starttls


class SMTPEmail:
    """Sends email through an SMTP server (STARTTLS and login by default).

    Args:
        host, port: the submission server (port 587 with STARTTLS; 465 with ``ssl=True``).
        username, password: login credentials, if the server needs them.
        starttls: upgrade the connection before login; a server without STARTTLS fails
            permanently rather than receiving credentials in cleartext.
        ssl: connect with implicit TLS (SMTPS) instead.
        from_email, from_name, reply_to, subject, message_id_domain: see ``EmailSettings``.
        timeout: seconds per network operation.
    """

    def __init__(
        self,
        host: str,
        port: int = 587,
        *,
        from_email: str,
        username: str | None = None,
        password: str | None = None,
        starttls: bool = True,
        ssl: bool = False,
        from_name: str | None = None,
        reply_to: str | None = None,
        subject: str = "Your case {reference}",
        message_id_domain: str | None = None,
        timeout: float = 10.0,
        ssl_context: _ssl.SSLContext | None = None,
        name: str = "smtp",
    ) -> None:
        if not host or not from_email:
            raise InvalidInput("SMTPEmail needs a host and a from_email")
        self.name = name
        self.channels = frozenset({Channel.EMAIL})
        self.sender = from_email  # the Pacer's key for this transport's rate
        self.host, self.port = host, port
        self.settings = EmailSettings(from_email, from_name, reply_to, subject, message_id_domain)
        self._sender = ascii_domain(from_email)  # MAIL FROM, and the From header's address
        self._login = (username, password) if username else None
        self._starttls, self._ssl = starttls and not ssl, ssl
        self._context = ssl_context
        self.timeout = timeout

    @classmethod
    def from_env(
        cls, environ: Mapping[str, str] | None = None, **overrides: Unpack[SMTPOptions]
    ) -> SMTPEmail:
        """Build from ``SMTP_HOST``, ``SMTP_PORT``, ``SMTP_USERNAME``, ``SMTP_PASSWORD``,
        ``SMTP_FROM_EMAIL`` and ``SMTP_STARTTLS`` (``false``, ``no``, ``off`` or
        ``0`` turns it off; ``true``, ``yes``, ``on`` or ``1`` or unset keeps it
        on); keyword arguments (``SMTPOptions``) override them.

        Raises:
            InvalidInput: a required variable is missing (named in the message),
                ``SMTP_PORT`` is no port number, ``SMTP_STARTTLS`` none of the
                values above, or an override the constructor does not take or of
                the wrong type.
        """
        check_overrides("SMTPEmail.from_env", SMTPOptions, overrides)
        env = os.environ if environ is None else environ
        # An override wins unread: Kubernetes sets SMTP_PORT=tcp://10.0.0.7:25 for a
        # service named smtp, which from_env(port=587) must not be refused for.
        port = "587" if "port" in overrides else (env.get("SMTP_PORT") or "").strip() or "587"
        if not port.isascii() or not port.isdigit() or not 0 < int(port) < 65536:
            # int() would raise a bare ValueError quoting the value, or take "٥٨٧".
            raise InvalidInput("SMTPEmail.from_env: SMTP_PORT is not a port number (1-65535)")
        settings: dict[str, Any] = {
            "host": env.get("SMTP_HOST"),
            "port": int(port),
            "username": env.get("SMTP_USERNAME"),
            "password": env.get("SMTP_PASSWORD"),
            "from_email": env.get("SMTP_FROM_EMAIL"),
            "starttls": True if "starttls" in overrides else _starttls(env.get("SMTP_STARTTLS")),
        }
        settings.update(overrides)
        for key in ("host", "from_email"):
            if not settings[key]:
                raise InvalidInput(f"SMTPEmail.from_env: SMTP_{key.upper()} is not set")
        return cls(**settings)

    def build(self, message: OutboundMessage) -> EmailMessage:
        """The RFC 5322 message for ``message``, with threading headers."""
        settings = self.settings
        email = EmailMessage()
        # An Address, not formataddr()'s text: the header would parse that text
        # again, and an encoded name with a comma ("Zoë Support, Inc.") would
        # come out as two mailboxes.
        email["From"] = _mailbox(self._sender, settings.from_name)
        email["To"] = _mailbox(ascii_domain(settings.recipient(message, self.name)))
        email["Subject"] = settings.subject_for(message, self.name)
        reply_to = settings.reply_to_for(message, self.name)
        if reply_to:
            email["Reply-To"] = reply_to
        for key, value in settings.headers_for(message, self.name).items():
            del email[key]  # replaces: a second From or Subject would be refused
            email[key] = value
        email.set_content(message.body)
        return email

    def _connect(self) -> smtplib.SMTP:
        context = self._context or _ssl.create_default_context()
        smtp: smtplib.SMTP
        if self._ssl:
            smtp = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout, context=context)
        else:
            smtp = smtplib.SMTP(self.host, self.port, timeout=self.timeout)
        try:
            smtp.ehlo()
            if self._starttls:
                smtp.starttls(context=context)
                smtp.ehlo()
            if self._login:
                smtp.login(self._login[0], self._login[1] or "")
        except BaseException:
            smtp.close()
            raise
        return smtp

    def send(self, message: OutboundMessage) -> SendResult:
        """Submit the message to the SMTP server.

        Raises:
            RetryableTransportError: refused for now (4xx), or no connection.
            InvalidRecipient: the server rejected the recipient (550/551/553).
            PermanentTransportError: refused for good (5xx), or no STARTTLS.
            UnknownOutcomeError: the connection failed waiting for DATA's answer.
        """
        email = self.build(message)
        recipient = ascii_domain(message.to.value)
        international = not (self._sender + recipient).isascii()
        stage = "connect"
        try:
            smtp = self._connect()
            try:
                stage = "mail"
                options: tuple[str, ...] = ()
                if international:
                    # Checked here: smtplib would send the address anyway to a
                    # server that is not ESMTP, and fail encoding it.
                    if not smtp.has_extn("smtputf8"):
                        raise smtplib.SMTPNotSupportedError(
                            "the server does not take non-ASCII mailbox names (no SMTPUTF8)"
                        )
                    options = ("SMTPUTF8", "BODY=8BITMIME")
                code, reply = smtp.mail(self._sender, options)
                if code != 250:
                    raise smtplib.SMTPSenderRefused(code, reply, self._sender)
                stage = "rcpt"
                code, reply = smtp.rcpt(recipient)
                if code not in (250, 251):
                    raise smtplib.SMTPResponseException(code, reply)
                stage = "data"
                code, reply = smtp.data(
                    email.as_bytes(policy=policy.SMTPUTF8) if international else email.as_bytes()
                )
                if code != 250:
                    raise smtplib.SMTPDataError(code, reply)
                stage = "done"
            finally:
                self._quit(smtp)
        except smtplib.SMTPNotSupportedError as exc:
            raise self._error(("smtp:unsupported",), f"{stage}: {exc}", None) from exc
        except smtplib.SMTPResponseException as exc:
            code = exc.smtp_code
            keys = (f"{stage} {code}", str(code), f"{code // 100}xx")
            # Not chained: a server's reply can quote the address ("550 <jane@...>");
            # it stays in the error's ``raw``.
            raise self._error(keys, f"{stage}: SMTP {code}", exc.smtp_error) from None
        except OSError as exc:
            # smtplib's own errors (SMTPServerDisconnected) are OSErrors: the stage decides.
            key = _network_key(exc, stage)
            raise self._error((key,), f"{stage}: {key}: {type(exc).__name__}", None) from exc
        return SendResult(
            provider=self.name,
            provider_message_id=str(email["Message-ID"]),
            status=DeliveryStatus.QUEUED,
            raw={"code": code, "reply": reply.decode("utf-8", "replace")},
        )

    def _error(self, keys: tuple[str, ...], text: str, raw: object) -> TransportError:
        if isinstance(raw, bytes):
            raw = raw.decode("utf-8", "replace")
        return error_for(ERRORS, keys, f"smtp: {text}", provider=self.name, raw=raw)

    @staticmethod
    def _quit(smtp: smtplib.SMTP) -> None:
        try:
            smtp.quit()
        except (smtplib.SMTPException, OSError):
            smtp.close()  # the message's fate was decided before QUIT

    def close(self) -> None:
        """Nothing pooled: each message uses its own connection."""

    def __repr__(self) -> str:
        return f"SMTPEmail(name={self.name!r}, host={self.host!r}, port={self.port})"
