"""Transports deliver private messages. One module per provider; the SDKs are optional extras.

``MemoryTransport`` and ``ConsoleTransport`` need nothing extra; provider modules
(``escalate.transports.twilio``, ...) import their SDK only when imported themselves.
"""

from __future__ import annotations

from escalate._messages import DeliveryStatus, InboundMessage, OutboundMessage, SendResult
from escalate.transports._base import Transport
from escalate.transports.console import ConsoleTransport
from escalate.transports.fallback import FallbackTransport
from escalate.transports.memory import MemoryTransport

__all__ = [
    "ConsoleTransport",
    "DeliveryStatus",
    "FallbackTransport",
    "InboundMessage",
    "MemoryTransport",
    "OutboundMessage",
    "SendResult",
    "Transport",
]
