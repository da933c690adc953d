"""``FallbackTransport``: try the next provider when one refuses a message for good.

A combinator, not a provider: ``FallbackTransport([sendgrid, smtp])`` is itself a
``Transport``. It moves on only when a provider fails permanently for reasons of
its own (a suspended account, a rejected API key, a malformed request). It never
moves on when the failure is about the recipient (``InvalidRecipient``,
``RecipientOptedOut``: the next provider would reach the same bad or opted-out
address), nor on ``UnknownOutcomeError`` (the first provider may have sent it: a
second provider would make it twice), nor on ``RetryableTransportError`` (the
outbox retries the preferred provider later, per its policy).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

from escalate._exceptions import (
    InvalidInput,
    InvalidRecipient,
    PermanentTransportError,
    RecipientOptedOut,
)
from escalate._messages import OutboundMessage, SendResult
from escalate.transports._base import Transport

__all__ = ["FallbackTransport"]

log = logging.getLogger("escalate")


class FallbackTransport:
    """Sends through the first of ``transports`` that serves the channel and accepts.

    Args:
        transports: providers in order of preference.
        name: the name it reports (and is paced under); default ``"fallback"``.

    ``SendResult.provider`` says which provider took the message.
    """

    def __init__(self, transports: Sequence[Transport], *, name: str = "fallback") -> None:
        if not transports:
            raise InvalidInput("FallbackTransport needs at least one transport")
        self.name = name
        self.transports = tuple(transports)
        self.channels = frozenset().union(*(t.channels for t in self.transports))

    def send(self, message: OutboundMessage) -> SendResult:
        candidates = [t for t in self.transports if message.channel in t.channels]
        if not candidates:
            raise PermanentTransportError(
                f"no transport in {self.name} serves {message.channel.value}", provider=self.name
            )
        last: PermanentTransportError | None = None
        for transport, following in zip(candidates, [*candidates[1:], None], strict=True):
            try:
                return transport.send(message)
            except (InvalidRecipient, RecipientOptedOut):
                raise  # about the address: every provider would fail the same way
            except PermanentTransportError as exc:
                last = exc  # about this provider: the next one may take it
                if following is not None:
                    # Said every time: a provider failing for good (a revoked key,
                    # a suspended account) would otherwise go unnoticed while the
                    # next one takes its traffic. Names and code only: a
                    # provider's message may quote the recipient.
                    log.warning(
                        "provider %s failed permanently (%s, code %s); %s takes the message",
                        transport.name,
                        type(exc).__name__,
                        exc.code,
                        following.name,
                    )
        assert last is not None
        raise last

    def close(self) -> None:
        for transport in self.transports:
            transport.close()

    def __repr__(self) -> str:
        names = ", ".join(t.name for t in self.transports)
        return f"FallbackTransport([{names}])"
