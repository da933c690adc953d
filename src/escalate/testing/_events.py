"""``capture_events()``: the audit events written during a block, like structlog's capture_logs.

It does not hook into the engine: the store already orders every audit event by
``seq``, so the capture notes the last ``seq`` when the block starts and reads the
events after it. Nothing in the core's write path changes, and it works with any
``Store`` (memory, SQLite, your own) that assigns ``seq`` as the protocol says.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import overload

from escalate._escalator import Escalator
from escalate._exceptions import InvalidInput
from escalate._models import DEFAULT_TENANT, Event
from escalate.store._protocol import Store

__all__ = ["CapturedEvents", "capture_events"]


class CapturedEvents(Sequence[Event]):
    """The events of one ``capture_events()`` block, oldest first.

    While the block runs it reads the store on every access (so it shows what has
    been written so far); when the block ends it keeps what it read last.
    """

    def __init__(
        self, store: Store, tenant: str, *, after_seq: int, handoff_id: str | None = None
    ) -> None:
        self._store = store
        self._tenant = tenant
        self._after_seq = after_seq
        self._handoff_id = handoff_id
        self._events: list[Event] = []
        self._open = True

    def _read(self) -> list[Event]:
        if self._open:
            self._events = [
                event
                for event in self._store.events(self._tenant, handoff_id=self._handoff_id)
                if (event.seq or 0) > self._after_seq
            ]
        return self._events

    def _close(self) -> None:
        self._read()
        self._open = False

    @property
    def kinds(self) -> list[str]:
        """The event kinds in order, e.g. ``["handoff.transition", "message.sent"]``."""
        return [event.kind for event in self._read()]

    def of_kind(self, *kinds: str) -> list[Event]:
        """The events whose kind is one of ``kinds``."""
        return [event for event in self._read() if event.kind in kinds]

    @overload
    def __getitem__(self, index: int) -> Event: ...

    @overload
    def __getitem__(self, index: slice) -> Sequence[Event]: ...

    def __getitem__(self, index: int | slice) -> Event | Sequence[Event]:
        return self._read()[index]

    def __len__(self) -> int:
        return len(self._read())

    def __iter__(self) -> Iterator[Event]:
        return iter(self._read())

    def __repr__(self) -> str:
        # Kinds only: event data may hold (redacted) addresses; kinds never do.
        return f"CapturedEvents({self.kinds!r})"


@contextmanager
def capture_events(
    source: Escalator | Store, *, tenant: str | None = None, handoff_id: str | None = None
) -> Iterator[CapturedEvents]:
    """Collect the audit events written while the block runs.

    >>> with capture_events(esc) as events:          # doctest: +SKIP
    ...     esc.resolve(handoff.id)
    >>> events.kinds                                  # doctest: +SKIP
    ['handoff.transition']

    Args:
        source: an ``Escalator`` (its store and tenant are used) or a ``Store``.
        tenant: the tenant to read; default the escalator's, or the default tenant.
        handoff_id: keep only this handoff's events.

    Raises:
        InvalidInput: ``source`` is neither an Escalator nor a Store.
    """
    store, default_tenant = _store_of(source)
    tenant = tenant or default_tenant
    existing = store.events(tenant)
    after_seq = max((event.seq or 0 for event in existing), default=0)
    captured = CapturedEvents(store, tenant, after_seq=after_seq, handoff_id=handoff_id)
    try:
        yield captured
    finally:
        captured._close()


def _store_of(source: object) -> tuple[Store, str]:
    if isinstance(source, Escalator):
        return source.store, source.tenant
    if isinstance(source, Store):
        return source, DEFAULT_TENANT
    raise InvalidInput("capture_events() takes an Escalator or a Store")
