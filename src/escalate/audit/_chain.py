"""The audit log's hash chains: which chain an event joins, and how it is hashed.

Every store links events the same way, inside its commit, so a chain is one
unbroken sequence however many workers write: each event's ``hash`` is
``sha256(prev_hash + "\\n" + canonical JSON of its content)``, and its ``prev_hash``
is the hash of the event before it in the same chain. The last hash of every
chain is kept as its *head*, written in the same transaction, so deleting the
newest events is as visible as deleting old ones.

Chain rule: an event with a ``handoff_id`` joins that handoff's chain; one with
only a ``contact_id`` joins that contact's chain; one with neither joins the
tenant's chain. Every chain lives inside one tenant.
"""

from __future__ import annotations

import enum
import hashlib
import json
import math
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import NamedTuple

from pydantic import ConfigDict
from pydantic_core import PydanticSerializationError, to_json

from escalate._clock import formats_last_once
from escalate._model import Model
from escalate._models import Event

__all__ = [
    "BeforeHashing",
    "ChainHead",
    "ChainKey",
    "Link",
    "Tip",
    "canonical_content",
    "chain_links",
    "chain_named",
    "chain_of",
    "event_hash",
    "link_events",
    "stored_content_hash",
]

#: ``(tenant, chain)``: a chain is named ``handoff:<id>``, ``contact:<id>`` or ``tenant``.
ChainKey = tuple[str, str]

#: Fields that are not the event's content: where the store put it, and the chain itself.
_NOT_CONTENT = {"seq", "prev_hash", "hash"}
#: Sorted keys, no whitespace, UTF-8 kept as is (hashed as UTF-8 bytes).
_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _canonical_encoder() -> Callable[[object], str]:
    """``_CANONICAL.encode``, with its C encoder built once rather than on every call.

    ``JSONEncoder.encode`` builds a new C encoder per call, which costs as much as
    encoding an event. The same one, built once, gives the same text (tests hold
    it to ``json.dumps``). Without circular-reference markers: content is a tree.
    """
    make = getattr(json.encoder, "c_make_encoder", None)
    if make is None:  # an interpreter without the C accelerator
        return _CANONICAL.encode
    encode = make(
        None,  # markers
        _CANONICAL.default,
        json.encoder.encode_basestring,  # ensure_ascii=False
        None,  # indent
        ":",
        ",",
        True,  # sort_keys
        False,  # skipkeys
        True,  # allow_nan, as JSONEncoder's default
    )
    return lambda content: "".join(encode(content, 0))


_encode_canonical = _canonical_encoder()
#: The content fields other than ``at`` and ``data``: all text (or None), as they are.
_TEXT_FIELDS = tuple(sorted(set(Event.model_fields) - _NOT_CONTENT - {"at", "data"}))
#: Every content field, in the order sort_keys puts them.
_CONTENT_ORDER = tuple(sorted((*_TEXT_FIELDS, "at", "data")))
if _CONTENT_ORDER != ("actor", "at", "contact_id", "data", "handoff_id", "id", "kind", "tenant"):
    # canonical_content spells the fields out in this order for speed.
    raise RuntimeError(f"Event's content fields changed: update canonical_content {_CONTENT_ORDER}")


class ChainHead(Model):
    """The newest event of one audit chain, as the store recorded it.

    Attributes:
        tenant: the tenant the chain belongs to.
        chain: ``handoff:<id>``, ``contact:<id>`` or ``tenant``.
        hash: the ``hash`` of the chain's newest event.
        event_id: that event's id.
        length: how many hashed events the chain holds.
    """

    model_config = ConfigDict(frozen=True)

    tenant: str
    chain: str
    hash: str
    event_id: str
    length: int

    @property
    def key(self) -> ChainKey:
        return (self.tenant, self.chain)


class BeforeHashing(Model):
    """A tenant's events written before the audit log was hashed, as the store recorded them.

    Only a database from before hashing holds such events, and only below the
    row where hashing began: an unhashed event anywhere else was written around
    the store. A store created since records none (``last_seq`` 0, ``events`` 0).

    Attributes:
        tenant: the tenant.
        last_seq: the ``seq`` of the tenant's newest event from before hashing.
        events: how many of the tenant's events are from before hashing.
    """

    model_config = ConfigDict(frozen=True)

    tenant: str
    last_seq: int = 0
    events: int = 0


def chain_of(event: Event) -> str:
    """The name of the chain ``event`` belongs to (see the module docstring for the rule)."""
    return chain_named(event.handoff_id, event.contact_id)


def chain_named(handoff_id: str | None, contact_id: str | None) -> str:
    """The chain of an event about this handoff and contact: ``chain_of`` without an event."""
    if handoff_id is not None:
        return f"handoff:{handoff_id}"
    if contact_id is not None:
        return f"contact:{contact_id}"
    return "tenant"


