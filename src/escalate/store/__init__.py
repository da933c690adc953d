"""Stores keep escalate's durable state. ``open_store`` turns a URL into one.

``sqlite:///relative.db``, ``sqlite:////absolute/path.db`` and ``memory://`` are
built in; a ``Store`` instance of your own is accepted wherever a URL is.
"""

from __future__ import annotations

from escalate._exceptions import InvalidInput
from escalate.store._protocol import (
    Changes,
    Claim,
    IssueLimit,
    OutboxItem,
    OutboxReport,
    OutboxStatus,
    OutboxUpdate,
    SecureErasure,
    Store,
    Timer,
    TimerStatus,
)
from escalate.store.memory import MemoryStore
from escalate.store.sqlite import SQLiteStore

__all__ = [
    "Changes",
    "Claim",
    "IssueLimit",
    "MemoryStore",
    "OutboxItem",
    "OutboxReport",
    "OutboxStatus",
    "OutboxUpdate",
    "SQLiteStore",
    "SecureErasure",
    "Store",
    "Timer",
    "TimerStatus",
    "open_store",
]


def open_store(url: str) -> Store:
    """Open the store a URL names.

    Raises:
        InvalidInput: an unknown or malformed URL.
    """
    if url in ("memory://", "memory:"):
        return MemoryStore()
    if url.startswith("sqlite://"):
        path = url.removeprefix("sqlite://")
        if path in ("", "/"):
            raise InvalidInput("sqlite URL needs a path: sqlite:///escalate.db")
        # sqlite:///rel.db -> "rel.db"; sqlite:////abs.db -> "/abs.db" (SQLAlchemy's rule)
        return SQLiteStore(path[1:] if path.startswith("/") else path)
    scheme = url.partition(":")[0]
    if scheme in ("postgresql", "postgres"):
        raise InvalidInput(
            "the PostgreSQL store is not available in this version; use sqlite:///path.db"
        )
    raise InvalidInput(f"unknown store URL scheme {scheme!r}; use sqlite:///path.db or memory://")
