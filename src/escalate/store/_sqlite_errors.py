"""SQLite's failures, as the ``StoreError`` that says what the caller can do.

A failed write reaches the caller as one of escalate's own errors, not as
``sqlite3.OperationalError``: ``StoreBusy`` and ``StoreFull`` can be outlasted
(retry later, free space), any other failure of the file itself cannot. What
is not the file's failure (an SQL mistake, a uniqueness rule) is not mapped:
those are escalate's bugs or refusals, handled where they arise.
"""

from __future__ import annotations

import sqlite3

from escalate._exceptions import StoreBusy, StoreError, StoreFull

__all__ = ["store_error"]

#: Primary result codes (the low byte of an extended code) and what they mean here.
_MAPPED: dict[int, tuple[type[StoreError], str]] = {
    sqlite3.SQLITE_BUSY: (
        StoreBusy,
        "another connection held the database's write lock past the timeout; retry later",
    ),
    sqlite3.SQLITE_LOCKED: (
        StoreBusy,
        "another connection held the database's write lock past the timeout; retry later",
    ),
    sqlite3.SQLITE_FULL: (
        StoreFull,
        "the disk or the database's size cap is full; free space, then retry",
    ),
    sqlite3.SQLITE_IOERR: (StoreError, "the database file could not be written or read"),
    sqlite3.SQLITE_READONLY: (StoreError, "the database file is read-only here"),
    sqlite3.SQLITE_CANTOPEN: (StoreError, "the database file could not be opened"),
    sqlite3.SQLITE_PERM: (StoreError, "no permission to write the database file"),
    sqlite3.SQLITE_CORRUPT: (StoreError, "the database file is damaged"),
    sqlite3.SQLITE_NOTADB: (StoreError, "the file is not a database"),
}


def store_error(exc: sqlite3.Error, path: str) -> StoreError | None:
    """The ``StoreError`` for ``exc`` on the database at ``path``, or None if it is not the file's.

    The message says what happened and what to do, never what was being
    written (it may be personal data; SQLite's own text never holds it).
    """
    code = getattr(exc, "sqlite_errorcode", None)
    if not isinstance(code, int):
        return None
    mapped = _MAPPED.get(code & 0xFF)
    if mapped is None:
        return None
    kind, meaning = mapped
    name = str(getattr(exc, "sqlite_errorname", ""))
    return kind(f"SQLite database {path!r}: {meaning}; nothing was written ({exc})", code=name)
