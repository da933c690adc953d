"""The ``Transport`` protocol: one verb, ``send``, plus ``close``."""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from escalate._messages import OutboundMessage, SendResult
from escalate._models import Channel

__all__ = ["Transport"]


@runtime_checkable
class Transport(Protocol):
    """Delivers private messages on one or more channels.

    ``send`` returns a ``SendResult`` when the provider accepted the message and
    raises a ``TransportError`` subclass otherwise: ``RetryableTransportError``
    only when the provider proves it did not take the message,
    ``UnknownOutcomeError`` when it might have.
    """

    name: str
    channels: frozenset[Channel]

    def send(self, message: OutboundMessage) -> SendResult:
        """Hand ``message`` to the provider."""
        ...

    def close(self) -> None:
        """Release connections; the transport is not used afterwards."""
        ...
