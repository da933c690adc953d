"""``capture_events()``: the audit events written during a block, like structlog's capture_logs.

It does not hook into the engine: the store already orders every audit event by
``seq``, so the capture notes the last ``seq`` when the block starts and reads the
events after it. Nothing in the core's write path changes, and it works with any
``Store`` (memory, SQLite, your own) that assigns ``seq`` as the protocol says.

``of_kind`` refuses a kind nobody writes: ``assert not events.of_kind("mesage.sent")``
would otherwise pass for ever. It knows escalate's own kinds (``EVENT_KINDS``),
any kind already in the tenant's log, and the ones a test declares (``own_kinds``).
"""

from __future__ import annotations

import difflib
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from typing import overload

from escalate._escalator import Escalator
from escalate._event_kinds import EVENT_KINDS
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
        self,
        store: Store,
        tenant: str,
        *,
        after_seq: int,
        handoff_id: str | None = None,
        own_kinds: Iterable[str] = (),
    ) -> None:
        self._store = store
        self._tenant = tenant
        self._after_seq = after_seq
        self._handoff_id = handoff_id
        self._own_kinds = frozenset(own_kinds)
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
        """The events whose kind is one of ``kinds``.

        Raises:
            InvalidInput: no kind, a kind that is not text, or one that is neither
                escalate's (``EVENT_KINDS``), nor in the tenant's log, nor declared
                with ``capture_events(own_kinds=...)``; the message names close matches.
        """
        if not kinds:
            raise InvalidInput("of_kind() needs at least one event kind")
        for kind in kinds:
            if not isinstance(kind, str):
                raise InvalidInput(
                    f"of_kind() takes kinds as separate strings, not {type(kind).__name__}"
                )
        unknown = [
            kind for kind in kinds if kind not in EVENT_KINDS and kind not in self._own_kinds
        ]
        if unknown:
            # Read only when needed: the whole log, for an application's own kinds.
            logged = {event.kind for event in self._store.events(self._tenant)}
            for kind in unknown:
                if kind not in logged:
                    raise InvalidInput(
                        _unknown_kind(kind, {*EVENT_KINDS, *self._own_kinds, *logged})
                    )
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
    source: Escalator | Store,
    *,
    tenant: str | None = None,
    handoff_id: str | None = None,
    own_kinds: Iterable[str] = (),
) -> Iterator[CapturedEvents]:
    """Collect the audit events written while the block runs.

    >>> with capture_events(esc) as events:          # doctest: +SKIP
    ...     esc.resolve(handoff.id)
    >>> events.kinds                                  # doctest: +SKIP
    ['handoff.transition']

    Args:
        source: an ``Escalator`` (its store and tenant are used) or a ``Store``.
        tenant: the tenant to read; default the escalator's, or the default tenant.
        handoff_id: keep only this handoff's events; it must exist in the tenant.
        own_kinds: event kinds your own code writes to the store, which ``of_kind``
            should accept even before one is written.

    Raises:
        InvalidInput: ``source`` is neither an Escalator nor a Store, a
            ``handoff_id`` the tenant has no handoff for, or ``own_kinds`` that
            are not a collection of non-empty strings.
    """
    store, default_tenant = _store_of(source)
    tenant = tenant or default_tenant
    declared = _own_kinds(own_kinds)
    if handoff_id is not None and store.get_handoff(tenant, handoff_id) is None:
        # A misspelt id would capture nothing, and every "nothing happened" would pass.
        raise InvalidInput(f"capture_events(): tenant {tenant!r} has no handoff {handoff_id!r}")
    existing = store.events(tenant)
    after_seq = max((event.seq or 0 for event in existing), default=0)
    captured = CapturedEvents(
        store, tenant, after_seq=after_seq, handoff_id=handoff_id, own_kinds=declared
    )
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


def _own_kinds(kinds: Iterable[str]) -> frozenset[str]:
    if isinstance(kinds, str):  # iterated, "crm.synced" would declare "c", "r", "m"...
        return _own_kinds((kinds,))
    try:
        declared = frozenset(kinds)
    except TypeError:
        raise InvalidInput("capture_events() own_kinds= takes a collection of kinds") from None
    if not all(isinstance(kind, str) and kind for kind in declared):
        raise InvalidInput("capture_events() own_kinds= takes non-empty strings")
    return declared


def _unknown_kind(kind: str, known: Iterable[str]) -> str:
    close = difflib.get_close_matches(kind, sorted(known), n=3)
    hint = f"; did you mean {' or '.join(map(repr, close))}?" if close else ""
    return (
        f"no event kind {kind!r} is written by escalate or found in the log{hint} "
        "(escalate's kinds: escalate.testing.EVENT_KINDS; your own: "
        "capture_events(own_kinds=...))"
    )