def canonical_content(event: Event) -> str:
    """The event's content as canonical JSON: sorted keys, no whitespace, time in UTC.

    ``seq``, ``prev_hash`` and ``hash`` are left out: the first is assigned by the
    store's row order, the others are what is being computed. The JSON form is
    what the stores persist, so a round trip through a store hashes the same.
    """
    fields = event.__dict__
    data = event.data
    flat = _flatness(data)
    if flat is _Flat.NO_FLOATS:
        # The common case: pydantic's Rust encoder writes exactly json.dumps'
        # text for these values (floats aside: their repr differs), given the
        # keys already in sorted order. A text it cannot encode (a lone
        # surrogate) takes the path below, which fails as it always did.
        try:
            return to_json(
                {  # in _CONTENT_ORDER, which an import-time check holds to this
                    "actor": fields["actor"],
                    "at": _utc_text(fields["at"]),
                    "contact_id": fields["contact_id"],
                    "data": dict(sorted(data.items())) if len(data) > 1 else data,
                    "handoff_id": fields["handoff_id"],
                    "id": fields["id"],
                    "kind": fields["kind"],
                    "tenant": fields["tenant"],
                }
            ).decode()
        except PydanticSerializationError:
            pass
    if flat is not _Flat.NESTED:
        # Flat data encodes the same with or without pydantic's JSON mode:
        # dumping the model, a third of the cost, is skipped. Tests hold every
        # path to the same text.
        content = {name: fields[name] for name in _TEXT_FIELDS}
        content["data"] = data
    else:
        content = event.model_dump(mode="json", exclude=_NOT_CONTENT)
    content["at"] = _utc_text(fields["at"])
    return _encode_canonical(content)


@formats_last_once
def _utc_text(at: datetime) -> str:
    """``at`` in UTC, ISO 8601 with microseconds (one change's events share one ``at``)."""
    return at.astimezone(UTC).isoformat(timespec="microseconds")


class _Flat(enum.Enum):
    NESTED = 0
    FLAT = 1
    NO_FLOATS = 2


def _flatness(data: Mapping[str, object]) -> _Flat:
    """Whether keys are text, and values text, whole numbers, finite floats, bools or None.

    Those (enum members included: they are ``str`` or ``int``) encode to the same
    JSON whether or not pydantic converts them first; anything else (a nested
    list, a datetime, an infinite float, a key that ``model_copy`` let in
    unvalidated) is ``NESTED`` and takes pydantic's JSON mode. ``NO_FLOATS``:
    flat, and no float either.
    """
    flat = _Flat.NO_FLOATS
    for key, value in data.items():
        if not isinstance(key, str):
            return _Flat.NESTED
        if value is None or isinstance(value, str | int):
            continue
        if isinstance(value, float) and math.isfinite(value):
            flat = _Flat.FLAT
            continue
        return _Flat.NESTED
    return flat


def event_hash(prev_hash: str | None, event: Event) -> str:
    """``sha256(prev_hash + "\\n" + canonical_content(event))`` as hex; no predecessor is ``""``."""
    return _hash(prev_hash, canonical_content(event))


def _hash(prev_hash: str | None, content: str) -> str:
    return stored_content_hash(prev_hash, content.encode())


def stored_content_hash(prev_hash: str | None, content: bytes) -> str:
    """The chain hash of content as stored (its UTF-8 bytes, which may have been edited
    into something that is not UTF-8): prev_hash's ASCII, a newline, then the content."""
    return hashlib.sha256(f"{prev_hash or ''}\n".encode() + content).hexdigest()


class Link(NamedTuple):
    """One event placed on its chain: what a store writes for it."""

    event: Event
    #: The canonical JSON that was hashed; stores may persist it as the event's data.
    content: str
    prev_hash: str | None
    hash: str


#: A chain's newest event, as linking needs it: ``(hash, event id, length)``.
Tip = tuple[str, str, int]


def chain_links(
    events: Iterable[Event], tips: Mapping[ChainKey, Tip]
) -> tuple[list[Link], dict[ChainKey, Tip]]:
    """Like ``link_events``, on plain tuples and without copying the events.

    For a store's write path: the heads it reads and writes are columns, and
    building a ``ChainHead`` model for each would cost more than the linking.
    Returns each event with its link, and the new tip of every chain touched.
    """
    new_tips: dict[ChainKey, Tip] = {}
    links: list[Link] = []
    for event in events:
        key = (event.tenant, chain_of(event))
        tip = new_tips.get(key) or tips.get(key)
        prev_hash = tip[0] if tip is not None else None
        content = canonical_content(event)
        own = _hash(prev_hash, content)
        links.append(Link(event, content, prev_hash, own))
        new_tips[key] = (own, event.id, (tip[2] if tip is not None else 0) + 1)
    return links, new_tips


def link_events(
    events: Iterable[Event], heads: Mapping[ChainKey, ChainHead]
) -> tuple[list[Event], dict[ChainKey, ChainHead]]:
    """Link ``events`` onto the chains whose current heads are ``heads``.

    Pure: the store calls it inside its write transaction with the heads of the
    chains the events join (a chain with no head starts fresh), then writes the
    linked events and the returned new heads in that same transaction.

    Returns:
        The events with ``prev_hash`` and ``hash`` set, in the given order, and the
        new head of every chain they touched.
    """
    tips = {key: (head.hash, head.event_id, head.length) for key, head in heads.items()}
    links, new_tips = chain_links(events, tips)
    linked = [
        link.event.model_copy(update={"prev_hash": link.prev_hash, "hash": link.hash})
        for link in links
    ]
    new_heads = {
        key: ChainHead(tenant=key[0], chain=key[1], hash=own, event_id=event_id, length=length)
        for key, (own, event_id, length) in new_tips.items()
    }
    return linked, new_heads
