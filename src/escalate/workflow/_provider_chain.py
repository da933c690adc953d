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

__all__ = ["NoSlot", "pacing_budget", "provider_chain"]


def provider_chain(
    providers: Sequence[Transport], pacer: Pacer | None, clock: Clock, lease_until: datetime
) -> Transport:
    """One transport trying ``providers`` in order (the first already paced by the caller)."""
    first, *rest = providers
    if pacer is not None:
        rest = [_PacedProvider(t, pacer, clock, lease_until) for t in rest]
    return FallbackTransport([first, *rest], name="/".join(t.name for t in providers))


def pacing_budget(lease_until: datetime, now: datetime) -> float:
    """Seconds a send may wait for its pacing slot.

    Never past half the lease: a row whose lease expires mid-wait would be taken
    over and held, not sent.
    """
    return max((lease_until - now).total_seconds() / 2, 0.0)


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
        budget = pacing_budget(self._lease_until, self._clock.now())
        sender = getattr(self._transport, "sender", None)
        if not self._pacer.acquire(self.name, sender, max_wait=budget):
            raise NoSlot(self.name, budget)
        return self._transport.send(message)

    def close(self) -> None:
        """Nothing: the configured transport is closed once, with the ``Escalator``."""
