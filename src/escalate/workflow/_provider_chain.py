"""A channel's providers as one chain: provider fallback in the configured order.

With several transports configured for one channel, a send goes through a
``FallbackTransport`` over them, so its rules hold exactly: a provider's own
permanent failure moves to the next; an address failure, a retryable error or an
unknown outcome ends the attempt where it happened. A retryable error is tried
again on the same provider, and once the retry policy gives up on it, the row
goes to the providers after it (``ProviderChain.has_next``; the row keeps the
names it gave up on, ``result["providers_given_up"]``). The first provider's pacing
slot is taken before the consent check (``SendPath._pace``); a later one takes
its own when the chain reaches it, bounded by the row's lease, which is why a
chain is built per send (a tuple, nothing shared between the pool's threads).
That slot, and the failing provider's answer before it, can take up to a
minute: the consent check is made again before a later provider sends
(``NotAllowedNow`` when it says no), so a wait that began at 20:59:30 does not
text someone at 21:00:30. A record that check cannot read (``CorruptRecord``)
goes out as it is, and the row is held as for the first check (``_unreadable``).
A chain is never closed: the configured transports are, once each, with the
``Escalator``.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime

from escalate._clock import Clock
from escalate._exceptions import EscalateError
from escalate._messages import OutboundMessage, SendResult
from escalate._pacing import Pacer
from escalate.consent._records import Decision
from escalate.transports._base import Transport
from escalate.transports.fallback import FallbackTransport

__all__ = ["Check", "NoSlot", "NotAllowedNow", "ProviderChain", "take_slot"]

#: The send's consent decision (quiet hours included) at the instant given.
Check = Callable[[datetime], Decision]


class ProviderChain:
    """One send's chain of a channel's providers, remembering the last one it reached.

    The first provider is paced and checked by the caller; each later one takes
    its own slot and checks consent again with ``check``.

    That is the provider whose answer ended the send: when the retry policy gives
    up on a retryable error, the send path hands the row to the providers after
    it (``has_next``), since a retryable error proves this one did not take it.
    """

    def __init__(
        self,
        providers: Sequence[Transport],
        pacer: Pacer | None,
        clock: Clock,
        lease_until: datetime,
        check: Check,
    ) -> None:
        self.name = "/".join(t.name for t in providers)
        self.channels = frozenset().union(*(t.channels for t in providers))
        self.reached: Transport | None = None
        self._providers = tuple(providers)
        self._fallback = FallbackTransport(
            [
                _ChainedProvider(self, t, pacer, clock, lease_until, check=check if i else None)
                for i, t in enumerate(providers)
            ],
            name=self.name,
        )

    def send(self, message: OutboundMessage) -> SendResult:
        return self._fallback.send(message)

    def has_next(self) -> bool:
        """Whether a provider follows the one last reached (all serve the send's channel)."""
        return self.reached is not None and self.reached is not self._providers[-1]

    def close(self) -> None:
        """Nothing: the configured transports are closed once, with the ``Escalator``."""


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


class NotAllowedNow(EscalateError):
    """Consent, checked again before a later provider sends, says no (quiet hours began).

    Internal, like ``NoSlot``: nothing was sent by this provider, and the send
    path settles the row as the first check would have (deferred or refused).
    """

    def __init__(self, decision: Decision) -> None:
        super().__init__(f"not allowed now: {decision.reason}")
        self.decision = decision


class _ChainedProvider:
    """A provider in a chain: every one but the first (which the caller paced and
    checked) takes its own pacing slot and checks consent again; each notes that
    the chain reached it, then sends.

    ``FallbackTransport`` only passes on a provider's permanent error, so ``NoSlot``
    and ``NotAllowedNow`` reach the engine as they are raised.
    """

    def __init__(
        self,
        chain: ProviderChain,
        transport: Transport,
        pacer: Pacer | None,
        clock: Clock,
        lease_until: datetime,
        *,
        check: Check | None,
    ) -> None:
        self.name = transport.name
        self.channels = transport.channels
        self._chain = chain
        self._transport = transport
        self._pacer = pacer
        self._clock = clock
        self._lease_until = lease_until
        self._check = check

    def send(self, message: OutboundMessage) -> SendResult:
        if self._check is not None:
            if self._pacer is not None:
                now = self._clock.now()
                missed = take_slot(self._pacer, self._transport, self._lease_until, now)
                if missed is not None:
                    raise NoSlot(self.name, missed)
            # Read after the slot: the wait for it, or the provider before this
            # one timing out, may have carried the send into quiet hours.
            decision = self._check(self._clock.now())
            if not decision.allowed:
                raise NotAllowedNow(decision)
        self._chain.reached = self._transport
        return self._transport.send(message)

    def close(self) -> None:
        """Nothing: the configured transport is closed once, with the ``Escalator``."""
