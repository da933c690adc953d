"""A channel's providers as one chain: provider fallback in the configured order.

With several transports configured for one channel, a send goes through a
``FallbackTransport`` over them, so its rules hold exactly: a provider's own
permanent failure moves to the next; an address failure, a retryable error or an
unknown outcome ends the attempt where it happened. The first provider's pacing
slot is taken before the consent check (``SendPath._pace``); a later one takes
its own when the chain reaches it, bounded by the row's lease, which is why a
chain is built per send (a tuple, no I/O, nothing shared between the pool's
threads). A chain is never closed: the configured transports are, once each,
with the ``Escalator``.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from escalate._clock import Clock
from escalate._exceptions import EscalateError
from escalate._messages import OutboundMessage, SendResult
from escalate._pacing import Pacer
from escalate.transports._base import Transport
from escalate.transports.fallback import FallbackTransport

__all__ = ["NoSlot", "provider_chain", "take_slot"]


def provider_chain(
    providers: Sequence[Transport], pacer: Pacer | None, clock: Clock, lease_until: datetime
) -> Transport:
    """One transport trying ``providers`` in order (the first already paced by the caller)."""
    first, *rest = providers
    if pacer is not None:
        rest = [_PacedProvider(t, pacer, clock, lease_until) for t in rest]
    return FallbackTransport([first, *rest], name="/".join(t.name for t in providers))


def take_slot(
    pacer: Pacer, transport: Transport, lease_until: datetime, now: datetime
) -> float | None:
    """Take ``transport``'s next pacing slot: ``None`` once taken, else the wait it lay beyond.

    A send waits for its slot, but never past half its row's lease: a row whose
    lease expires mid-wait would be taken over and held, not sent.
    """
    budget = max((lease_until - now).total_seconds() / 2, 0.0)
    sender = getattr(transport, "sender", None)
    return None if pacer.acquire(transport.name, sender, max_wait=budget) else budget


class NoSlot(EscalateError):
    """A provider's pacing slot lies beyond the row's budget; nothing was sent.

    Internal: the send path puts the row back when it sees one, so no caller of
    escalate meets it.
    """

    def __init__(self, provider: str, budget: float) -> None:
        super().__init__(f"no pacing slot for {provider} within {budget:.1f} s")
        self.provider = provider
        self.budget = budget


class _PacedProvider:
    """A provider further down a channel's chain: takes its own pacing slot, then sends.

    ``FallbackTransport`` only passes on a provider's permanent error, so ``NoSlot``
    reaches the engine as it is raised.
    """

    def __init__(
        self, transport: Transport, pacer: Pacer, clock: Clock, lease_until: datetime
    ) -> None:
        self.name = transport.name
        self.channels = transport.channels
        self._transport = transport
        self._pacer = pacer
        self._clock = clock
        self._lease_until = lease_until

    def send(self, message: OutboundMessage) -> SendResult:
        missed = take_slot(self._pacer, self._transport, self._lease_until, self._clock.now())
        if missed is not None:
            raise NoSlot(self.name, missed)
        return self._transport.send(message)

    def close(self) -> None:
        """Nothing: the configured transport is closed once, with the ``Escalator``."""
