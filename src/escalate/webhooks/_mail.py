"""Reading an inbound email as a provider posts it: form fields, addresses, text.

Provider-agnostic and SDK-free: a provider module (``sendgrid.py``) maps its own
field names onto these helpers. Everything here is the stdlib ``email`` package
(``email.parser`` with ``email.policy.default``, ``email.utils.getaddresses``);
nothing is parsed by hand. Junk raises ``InvalidWebhookPayload`` and nothing else.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from email import policy
from email.errors import MessageError
from email.message import EmailMessage, Message
from email.parser import BytesHeaderParser, BytesParser
from email.utils import collapse_rfc2231_value, getaddresses
from html.parser import HTMLParser
from typing import Any

from escalate._exceptions import InvalidWebhookPayload

__all__ = [
    "addresses",
    "decode",
    "form_fields",
    "header_block",
    "header_text",
    "html_text",
    "json_object",
    "mime",
    "text_of",
]

# The stdlib's header parser has raised these on hostile input in past releases
# (IndexError, AttributeError in _header_value_parser); a verified request must
# still end in InvalidWebhookPayload, never in a 500 the provider retries forever.
_PARSER_ERRORS = (MessageError, ValueError, LookupError, IndexError, AttributeError, TypeError)


def form_fields(content_type: str | None, body: bytes) -> dict[str, bytes]:
    """The fields of a ``multipart/form-data`` body, name -> raw bytes; file parts skipped.

    The stdlib has no form-data parser (``cgi`` is gone), but a form-data body
    is a MIME multipart: it is read as one, behind its Content-Type header.

    Raises:
        InvalidWebhookPayload: not multipart/form-data, or no boundary.
    """
    if not isinstance(content_type, str) or not content_type.isascii():
        raise InvalidWebhookPayload("an inbound email POST is multipart/form-data")
    if "\r" in content_type or "\n" in content_type:
        raise InvalidWebhookPayload("a Content-Type header is one line")
    head = b"Content-Type: " + content_type.encode("ascii") + b"\r\n\r\n"
    try:
        message = BytesParser(policy=policy.default).parsebytes(head + body)
        if message.get_content_type() != "multipart/form-data" or not message.is_multipart():
            raise InvalidWebhookPayload("an inbound email POST is multipart/form-data")
        fields: dict[str, bytes] = {}
        for part in message.walk():
            if part is message or part.is_multipart() or part.get_filename() is not None:
                continue  # an attachment is never read: only its count is in the fields
            name = part.get_param("name", header="content-disposition")
            name = collapse_rfc2231_value(name) if name is not None else None
            payload = part.get_payload(decode=True)
            if isinstance(name, str) and isinstance(payload, bytes):
                fields.setdefault(name, payload)  # the first of a repeated name wins
    except _PARSER_ERRORS:
        raise InvalidWebhookPayload(
            "an inbound email POST that is not readable form data"
        ) from None
    return fields


def decode(raw: bytes, charset: str | None) -> str:
    """``raw`` in ``charset``; an unknown or non-text charset reads as UTF-8.

    Undecodable bytes become U+FFFD rather than an error: a STOP in the
    readable rest of a badly labelled reply must still count.
    """
    if charset:
        try:
            return raw.decode(charset.strip(), "replace")
        except (LookupError, UnicodeError, ValueError):
            pass  # "base64" names a codec but not a charset; "idna" refuses "replace"
    return raw.decode("utf-8", "replace")


def addresses(values: Iterable[str | None]) -> list[str]:
    """Every addr-spec of these header values (each read on its own), in order, once.

    A fragment a malformed header left behind can hold a comma or bracket;
    joined to others it would swallow the addresses after it, so it is dropped.
    """
    found: list[str] = []
    for value in values:
        if not isinstance(value, str) or not value:
            continue
        try:
            pairs = getaddresses([value])
        except _PARSER_ERRORS:
            continue
        for _, parsed in pairs:
            address = parsed.strip()
            if "@" in address and not any(c in address for c in ",<>\r\n") and address not in found:
                found.append(address)
    return found


def json_object(fields: Mapping[str, bytes], name: str) -> dict[str, Any]:
    """A form field holding a JSON object (SendGrid's ``envelope``, ``charsets``); ``{}`` if absent.

    Raises:
        InvalidWebhookPayload: not JSON, or not an object.
    """
    raw = fields.get(name)
    if raw is None:
        return {}
    try:
        value = json.loads(raw)
    except (ValueError, RecursionError):
        raise InvalidWebhookPayload(f"the {name!r} field is not JSON") from None
    if not isinstance(value, dict):
        raise InvalidWebhookPayload(f"the {name!r} field is not a JSON object")
    return value


def mime(raw: bytes) -> EmailMessage:
    """A whole RFC 5322 message (a provider's raw mode).

    Raises:
        InvalidWebhookPayload: the stdlib parser gave up on it.
    """
    try:
        message = BytesParser(policy=policy.default).parsebytes(raw)
    except _PARSER_ERRORS:
        raise InvalidWebhookPayload("the raw email is not a readable MIME message") from None
    assert isinstance(message, EmailMessage)  # what policy.default builds
    return message


def header_block(raw: bytes) -> EmailMessage:
    """A message's header section alone (a provider's ``headers`` field)."""
    try:
        message = BytesHeaderParser(policy=policy.default).parsebytes(raw)
    except _PARSER_ERRORS:
        raise InvalidWebhookPayload("the email headers are not readable") from None
    assert isinstance(message, EmailMessage)
    return message


def header_text(message: Message, name: str) -> str | None:
    """Every ``name`` header of ``message`` as one decoded text (encoded words read)."""
    try:
        values = [str(value) for value in message.get_all(name, [])]
    except _PARSER_ERRORS:
        return None
    return ", ".join(values) or None


def text_of(message: EmailMessage) -> str:
    """The message's text: its ``text/plain`` body, else its ``text/html`` one as text."""
    try:
        part = message.get_body(preferencelist=("plain", "html"))
        if part is None:
            return ""
        payload = part.get_payload(decode=True)
        content = decode(payload if isinstance(payload, bytes) else b"", part.get_content_charset())
        return html_text(content) if part.get_content_subtype() == "html" else content
    except _PARSER_ERRORS:
        raise InvalidWebhookPayload("the raw email's body is not readable") from None


class _Text(HTMLParser):
    """Text of an HTML body; quoted replies (``<blockquote>``) and non-text elements skipped.

    The head ends at ``</head>`` or at ``<body>``: HTML lets a page leave its
    ``</head>`` out (and a ``<title>`` unclosed there), and the reply after it
    must not be read as part of the head.
    """

    _SKIP = frozenset({"blockquote", "script", "style", "title"})
    _BREAKS = frozenset({"br", "p", "div", "li", "tr", "h1", "h2", "h3"})

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.open: dict[str, int] = dict.fromkeys(self._SKIP, 0)
        self.in_head = False

    @property
    def skipping(self) -> bool:
        return self.in_head or any(self.open.values())

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "head":
            self.in_head = True
        elif tag == "body":
            self.in_head = False
            self.open["title"] = 0  # a title left open in the head ends with it
        elif tag in self._SKIP:
            self.open[tag] += 1
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_endtag(self, tag: str) -> None:
        if tag == "head":
            self.in_head = False
        elif tag in self._SKIP:
            self.open[tag] = max(0, self.open[tag] - 1)
        elif tag in self._BREAKS:
            self.parts.append("\n")

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.parts.append(data)


def html_text(html: str) -> str:
    """An HTML-only reply as plain text, for keyword detection: the stdlib's
    ``HTMLParser`` keeps the text, drops the tags and every ``<blockquote>``
    (where Gmail, Outlook on the web and Apple Mail put the earlier message)."""
    parser = _Text()
    try:
        parser.feed(html)
        parser.close()
    except _PARSER_ERRORS:
        pass  # what was read so far is the text there is
    return "".join(parser.parts)
