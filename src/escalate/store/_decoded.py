"""Records decoded from the JSON a store keeps, remembered by that exact text.

A handoff is read back moments after it was written (a verb commits it, the
dispatcher reads it to run its messages, the next verb reads it again), and
decoding a handoff's JSON, with its thread and identities validated again, costs
more than the query that fetched it. The text is the record: the same text
always decodes to an equal record, so a record remembered under its text can be
handed out again instead of decoding it again, and no invalidation is ever
needed. A new version is new text, which misses and is decoded (or was
remembered when this process wrote it).

The records are frozen models; every reader gets the same instance, as every
reader of ``MemoryStore`` does.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

from pydantic import BaseModel

__all__ = ["Decoded"]

M = TypeVar("M", bound=BaseModel)


class Decoded(Generic[M]):
    """Decode ``model`` records from JSON text, keeping the last ``size`` by their text.

    Args:
        model: the frozen pydantic model the text holds.
        size: how many records to keep; the oldest remembered is dropped first.
    """

    def __init__(self, model: type[M], size: int = 256) -> None:
        self._model = model
        self._size = size
        self._by_text: dict[str, M] = {}
        self._lock = threading.Lock()

    def load(self, text: str, *, keep: bool = True) -> M:
        """The record ``text`` holds (``model_validate_json``, unless remembered).

        ``keep=False`` does not remember a record it had to decode: for scans
        of many old records, which would push out the recent ones.
        """
        record = self._by_text.get(text)
        if record is None:
            record = self._model.model_validate_json(text)
            if keep:
                self.remember(text, record)
        return record

    def remember(self, text: str, record: M) -> None:
        """Keep ``record`` as what ``text`` decodes to (``text`` is its own JSON)."""
        with self._lock:
            self._by_text[text] = record
            if len(self._by_text) > self._size:
                del self._by_text[next(iter(self._by_text))]
