"""Reading an inbound email as a provider posts it: form fields, addresses, text.

Provider-agnostic and SDK-free: a provider module (``sendgrid.py``) maps its own
field names onto these helpers. Everything here is the stdlib ``email`` package
(``email.parser`` with ``email.policy.compat32``, ``email.utils.getaddresses``);
nothing is parsed by hand. Junk raises ``InvalidWebhookPayload`` and nothing else.

Why ``compat32`` and not ``policy.default``: anyone can email the parse address,
and ``policy.default`` builds a structured header object for every header it
reads, the MIME parser's own Content-Type reads included, at 10 to 100 µs per
character of a hostile parameter list and in more than quadratic time in one
long value (a To of 20,000 ``"``: 6 s; a 30 MB email of such headers: an hour).
``compat32`` reads the same MIME structure in linear time; addresses need only
``getaddresses``, and ``text_of`` picks the body as ``EmailMessage.get_body`` does.
An HTML body is read as text by ``webhooks/_html.py``, in linear time too.
Its parameter reading is quadratic in one header's length, so the messages
read here split parameters in one pass (``webhooks/_mail_params.py``), and a
header the parser or ``text_of`` looks up (Content-Type, Content-Disposition...)
may be at most ``MAX_HEADER_CHARS`` long; the address headers are read raw, at
any length.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from email.errors import MessageError
from email.header import Header
from email.message import Message
from email.parser import BytesHeaderParser, BytesParser
from email.policy import Compat32
from email.utils import collapse_rfc2231_value, getaddresses
from typing import Any

from escalate._exceptions import InvalidWebhookPayload
from escalate.webhooks._html import html_text
from escalate.webhooks._mail_params import Message as _ParamsMessage

__all__ = [
    "MAX_HEADER_CHARS",
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
# (IndexError, AttributeError in _header_value_parser), and both of its address
# parsers recurse once per nested comment: a From of a thousand "(" is a
# RecursionError. A verified request must still end in InvalidWebhookPayload,
# never in a 500 the provider retries forever.
_PARSER_ERRORS = (
    MessageError,
    ValueError,
    LookupError,
    IndexError,
    AttributeError,
    TypeError,
    RecursionError,
)

#: The longest header value the parser or ``text_of`` reads (a Content-Type, a
#: Content-Disposition with a file name): real ones are a few hundred characters.
MAX_HEADER_CHARS = 10_000


class _Policy(Compat32):
    """``compat32``, refusing to read a header value over ``MAX_HEADER_CHARS``.

    compat32 reads parameters (``get_param``, the boundary the parser looks up)
    by slicing the rest of the value once per parameter: a Content-Type of
    300,000 ``; a=b`` took 20 s. Only the headers looked up go through here.
    Its messages split parameters in one pass (``webhooks/_mail_params.py``),
    or every 10,000-character header would still cost milliseconds.
    """

    message_factory = _ParamsMessage

    def header_fetch_parse(self, name: str, value: str) -> str | Header:  # type: ignore[override]
        if len(value) > MAX_HEADER_CHARS:
            raise InvalidWebhookPayload(f"an email header over {MAX_HEADER_CHARS} characters")
        return super().header_fetch_parse(name, value)


_POLICY = _Policy()


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
        message = BytesParser(policy=_POLICY).parsebytes(head + body)
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
    # A dict, not a list, to keep them once: an email may name 100,000 recipients,
    # and a list's ``in`` made that minutes of work.
    found: dict[str, None] = {}
    for value in values:
        if not isinstance(value, str) or not value:
            continue
        try:
            pairs = getaddresses([value])
        except _PARSER_ERRORS:
            continue
        for _, parsed in pairs:
            address = parsed.strip()
            if "@" in address and not any(c in address for c in ",<>\r\n"):
                found.setdefault(address)
    return list(found)


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


def mime(raw: bytes) -> Message:
    """A whole RFC 5322 message (a provider's raw mode).

    Raises:
        InvalidWebhookPayload: the stdlib parser gave up on it.
    """
    try:
        return BytesParser(policy=_POLICY).parsebytes(raw)
    except _PARSER_ERRORS:
        raise InvalidWebhookPayload("the raw email is not a readable MIME message") from None


def header_block(raw: bytes) -> Message:
    """A message's header section alone (a provider's ``headers`` field)."""
    try:
        return BytesHeaderParser(policy=_POLICY).parsebytes(raw)
    except _PARSER_ERRORS:
        raise InvalidWebhookPayload("the email headers are not readable") from None


def header_text(message: Message, name: str) -> str | None:
    """Every ``name`` header of ``message`` as one text, as it came but unfolded.

    Encoded words stay as they are: an address header's display names may hold
    them, its addresses never do, and ``addresses`` keeps only the addresses.
    Raw 8-bit bytes (an internationalized address) are read as UTF-8.
    """
    wanted = name.lower()
    values = [
        # What policy.default does to a folded value: its line breaks go.
        value.replace("\r", "")
        .replace("\n", "")
        # The parser keeps raw bytes as surrogate escapes: put them back, read them as UTF-8.
        .encode("utf-8", "surrogateescape")
        .decode("utf-8", "replace")
        for key, value in message.raw_items()
        if isinstance(key, str) and isinstance(value, str) and key.lower() == wanted
    ]
    return ", ".join(values) or None


def text_of(message: Message) -> str:
    """The message's text: its ``text/plain`` body, else its ``text/html`` one as text."""
    try:
        part = _body(message)
        if part is None:
            return ""
        payload = part.get_payload(decode=True)
        content = decode(payload if isinstance(payload, bytes) else b"", part.get_content_charset())
        return html_text(content) if part.get_content_subtype() == "html" else content
    except _PARSER_ERRORS:
        raise InvalidWebhookPayload("the raw email's body is not readable") from None


_PREFERENCE = ("plain", "html")


def _body(message: Message) -> Message | None:
    """``EmailMessage.get_body(preferencelist=("plain", "html"))``, on a compat32 message."""
    best: tuple[int, Message] | None = None
    for rank, part in _candidates(message, message):
        if best is None or rank < best[0]:
            best = (rank, part)
            if rank == 0:
                break
    return best[1] if best else None


def _candidates(root: Message, part: Message) -> Iterator[tuple[int, Message]]:
    """The stdlib's ``_find_body``: text parts that are no attachment, by preference."""
    if part.get_content_disposition() == "attachment":
        return
    maintype, _, subtype = part.get_content_type().partition("/")
    if maintype == "text":
        if subtype in _PREFERENCE:
            yield _PREFERENCE.index(subtype), part
        return
    payload = part.get_payload()
    # ``root``, as the stdlib has it: its own test looks at the message, not the part.
    if maintype != "multipart" or not root.is_multipart() or not isinstance(payload, list):
        return
    children: list[Message] = [child for child in payload if isinstance(child, Message)]
    if subtype == "related":
        # Only the root part of a multipart/related: its ``start``, else its first.
        start = part.get_param("start")
        chosen = next((c for c in children if start and c["content-id"] == start), None)
        children = [chosen or children[0]] if children else []
    for child in children:
        yield from _candidates(root, child)
