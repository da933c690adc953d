"""Records decoded from the JSON a store keeps, remembered by that exact text.

A handoff is read back moments after it was written (a verb commits it, the
dispatcher reads it to run its messages, the next verb reads it again), and
decoding a handoff's JSON, with its thread and identities validated again, costs
more than the query that fetched it. The text is the record: the same text
always decodes to an equal record, so a record remembered under its text can be
handed out again instead of decoding it again. A new version is new text, which
misses and is decoded (or was remembered when this process wrote it).

Only the newest text of each record (by ``key``: tenant and id) is kept, and a
store forgets what it erases (``forget``): an erased person's old contact,
scrubbed case or deleted consent records must not live on in the process's
memory, handed out to no one but still there.

The records are frozen models; every reader gets the same instance, as every
reader of ``MemoryStore`` does.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Hashable
from typing import Generic, TypeVar

from pydantic import BaseModel, ValidationError

from escalate._exceptions import CorruptRecord

__all__ = ["Decoded", "problems", "read_row"]

M = TypeVar("M", bound=BaseModel)


class Decoded(Generic[M]):
    """Decode ``model`` records from JSON text, keeping the last ``size`` by their text.

    Args:
        model: the frozen pydantic model the text holds.
        size: how many records to keep; the oldest remembered is dropped first.
        key: what names one record across its versions (tenant and id); a
            record remembered under new text replaces its older text.
        unreadable: the error to raise for text that is not a ``model`` (a row
            edited by hand), given that text and pydantic's error; by default
            pydantic's own, which does not say which row it was.
    """

    def __init__(
        self,
        model: type[M],
        size: int = 256,
        *,
        key: Callable[[M], Hashable] | None = None,
        unreadable: Callable[[str, ValidationError], Exception] | None = None,
    ) -> None:
        self._model = model
        self._unreadable = unreadable
        self._size = size
        self._key = key
        self._by_text: dict[str, M] = {}
        self._text_of: dict[Hashable, str] = {}
        self._lock = threading.Lock()

    def load(self, text: str, *, keep: bool = True) -> M:
        """The record ``text`` holds (``model_validate_json``, unless remembered).

        ``keep=False`` does not remember a record it had to decode: for scans
        of many old records, which would push out the recent ones.
        """
        record = self._by_text.get(text)
        if record is None:
            try:
                record = self._model.model_validate_json(text)
            except ValidationError as exc:
                if self._unreadable is None:
                    raise
                raise self._unreadable(text, exc) from None
            if keep:
                self.remember(text, record)
        return record

    def remember(self, text: str, record: M) -> None:
        """Keep ``record`` as what ``text`` decodes to (``text`` is its own JSON)."""
        with self._lock:
            if self._key is not None:
                name = self._key(record)
                older = self._text_of.get(name)
                if older is not None and older != text:
                    self._by_text.pop(older, None)
                self._text_of[name] = text
            self._by_text[text] = record
            if len(self._by_text) > self._size:
                oldest = next(iter(self._by_text))
                dropped = self._by_text.pop(oldest)
                if self._key is not None and self._text_of.get(self._key(dropped)) == oldest:
                    del self._text_of[self._key(dropped)]

    def forget(self, erased: Callable[[M], bool]) -> None:
        """Drop every remembered record for which ``erased`` is true."""
        with self._lock:
            for text, record in list(self._by_text.items()):
                if erased(record):
                    del self._by_text[text]
                    if self._key is not None and self._text_of.get(self._key(record)) == text:
                        del self._text_of[self._key(record)]

    def remembered(self) -> list[tuple[str, M]]:
        """Every ``(text, record)`` kept, oldest first (for tests and audits of what is held)."""
        with self._lock:
            return list(self._by_text.items())


def problems(exc: ValueError, *, most: int = 3) -> str:
    """What a stored text that did not read gets wrong: its fields and problems, never values."""
    if isinstance(exc, ValidationError):
        errors = exc.errors(include_url=False, include_context=False, include_input=False)
        found = [
            f"{'.'.join(str(part) for part in error['loc']) or 'record'}: {error['msg']}"
            for error in errors[:most]
        ]
        more = len(errors) - most
        return "; ".join(found) + (f"; {more} more" if more > 0 else "")
    if isinstance(exc, json.JSONDecodeError):
        return f"not JSON: {exc.msg}"
    return type(exc).__name__


def read_row(model: type[M], text: str, *, record: str, record_id: str) -> M:
    """The ``model`` record one stored row's JSON holds, not remembered (for rare reads).

    Raises:
        CorruptRecord: the text is not a ``model`` (edited outside escalate),
            naming ``record`` and its ``record_id``, never quoting the text.
    """
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise CorruptRecord(record, record_id=record_id, detail=problems(exc)) from None
