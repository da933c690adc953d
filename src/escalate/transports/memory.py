"""``MemoryTransport``: records what would have been sent; can be scripted to fail."""

from __future__ import annotations

import itertools
import threading
from collections import deque
from collections.abc import Iterable

from escalate._exceptions import InvalidInput
from escalate._identity import Identity, address_as_typed
from escalate._messages import DeliveryStatus, OutboundMessage, SendResult
from escalate._models import Channel

__all__ = ["MemoryTransport"]

#: Numbers every accepted send of every MemoryTransport in the process, so sends
#: to several transports can be put back in the order they happened.
_SEND_NUMBERS = itertools.count()


class MemoryTransport:
    """A transport that keeps every accepted message in ``sent`` (also ``outbox``).

    Args:
        channels: the channels it serves (default: all).
        name: the provider name it reports.

    Script failures with ``fail_next``: each queued exception is raised by one
    ``send`` call, in order, and that message is not recorded as sent.
    """

    def __init__(
        self, channels: Iterable[Channel] = tuple(Channel), *, name: str = "memory"
    ) -> None:
        self.name = name
        self.channels = frozenset(Channel(channel) for channel in channels)
        self.sent: list[OutboundMessage] = []
        self.attempts: list[OutboundMessage] = []
        #: Each accepted message with its send number (see ``numbered``).
        self._numbered: list[tuple[int, OutboundMessage]] = []
        self._failures: deque[Exception] = deque()
        self._lock = threading.Lock()
        self.closed = False

    def fail_next(self, error: Exception, times: int = 1) -> None:
        """Make the next ``times`` sends raise ``error``.

        Raises:
            InvalidInput: ``error`` is not an exception instance, or ``times`` is
                not an int >= 0 (``0`` scripts none, as a parametrized test may ask).
        """
        if not isinstance(error, Exception):
            raise InvalidInput(
                f"fail_next() takes an exception instance, e.g. RetryableTransportError('503'),"
                f" not {error!r}"
            )
        if not isinstance(times, int) or isinstance(times, bool) or times < 0:
            raise InvalidInput(f"fail_next() times must be an int >= 0, not {times!r}")
        with self._lock:
            self._failures.extend([error] * times)

    def send(self, message: OutboundMessage) -> SendResult:
        with self._lock:
            self.attempts.append(message)
            if self._failures:
                raise self._failures.popleft()
            self.sent.append(message)
            self._numbered.append((next(_SEND_NUMBERS), message))
            number = len(self.sent)
        return SendResult(
            provider=self.name,
            provider_message_id=f"{self.name}-{number}",
            status=DeliveryStatus.SENT,
        )

    @property
    def outbox(self) -> list[OutboundMessage]:
        """The messages accepted so far, oldest first: ``sent`` under its mail-test name."""
        return self.sent

    def numbered(self) -> list[tuple[int, OutboundMessage]]:
        """``sent`` with a process-wide send number each, to merge several transports in order.

        The numbers only grow, across every ``MemoryTransport`` of the process. A
        message put in ``sent`` by hand gets the next number when first seen here.
        """
        with self._lock:
            # By identity: the messages are alive (in _numbered), so ids are unique.
            known = {id(message): number for number, message in self._numbered}
            numbered = []
            for message in self.sent:
                number = known.get(id(message))
                if number is None:
                    number = next(_SEND_NUMBERS)
                    self._numbered.append((number, message))
                    known[id(message)] = number
                numbered.append((number, message))
            return numbered

    def sent_to(
        self, address: str | Identity, *, region: str | None = None
    ) -> list[OutboundMessage]:
        """Messages sent to one address: an ``Identity``, or a phone or email as typed.

        The text is normalized first (``"+1 (415) 555-0100"``, ``"Jane@Example.com"``),
        so a differently written address is not silently "never sent to".
        ``region`` reads a phone number written without its country code.

        Raises:
            InvalidIdentity: an address that does not normalize.
            InvalidInput: neither text nor an ``Identity``.
        """
        wanted = address_as_typed(address, region)
        return [message for message in self.sent if message.to == wanted]

    def clear(self) -> None:
        """Forget what was sent and any scripted failures."""
        with self._lock:
            self.sent.clear()
            self._numbered.clear()
            self.attempts.clear()
            self._failures.clear()

    def close(self) -> None:
        self.closed = True

    def __repr__(self) -> str:
        return f"MemoryTransport(name={self.name!r}, sent={len(self.sent)})"
