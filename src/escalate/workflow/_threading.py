"""Thread continuity for email: Message-ID / In-Reply-To / References, and signed reply-to.

Every outbound email of a handoff gets a Message-ID derived from the handoff, and
all of them point at the first one, so mail clients show one conversation. The
reply-to is ``support+<token>@brand.example`` where the token is the handoff id
plus an HMAC of it: a reply lands in the same mailbox (plus-addressing), and
``ReplyAddressing.resolve`` maps its recipient back to the handoff without
trusting anything the sender could forge.
"""

from __future__ import annotations

import hashlib
import hmac
import re
from dataclasses import dataclass, field
from email.utils import getaddresses

from escalate._domain import check_email, header_domain
from escalate._exceptions import InvalidInput

__all__ = ["ReplyAddressing", "thread_headers"]

_MAC_CHARS = 20  # 80 bits of HMAC-SHA256, hex: forging one is out of reach


@dataclass(frozen=True)
class ReplyAddressing:
    """Signed plus-addresses that route inbound email back to a handoff.

    Args:
        address: the support mailbox, ``support@brand.example``.
        secret: the HMAC key (keep it out of the code) that signs new addresses.
        previous_secrets: keys still accepted when reading an address back. To
            rotate, make the new key ``secret`` and keep the old one here while
            replies to mail it signed may still come (``idle_after`` and then some);
            without it, every open conversation's replies would stop reaching
            their case the moment the key changed.

    Raises:
        InvalidInput: an address without ``@``, with ``+`` already, or that is
            not a valid email address (a space, a line break, a reserved domain
            such as ``.invalid``), or a short secret.
    """

    address: str
    secret: bytes
    previous_secrets: tuple[bytes, ...] = ()

    _domain: str = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        plain = "address must be a plain mailbox like support@brand.example"
        if not isinstance(self.address, str):
            raise InvalidInput(plain)
        local, at, domain = self.address.partition("@")
        if not at or not local or not domain or "+" in local:
            raise InvalidInput(plain)
        # The address is every email's Reply-To, and its domain the Message-IDs'
        # one: a space, a line break or a reserved domain (replies could never
        # arrive) would only fail at send time.
        check_email(self.address, plain, ascii_only=True)
        object.__setattr__(self, "_domain", header_domain(domain, "address's domain"))
        if not isinstance(self.secret, bytes) or len(self.secret) < 16:
            raise InvalidInput("secret must be at least 16 bytes")
        if not isinstance(self.previous_secrets, tuple) or any(
            not isinstance(key, bytes) or len(key) < 16 for key in self.previous_secrets
        ):
            raise InvalidInput("previous_secrets must be a tuple of keys of at least 16 bytes")

    @property
    def domain(self) -> str:
        """The mailbox's domain, lowercase ASCII (an internationalized one IDNA-encoded)."""
        return self._domain

    def _mac(self, handoff_id: str, secret: bytes | None = None) -> str:
        key = self.secret if secret is None else secret
        digest = hmac.new(key, handoff_id.encode(), hashlib.sha256).hexdigest()
        return digest[:_MAC_CHARS]

    def address_for(self, handoff_id: str) -> str:
        """``support+<handoff id>.<mac>@brand.example``."""
        local = self.address.partition("@")[0]
        return f"{local}+{handoff_id.lower()}.{self._mac(handoff_id.lower())}@{self.domain}"

    def resolve(self, recipient: str | None) -> str | None:
        """The handoff id a reply-to address names, or ``None`` if it is not ours or forged.

        ``recipient`` may be a whole ``To`` or ``Cc`` header as it came in (an
        ``InboundMessage.recipient``, ``None`` when the message had none): a
        display name (``Acme <support+...@brand.example>``), several addresses
        (a reply to all), a comment, a folded line, a quoted local part. The
        first signed address of ours wins. Anything else, text or not, is
        ``None``: the sender's own routing takes over, so junk never raises.
        Compares the MAC in constant time.
        """
        if not isinstance(recipient, str):
            return None
        try:
            pairs = getaddresses([recipient])
        except RecursionError:
            return None  # its parser recurses once per "(" or group: a thousand of them
        for _, address in pairs:
            handoff_id = self._resolve_address(address)
            if handoff_id is not None:
                return handoff_id
        return None

    def _resolve_address(self, address: str) -> str | None:
        local, at, domain = address.strip().lower().rpartition("@")
        if len(local) > 1 and local[0] == local[-1] == '"':
            # A quoted local part means the same mailbox unquoted (RFC 5322 3.4.1).
            local = re.sub(r"\\(.)", r"\1", local[1:-1])
        mailbox = self.address.partition("@")[0].lower()
        if not at or not local.startswith(mailbox + "+") or not self._is_our_domain(domain):
            return None
        handoff_id, dot, mac = local[len(mailbox) + 1 :].rpartition(".")
        if not dot or not handoff_id:
            return None
        # Every key is tried, so the time taken does not tell which one matched.
        matches = [
            hmac.compare_digest(mac.encode(), self._mac(handoff_id, key).encode())
            for key in (self.secret, *self.previous_secrets)
        ]
        return handoff_id if any(matches) else None

    def _is_our_domain(self, domain: str) -> bool:
        if domain == self.domain:
            return True
        if domain.isascii():
            return False
        # The same domain in U-labels (bücher.example for xn--bcher-kva.example):
        # a client that shows it so may write it back so, and SMTPUTF8 carries it.
        try:
            return header_domain(domain, "domain") == self.domain
        except InvalidInput:
            return False

    def __repr__(self) -> str:
        previous = f", previous_secrets=<{len(self.previous_secrets)} hidden>"
        return (
            f"ReplyAddressing(address={self.address!r}, secret=<hidden>"
            f"{previous if self.previous_secrets else ''})"
        )


#: RFC 5322 dot-atom-text: the left-hand side of a msg-id.
_ID_LEFT = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


def thread_headers(handoff_id: str, version: int, index: int, domain: str) -> dict[str, str]:
    """Message-ID for one email of a handoff, threaded under the handoff's first email.

    The first email's Message-ID is ``<handoff id@domain>``; every later one has
    its own id (from the transition's version and command index, so a retry
    keeps it) and names the first in In-Reply-To and References.

    Raises:
        InvalidInput: a ``handoff_id`` that is not RFC 5322 dot-atom text, a
            ``version`` or ``index`` that is not an int of at least 0, or a
            ``domain`` that is not a host name (an internationalized one is
            written in A-labels): each would make a malformed Message-ID,
            which breaks the thread without an error.
    """
    if not isinstance(handoff_id, str) or not _ID_LEFT.fullmatch(handoff_id):
        raise InvalidInput(f"handoff_id must be dot-atom text like ho_0123, not {handoff_id!r}")
    for name, number in (("version", version), ("index", index)):
        if not isinstance(number, int) or isinstance(number, bool) or number < 0:
            raise InvalidInput(f"{name} must be an int of at least 0, not {number!r}")
    return email_thread_headers(handoff_id, version, index, header_domain(domain, "domain"))


def email_thread_headers(handoff_id: str, version: int, index: int, domain: str) -> dict[str, str]:
    """``thread_headers`` for arguments already checked (the default workflow's)."""
    root = f"<{handoff_id}@{domain}>"
    own = f"<{handoff_id}.{version}.{index}@{domain}>"
    return {"Message-ID": own, "In-Reply-To": root, "References": root}


def root_headers(handoff_id: str, domain: str) -> dict[str, str]:
    """The headers of a handoff's first email: only its Message-ID."""
    return {"Message-ID": f"<{handoff_id}@{domain}>"}
