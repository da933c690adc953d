"""Audit rows as a store keeps them, checked against their hash as stored.

A store that keeps each event as text (``SQLiteStore``) hands verification its
rows as they are, not as parsed ``Event`` models: the text is what was hashed, so
it is hashed as stored, and a row that no longer reads as an event at all (not
JSON, not an object, a field of the wrong type, not even UTF-8) is still placed
on its chain, by its columns, and reported as edited. Parsing first would stop
the whole check at that row, and hide whatever else was changed.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from pydantic import ValidationError

from escalate._models import Event
from escalate.audit._chain import canonical_content, chain_named, stored_content_hash
from escalate.audit._verify import EDITED, AuditEntry

__all__ = ["MISTYPED", "UNREADABLE", "StoredEvents", "StoredRow", "stored_entry"]

#: The fault of a row that does not read as an event: someone edited it.
UNREADABLE = "content cannot be read as an event: edited"
#: The fault of a row with a column stored as something other than text (a BLOB
#: of the same bytes, say): readers filtering on it no longer find it.
MISTYPED = "a column is not stored as text: edited"


@runtime_checkable
class StoredEvents(Protocol):
    """A store that can hand verification its audit rows as stored (``verify_store`` asks)."""

    def audit_entries(self, tenant: str, *, handoff_id: str | None = None) -> list[AuditEntry]:
        """The tenant's audit events (or one handoff's), each checked against its hash."""
        ...


#: ``(seq, id, data, prev_hash, hash, kind, handoff_id, contact_id)``, text as the bytes stored.
StoredRow = tuple[
    int,
    bytes | None,
    bytes | None,
    bytes | None,
    bytes | None,
    bytes | None,
    bytes | None,
    bytes | None,
]


def stored_entry(tenant: str, row: StoredRow) -> AuditEntry:
    """One stored row of ``tenant``'s as verification sees it.

    The row's chain is named by its ``handoff_id`` and ``contact_id`` columns, as
    the store's readers filter on them; those, ``kind`` and ``tenant`` must also
    say what the hashed content says, or the row counts as edited.
    """
    seq, event_id, data, prev_hash, hash_, kind, handoff_id, contact_id = row
    columns = {
        "tenant": tenant,
        "kind": _text(kind),
        "handoff_id": _text(handoff_id),
        "contact_id": _text(contact_id),
    }
    entry = AuditEntry(
        tenant=tenant,
        chain=chain_named(columns["handoff_id"], columns["contact_id"]),
        event_id=_text(event_id) or "",
        seq=seq,
        prev_hash=_text(prev_hash),
        hash=_text(hash_),
    )
    if entry.hash is None:  # nothing to check it against: the chain walk judges it
        return entry
    return entry._replace(fault=_fault(data or b"", entry.prev_hash, entry.hash, columns))


def _fault(
    data: bytes, prev_hash: str | None, own: str, columns: dict[str, str | None]
) -> str | None:
    as_stored = stored_content_hash(prev_hash, data) == own
    try:
        # Parsed even when the text hashes right: a row whose hash was recomputed
        # over text that is not an event would pass here, then fail every read.
        event = Event.model_validate_json(data)
    except ValidationError:
        return UNREADABLE
    if as_stored:
        intact = all(getattr(event, name) == value for name, value in columns.items())
        return None if intact else EDITED
    # Not the text that was hashed: an edit, or a row from before the store kept
    # the canonical text (pydantic's JSON of the same content), which hashes
    # right once put back in canonical form.
    event = event.model_copy(update=columns)
    content = canonical_content(event)
    if stored_content_hash(prev_hash, content.encode()) != own:
        return EDITED
    # Pydantic's JSON form writes NaN and the infinities as null, so a null edited
    # into one (`NaN`, `1e400`) still hashes right: what readers get must be what
    # the hash covers, the canonical text read back.
    return None if Event.model_validate_json(content).data == event.data else EDITED


def _text(value: bytes | None) -> str | None:
    # A column edited into bytes that are not UTF-8 keeps its place (and fails
    # every comparison) instead of stopping the read.
    return None if value is None else value.decode(errors="replace")
