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
from dataclasses import dataclass

from escalate._exceptions import InvalidInput

__all__ = ["ReplyAddressing", "thread_headers"]

_MAC_CHARS = 20  # 80 bits of HMAC-SHA256, hex: forging one is out of reach


@dataclass(frozen=True)
class ReplyAddressing:
    """Signed plus-addresses that route inbound email back to a handoff.

    Args:
        address: the support mailbox, ``support@brand.example``.
        secret: the HMAC key (keep it out of the code; rotate by redeploying).

    Raises:
        InvalidInput: an address without ``@`` or with ``+`` already, or a short secret.
    """

    address: str
    secret: bytes

    def __post_init__(self) -> None:
        local, at, domain = self.address.partition("@")
        if not at or not local or not domain or "+" in local:
            raise InvalidInput("address must be a plain mailbox like support@brand.example")
        if not isinstance(self.secret, bytes) or len(self.secret) < 16:
            raise InvalidInput("secret must be at least 16 bytes")

    @property
    def domain(self) -> str:
        return self.address.partition("@")[2].lower()

    def _mac(self, handoff_id: str) -> str:
        digest = hmac.new(self.secret, handoff_id.encode(), hashlib.sha256).hexdigest()
        return digest[:_MAC_CHARS]

    def address_for(self, handoff_id: str) -> str:
        """``support+<handoff id>.<mac>@brand.example``."""
        local, _, domain = self.address.partition("@")
        return f"{local}+{handoff_id.lower()}.{self._mac(handoff_id.lower())}@{domain}"

    def resolve(self, recipient: str) -> str | None:
        """The handoff id a reply-to address names, or ``None`` if it is not ours or forged.

        Accepts ``Name <support+...@brand.example>`` too; compares the MAC in
        constant time.
        """
        value = recipient.strip()
        if "<" in value and value.endswith(">"):
            value = value[value.rindex("<") + 1 : -1]
        local, at, domain = value.lower().partition("@")
        mailbox = self.address.partition("@")[0].lower()
        if not at or domain != self.domain or not local.startswith(mailbox + "+"):
            return None
        handoff_id, dot, mac = local[len(mailbox) + 1 :].rpartition(".")
        if not dot or not handoff_id:
            return None
        if not hmac.compare_digest(mac.encode(), self._mac(handoff_id).encode()):
            return None
        return handoff_id

    def __repr__(self) -> str:
        return f"ReplyAddressing(address={self.address!r}, secret=<hidden>)"


def thread_headers(handoff_id: str, version: int, index: int, domain: str) -> dict[str, str]:
    """Message-ID for one email of a handoff, threaded under the handoff's first email.

    The first email's Message-ID is ``<handoff id@domain>``; every later one has
    its own id (from the transition's version and command index, so a retry
    keeps it) and names the first in In-Reply-To and References.
    """
    root = f"<{handoff_id}@{domain}>"
    own = f"<{handoff_id}.{version}.{index}@{domain}>"
    return {"Message-ID": own, "In-Reply-To": root, "References": root}


def root_headers(handoff_id: str, domain: str) -> dict[str, str]:
    """The headers of a handoff's first email: only its Message-ID."""
    return {"Message-ID": f"<{handoff_id}@{domain}>"}
