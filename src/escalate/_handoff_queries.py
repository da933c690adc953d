"""``esc.handoffs``: read access to one tenant's handoffs, by id, thread or reference code.

``reopening`` is what a thread escalated again after a closed case records.
"""

from __future__ import annotations

from collections.abc import Sequence

from escalate._exceptions import InvalidInput, NotFound
from escalate._ids import normalize_reference
from escalate._models import Handoff
from escalate.store import Store

__all__ = ["HandoffQueries", "reopening"]


class HandoffQueries:
    """Read access to handoffs, as ``esc.handoffs``."""

    def __init__(self, store: Store, tenant: str) -> None:
        self._store = store
        self._tenant = tenant

    def get(self, handoff_id: str) -> Handoff:
        """The handoff with this id.

        Raises:
            NotFound: no such handoff in this tenant.
        """
        handoff = self._store.get_handoff(self._tenant, handoff_id)
        if handoff is None:
            raise NotFound(f"no handoff {handoff_id!r} in tenant {self._tenant!r}")
        return handoff

    def for_thread(self, platform: str, thread_id: str) -> Handoff | None:
        """The open handoff of a public thread, if any."""
        return self._store.find_open_handoff(self._tenant, platform, thread_id)

    def by_reference(self, reference: str) -> Handoff:
        """The handoff a customer's reference code names (``K7QP-3M``, as typed or read).

        Case, spaces and hyphens are ignored, and I, L and O read as 1, 1 and 0.

        Raises:
            InvalidInput: not a reference code.
            NotFound: no handoff with that code in this tenant.
        """
        code = normalize_reference(reference)
        if code is None:
            raise InvalidInput("not a reference code (like K7QP-3M)")
        handoff = self._store.find_handoff_by_reference(self._tenant, code)
        if handoff is None:
            raise NotFound(f"no handoff with reference {code!r} in tenant {self._tenant!r}")
        return handoff


def reopening(earlier: Sequence[Handoff]) -> dict[str, str]:
    """What ``handoff.opened`` records of a thread escalated again after a closed case.

    The thread's ``posted_at`` may be its first post's, while the complaint that
    reopens it came after the last case closed: the SLA report must not time the
    first public response from before that close.
    """
    closed = [handoff for handoff in earlier if handoff.closed_at is not None]
    if not closed:
        return {}
    last = max(closed, key=lambda handoff: (handoff.closed_at, handoff.id))
    assert last.closed_at is not None  # filtered above
    return {"reopens": last.id, "previous_closed_at": last.closed_at.isoformat()}
