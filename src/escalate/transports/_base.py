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

    # Read-only members: a frozen dataclass or properties satisfy them as well as
    # plain attributes do, and nothing in escalate assigns them.
    @property
    def name(self) -> str:
        """The provider's name: outbox rows, events and ``Pacer`` limits use it."""
        ...

    @property
    def channels(self) -> frozenset[Channel]:
        """The channels it delivers on."""
        ...

    def send(self, message: OutboundMessage) -> SendResult:
        """Hand ``message`` to the provider."""
        ...

    def close(self) -> None:
        """Release connections; the transport is not used afterwards."""
        ...
