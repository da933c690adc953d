"""``ConsoleTransport``: prints one redacted line per message instead of sending it."""

from __future__ import annotations

import itertools
import sys
from collections.abc import Iterable
from typing import TextIO

from escalate._messages import DeliveryStatus, OutboundMessage, SendResult
from escalate._models import Channel
from escalate._redact import redact_address, redact_body

__all__ = ["ConsoleTransport"]


class ConsoleTransport:
    """A development transport: writes ``[sms] -> +1*******00 <84 chars>`` to a stream.

    Args:
        channels: the channels it serves (default: all).
        stream: where to write (default ``sys.stdout``).
        show_body: print the message text too; off by default, since bodies are
            personal data. Turn it on only for fictional data, as ``escalate demo`` does.
    """

    def __init__(
        self,
        channels: Iterable[Channel] = tuple(Channel),
        *,
        stream: TextIO | None = None,
        show_body: bool = False,
        name: str = "console",
    ) -> None:
        self.name = name
        self.channels = frozenset(Channel(channel) for channel in channels)
        self._stream = stream
        self._show_body = show_body
        self._counter = itertools.count(1)

    def send(self, message: OutboundMessage) -> SendResult:
        stream = self._stream or sys.stdout
        to = redact_address(message.to.kind.value, message.to.value)
        body = repr(message.body) if self._show_body else redact_body(message.body)
        print(f"[{message.channel.value}] -> {to} {body}", file=stream)
        return SendResult(
            provider=self.name,
            provider_message_id=f"{self.name}-{next(self._counter)}",
            status=DeliveryStatus.SENT,
        )

    def close(self) -> None:
        """Nothing to release."""

    def __repr__(self) -> str:
        return f"ConsoleTransport(channels={sorted(self.channels)!r})"
