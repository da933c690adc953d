"""Strict bookkeeping of private sends: which ones a test has examined, and readable failures.

Failure messages show the channel, the redacted address and the body's length;
bodies only on request, since they are personal data and failures land in CI logs.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from escalate._enum import member_of
from escalate._exceptions import InvalidInput
from escalate._identity import Identity, address_as_typed
from escalate._messages import OutboundMessage
from escalate._models import Channel
from escalate._redact import redact_address, redact_body
from escalate.transports._base import Transport
from escalate.transports.fallback import FallbackTransport
from escalate.transports.memory import MemoryTransport

__all__ = ["SendChecks"]

#: The send number ``MemoryTransport.numbered()`` gives: one accepted send, for good.
#: Not a position in ``sent``: after ``clear()`` positions start again at 0, and a
#: new send must not inherit the "examined" mark of the one that was there.
_Key = int


def memory_transports(transports: Iterable[Transport]) -> Iterator[MemoryTransport]:
    """The ``MemoryTransport``s among ``transports``, also inside ``FallbackTransport``s."""
    for transport in transports:
        if isinstance(transport, MemoryTransport):
            yield transport
        elif isinstance(transport, FallbackTransport):
            yield from memory_transports(transport.transports)


class SendChecks:
    """Which messages the ``MemoryTransport``s among ``transports`` accepted, and a test saw.

    Args:
        transports: the escalator's transports; ``MemoryTransport``s are found
            among them and inside ``FallbackTransport``s.
        region: the region a ``to=`` phone number without a country code is read in.
        show_bodies: print bodies in failures (personal data: off by default).
    """

    def __init__(
        self,
        transports: Sequence[Transport],
        *,
        region: str | None = None,
        show_bodies: bool = False,
    ) -> None:
        self._memories = list(dict.fromkeys(memory_transports(transports)))
        self._examined: set[_Key] = set()
        self.region = region
        self.show_bodies = show_bodies

    def all(self) -> list[OutboundMessage]:
        """Every accepted message, across transports, oldest first."""
        return [message for _, message in self._keyed()]

    def assert_sent(
        self,
        count: int,
        *,
        channel: Channel | str | None = None,
        to: str | Identity | None = None,
        containing: str | None = None,
    ) -> list[OutboundMessage]:
        """Exactly ``count`` unexamined sends match the filters; mark and return them.

        Raises:
            InvalidInput: a ``count`` that is not a non-negative int, an unknown
                ``channel`` (the message names the valid ones), a ``to`` that is
                neither text nor an ``Identity``, or a ``containing`` that is not
                text or is empty (it would match every message).
            InvalidIdentity: a ``to`` that does not normalize.
        """
        if not isinstance(count, int) or isinstance(count, bool) or count < 0:
            raise InvalidInput(f"assert_sent() count must be an int >= 0, not {count!r}")
        # A typo is a mistake in the test, not a failed send.
        wanted = None if channel is None else member_of(Channel, channel, "assert_sent() channel")
        if to is not None and not isinstance(to, str | Identity):
            raise InvalidInput(
                f"assert_sent() to= must be an address or an Identity, not {type(to).__name__}"
            )
        if containing is not None and not isinstance(containing, str):
            raise InvalidInput(
                f"assert_sent() containing= must be text, not {type(containing).__name__}"
            )
        if containing == "":  # e.g. a reference read before it was set: filters nothing
            raise InvalidInput("assert_sent() containing='' would match every message")
        address = None if to is None else address_as_typed(to, self.region)
        fresh = self._fresh()
        matching = [
            (key, message)
            for key, message in fresh
            if (wanted is None or message.channel is wanted)
            and (address is None or message.to == address)
            and (containing is None or containing in message.body)
        ]
        if len(matching) != count:
            shown_to = address and redact_address(address.kind.value, address.value)
            criteria = ", ".join(
                f"{name}={value!r}"
                for name, value in (
                    ("channel", wanted and wanted.value),
                    ("to", shown_to),
                    ("containing", containing),
                )
                if value is not None
            )
            raise AssertionError(
                f"expected {count} new send(s){' with ' + criteria if criteria else ''}, "
                f"found {len(matching)}; unexamined sends: {self._describe(fresh)}"
            )
        self._examined.update(key for key, _ in matching)
        return [message for _, message in matching]

    def assert_nothing_more_sent(self) -> None:
        """Every accepted message has been examined."""
        fresh = self._fresh()
        if fresh:
            raise AssertionError(
                f"{len(fresh)} send(s) no assert_sent examined: {self._describe(fresh)}"
            )

    def _keyed(self) -> list[tuple[_Key, OutboundMessage]]:
        numbered = [pair for transport in self._memories for pair in transport.numbered()]
        numbered.sort(key=lambda pair: pair[0])
        return numbered

    def _fresh(self) -> list[tuple[_Key, OutboundMessage]]:
        return [(key, message) for key, message in self._keyed() if key not in self._examined]

    def _describe(self, sends: list[tuple[_Key, OutboundMessage]]) -> str:
        if not sends:
            return "none"
        lines = []
        for _, message in sends:
            to = redact_address(message.to.kind.value, message.to.value)
            body = repr(message.body) if self.show_bodies else redact_body(message.body)
            lines.append(f"{message.channel.value} to {to}: {body}")
        hint = "" if self.show_bodies else " (Scenario(show_bodies=True) prints the bodies)"
        return "[" + "; ".join(lines) + "]" + hint
