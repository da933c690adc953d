"""``Model.model_copy``'s shallow fast path gives what pydantic's own gives."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from hypothesis import given
from hypothesis import strategies as st
from pydantic import BaseModel, PrivateAttr

from escalate import Handoff, HandoffState, Identity, Thread
from escalate._model import Model
from escalate._models import Event

AT = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)


def _handoff() -> Handoff:
    thread = Thread(
        platform="x",
        thread_id="th-1",
        author=Identity.social("x", "42", "jane"),
        text="it broke",
        posted_at=AT,
    )
    return Handoff(
        id="ho_1",
        reference="K7QP-3M",
        thread=thread,
        state=HandoffState.OPENED,
        version=1,
        opened_at=AT,
        updated_at=AT,
    )


def _same(ours: BaseModel, theirs: BaseModel) -> None:
    assert type(ours) is type(theirs)
    assert ours.__dict__ == theirs.__dict__
    assert ours.model_fields_set == theirs.model_fields_set
    assert ours.__pydantic_extra__ == theirs.__pydantic_extra__
    assert ours.__pydantic_private__ == theirs.__pydantic_private__
    assert ours == theirs


_UPDATES = st.fixed_dictionaries(
    {},
    optional={
        "state": st.sampled_from(HandoffState),
        "version": st.integers(0, 10),
        "contact_id": st.none() | st.text(max_size=5),
        "updated_at": st.just(AT),
    },
)


@given(update=_UPDATES | st.none())
def test_a_shallow_copy_is_pydantics(update: dict[str, Any] | None) -> None:
    handoff = _handoff()
    ours = handoff.model_copy(update=update)
    _same(ours, BaseModel.model_copy(handoff, update=update))
    assert ours is not handoff
    assert ours.__dict__ is not handoff.__dict__
    assert ours.model_fields_set is not handoff.model_fields_set
    assert handoff == _handoff()  # the original is untouched


def test_a_copy_shares_nested_values_and_a_deep_copy_does_not() -> None:
    event = Event(id="ev_1", kind="k", at=AT, data={"a": 1})
    assert event.model_copy().data is event.data
    deep = event.model_copy(update={"kind": "x"}, deep=True)
    _same(deep, BaseModel.model_copy(event, update={"kind": "x"}, deep=True))
    assert deep.data is not event.data


class _WithPrivate(Model):
    name: str
    _cache: dict[str, int] = PrivateAttr(default_factory=dict)


def test_private_attributes_take_pydantics_path() -> None:
    record = _WithPrivate(name="a")
    record._cache["k"] = 1
    copied = record.model_copy(update={"name": "b"})
    assert copied.name == "b"
    assert copied._cache == {"k": 1}
