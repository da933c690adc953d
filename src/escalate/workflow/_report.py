"""``DispatchReport``: what one ``run_due`` did, counted by the events that settle rows."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["REPORT_COUNTERS", "DispatchReport"]


@dataclass
class DispatchReport:
    """What one ``run_due`` did, by outcome."""

    timers_fired: int = 0
    sent: int = 0
    posted: int = 0
    notified: int = 0
    deferred: int = 0
    retried: int = 0
    held: int = 0
    failed: int = 0
    refused: int = 0
    cancelled: int = 0
    paced: int = 0

    @property
    def idle(self) -> bool:
        """Whether nothing happened: no counter moved."""
        return not any(getattr(self, name) for name in self.__dataclass_fields__)

    def __iadd__(self, other: DispatchReport) -> DispatchReport:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))
        return self


#: Which DispatchReport counter each settling event counts towards.
REPORT_COUNTERS = {
    "message.sent": "sent",
    "message.deferred": "deferred",
    "message.retry_scheduled": "retried",
    "message.held": "held",
    "message.failed": "failed",
    "message.refused": "refused",
    "message.cancelled": "cancelled",
    "message.paced": "paced",
    "public_reply.posted": "posted",
    "public_reply.failed": "failed",
    "public_reply.held": "held",
    "notify.sent": "notified",
}
