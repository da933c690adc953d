"""``canonical_content``: the text every event's hash covers, whichever way it is built.

Events whose data is flat skip pydantic's JSON mode; the text must be exactly
what the full path gives, or every hash written so far would stop verifying.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime, timedelta, timezone
from enum import IntEnum, StrEnum

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import Event
from escalate.audit import canonical_content, event_hash
from escalate.audit._chain import (
    _CANONICAL,
    _NOT_CONTENT,
    _canonical_encoder,
    _encode_canonical,
    _Flat,
    _flatness,
    _hash,
    _utc_text,
)


class Colour(StrEnum):
    RED = "red"


class Level(IntEnum):
    ONE = 1


def full_path(event: Event) -> str:
    """The canonical text as built before the flat shortcut: dump, then encode."""
    content = event.model_dump(mode="json", exclude=_NOT_CONTENT)
    content["at"] = event.at.astimezone(UTC).isoformat(timespec="microseconds")
    return json.dumps(content, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(),  # NaN and infinities included: they must take the full path
    st.text(),
    st.sampled_from([Colour.RED, Level.ONE]),
)
values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.tuples(inner, inner),
        st.dictionaries(st.text(max_size=5), inner, max_size=3),
    ),
    max_leaves=8,
)
events = st.builds(
    Event,
    id=st.text(min_size=1, max_size=20),
    tenant=st.text(min_size=1, max_size=10),
    kind=st.text(min_size=1, max_size=20),
    at=st.datetimes(
        min_value=datetime(2000, 1, 1),
        timezones=st.sampled_from([UTC, timezone(timedelta(hours=-7))]),
    ),
    handoff_id=st.none() | st.text(max_size=10),
    contact_id=st.none() | st.text(max_size=10),
    actor=st.text(max_size=10),
    data=st.dictionaries(st.text(max_size=10), values | scalars, max_size=6),
)


@given(events)
def test_canonical_content_is_the_full_paths_text(event: Event) -> None:
    assert canonical_content(event) == full_path(event)


def test_the_shortcut_is_taken_only_for_flat_data() -> None:
    flat = {"a": "x", "b": 1, "c": 1.5, "d": True, "e": None, "f": Colour.RED}
    assert _flatness(flat) is _Flat.FLAT
    for value in ([1], {"a": 1}, float("inf"), float("nan"), datetime(2026, 1, 1, tzinfo=UTC)):
        assert _flatness({"a": value}) is _Flat.NESTED
    assert _flatness({"a": "x", "b": 1, "d": True, "e": None, "f": Level.ONE}) is _Flat.NO_FLOATS
    assert _flatness({"a": "x", "c": 1.5}) is _Flat.FLAT


# What the workflow writes: text, numbers, bools, None, enums; no floats. These
# take pydantic's Rust encoder, whose text must be json.dumps' to the byte.
@given(
    event=events,
    data=st.dictionaries(
        st.text(max_size=10),
        st.none()
        | st.booleans()
        | st.integers()
        | st.text()
        | st.sampled_from([Colour.RED, Level.ONE]),
        max_size=8,
    ),
)
def test_flat_data_without_floats_encodes_as_json_dumps_does(
    event: Event, data: dict[str, object]
) -> None:
    flat = event.model_copy(update={"data": data})
    assert _flatness(flat.data) is _Flat.NO_FLOATS
    assert canonical_content(flat) == full_path(flat)


def test_a_lone_surrogate_takes_the_python_encoder_as_before() -> None:
    """pydantic cannot encode it; the text is json.dumps', and hashing it fails as it did."""
    event = Event(id="ev_1", kind="k", at=datetime(2026, 1, 5, tzinfo=UTC), data={"a": "\ud800"})
    assert canonical_content(event) == full_path(event)
    with pytest.raises(UnicodeEncodeError):
        event_hash(None, event)


# pydantic warns that it met keys it did not expect: that is the point here.
@pytest.mark.filterwarnings("ignore::UserWarning")
def test_data_keys_let_in_by_model_copy_are_dumped_as_pydantic_dumps_them() -> None:
    event = Event(id="ev_1", kind="k", at=datetime(2026, 1, 5, tzinfo=UTC))
    odd = event.model_copy(update={"data": {None: 1, 2: "b"}})  # unvalidated
    assert canonical_content(odd) == full_path(odd)


def test_a_datetime_in_data_is_dumped_as_pydantic_dumps_it() -> None:
    at = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
    event = Event(id="ev_1", kind="k", at=at, data={"due": at})
    assert '"due":"2026-01-05T18:00:00Z"' in canonical_content(event)


@given(events)
def test_the_encoder_built_once_writes_what_a_fresh_one_writes(event: Event) -> None:
    content = event.model_dump(mode="json", exclude=_NOT_CONTENT)
    assert _encode_canonical(content) == _CANONICAL.encode(content)


def test_without_the_c_accelerator_the_plain_encoder_is_used(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(json.encoder, "c_make_encoder", None)
    assert _canonical_encoder() == _CANONICAL.encode


@given(st.none() | st.text(alphabet="0123456789abcdef", min_size=64, max_size=64), st.text())
def test_the_hash_is_of_prev_hash_a_newline_and_the_content(prev: str | None, content: str) -> None:
    """One encoding of the joined text gives the bytes the chain's rule names."""
    try:
        expected_bytes = (prev or "").encode("ascii") + b"\n" + content.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: no JSON encoder writes one unescaped
        with pytest.raises(UnicodeEncodeError):
            _hash(prev, content)
        return
    assert _hash(prev, content) == hashlib.sha256(expected_bytes).hexdigest()


@given(
    st.lists(
        st.datetimes(
            min_value=datetime(2000, 1, 1),
            timezones=st.sampled_from([UTC, timezone(timedelta(hours=5, minutes=30))]),
        ),
        min_size=1,
        max_size=4,
    ),
    st.data(),
)
def test_events_sharing_one_time_object_get_its_text_each(
    times: list[datetime], data: st.DataObject
) -> None:
    """The memo of the last time's text never gives one event another's time."""
    for _ in range(6):
        at = data.draw(st.sampled_from(times))
        assert _utc_text(at) == at.astimezone(UTC).isoformat(timespec="microseconds")
