"""``Decoded``: records remembered by their JSON text, and what SQLiteStore reads through it."""

from __future__ import annotations

from pathlib import Path

from escalate import Handoff, HandoffState
from escalate.store import Changes, SQLiteStore
from escalate.store._decoded import Decoded
from tests.store._records import PHONE, consent, contact, handoff, moved


def test_the_same_text_decodes_once() -> None:
    decoded = Decoded(Handoff)
    text = handoff().model_dump_json()
    first = decoded.load(text)
    assert first == handoff()
    assert decoded.load(text) is first


def test_a_remembered_record_is_handed_out_for_its_text() -> None:
    decoded = Decoded(Handoff)
    record = handoff()
    decoded.remember(record.model_dump_json(), record)
    assert decoded.load(record.model_dump_json()) is record


def test_it_keeps_only_the_newest_records() -> None:
    decoded = Decoded(Handoff, size=2)
    texts = [handoff(f"ho_{n}").model_dump_json() for n in range(3)]
    records = [decoded.load(text) for text in texts]
    assert decoded.load(texts[2]) is records[2]
    assert decoded.load(texts[1]) is records[1]
    assert decoded.load(texts[0]) is not records[0]  # dropped, decoded again
    assert decoded.load(texts[0]) == records[0]


def test_keep_false_does_not_remember() -> None:
    decoded = Decoded(Handoff)
    text = handoff().model_dump_json()
    assert decoded.load(text, keep=False) is not decoded.load(text, keep=False)


def test_a_store_reads_what_a_fresh_store_decodes(tmp_path: Path) -> None:
    """What the writing store hands out equals what a store with nothing remembered reads."""
    path = tmp_path / "e.db"
    writer = SQLiteStore(path)
    first = handoff(contact_id="ct_1")
    writer.commit(
        Changes(handoffs=(first,), contacts=(contact("ct_1", PHONE),), consent=(consent("cr_1"),))
    )
    second = moved(first, state=HandoffState.ACKNOWLEDGED)
    writer.commit(Changes(handoffs=(second,)))
    reader = SQLiteStore(path)
    for store in (writer, reader):
        assert store.get_handoff("default", "ho_1") == second
        assert store.get_contact("default", "ct_1") == contact("ct_1", PHONE)
        [record] = store.consent_records("default", PHONE)
        assert record.seq is not None
        assert record.model_copy(update={"seq": None}) == consent("cr_1")
    assert writer.get_handoff("default", "ho_1") is second  # remembered when written
    assert reader.get_handoff("default", "ho_1") is not second
    writer.close()
    reader.close()


def _tenant_and_id(record: Handoff) -> tuple[str, str]:
    return (record.tenant, record.id)


def test_a_new_version_replaces_the_old_text() -> None:
    """Only a record's newest text stays: an older version (an erased one too) is let go."""
    decoded = Decoded(Handoff, key=_tenant_and_id)
    first = handoff()
    second = moved(first, state=HandoffState.ACKNOWLEDGED)
    decoded.load(first.model_dump_json())
    other = decoded.load(handoff("ho_2").model_dump_json())
    decoded.remember(second.model_dump_json(), second)
    assert [record for _, record in decoded.remembered()] == [other, second]


def test_forget_drops_what_the_predicate_names() -> None:
    decoded = Decoded(Handoff, key=_tenant_and_id)
    for n in range(3):
        decoded.load(handoff(f"ho_{n}").model_dump_json())
    decoded.forget(lambda record: record.id == "ho_1")
    assert [record.id for _, record in decoded.remembered()] == ["ho_0", "ho_2"]
    again = decoded.load(handoff("ho_1").model_dump_json())  # decoded afresh, kept again
    assert decoded.remembered()[-1][1] is again


def test_eviction_forgets_the_key_of_the_text_it_drops() -> None:
    decoded = Decoded(Handoff, size=1, key=_tenant_and_id)
    first = handoff()
    decoded.load(first.model_dump_json())
    decoded.load(handoff("ho_2").model_dump_json())  # evicts ho_1
    second = moved(first, state=HandoffState.ACKNOWLEDGED)
    decoded.remember(second.model_dump_json(), second)  # no stale key to chase
    assert [record for _, record in decoded.remembered()] == [second]
