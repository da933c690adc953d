"""Property tests of the hash chain: an intact log verifies, any single tampering does not."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from escalate import Event
from escalate.audit import ChainHead, ChainKey, chain_of, event_hash, link_events, verify_chains

T0 = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
OWNERS = [("h1", None), ("h2", "c1"), (None, "c1"), (None, "c2"), (None, None)]


def build_log(owners: list[int], batches: list[int]) -> tuple[list[Event], list[ChainHead]]:
    """Link events commit by commit (batch sizes from ``batches``) as a store would."""
    heads: dict[ChainKey, ChainHead] = {}
    log: list[Event] = []
    drafts = [
        Event(
            id=f"ev{i}",
            kind=f"k{i % 3}",
            at=T0 + timedelta(seconds=i),
            handoff_id=OWNERS[owner][0],
            contact_id=OWNERS[owner][1],
            data={"i": i},
        )
        for i, owner in enumerate(owners)
    ]
    start = 0
    for size in [*batches, len(drafts)]:
        batch = drafts[start : start + size]
        start += size
        linked, new_heads = link_events(batch, heads)
        heads.update(new_heads)
        base = len(log)
        log.extend(e.model_copy(update={"seq": base + n + 1}) for n, e in enumerate(linked))
    return log, list(heads.values())


logs = st.tuples(
    st.lists(st.integers(0, len(OWNERS) - 1), min_size=2, max_size=25),
    st.lists(st.integers(1, 4), max_size=10),
)


@given(logs)
def test_an_intact_log_always_verifies(spec: tuple[list[int], list[int]]) -> None:
    """However events are spread over chains and commits, an untouched log has no problems."""
    log, heads = build_log(*spec)
    report = verify_chains("default", reversed(log), heads)
    assert report.ok, report.problems
    assert report.events_verified == len(log)


@given(logs, st.data())
def test_any_edit_or_deletion_is_detected(
    spec: tuple[list[int], list[int]], data: st.DataObject
) -> None:
    """Editing any one event, or deleting any one, always produces at least one problem."""
    log, heads = build_log(*spec)
    index = data.draw(st.integers(0, len(log) - 1))
    if data.draw(st.booleans()):
        log[index] = log[index].model_copy(update={"data": {"i": -1}})
    else:
        del log[index]
    assert not verify_chains("default", log, heads).ok


@given(logs, st.data())
def test_any_reordering_within_a_chain_is_detected(
    spec: tuple[list[int], list[int]], data: st.DataObject
) -> None:
    """Swapping the positions of two events of one chain always produces a problem."""
    log, heads = build_log(*spec)
    chains: dict[str, list[int]] = {}
    for index, event in enumerate(log):
        chains.setdefault(chain_of(event), []).append(index)
    candidates = [indexes for indexes in chains.values() if len(indexes) >= 2]
    if not candidates:
        return
    indexes = data.draw(st.sampled_from(candidates))
    i, j = data.draw(st.lists(st.sampled_from(indexes), min_size=2, max_size=2, unique=True))
    a, b = log[i], log[j]
    log[i], log[j] = b.model_copy(update={"seq": a.seq}), a.model_copy(update={"seq": b.seq})
    assert not verify_chains("default", log, heads).ok


@given(logs, st.data())
def test_any_inserted_event_is_detected(
    spec: tuple[list[int], list[int]], data: st.DataObject
) -> None:
    """An extra event hashed onto any existing one, anywhere in its chain, is always found."""
    log, heads = build_log(*spec)
    index = data.draw(st.integers(0, len(log) - 1))
    before = log[index]
    forged = Event(
        id="forged",
        kind="note",
        at=before.at,
        handoff_id=before.handoff_id,
        contact_id=before.contact_id,
    )
    forged = forged.model_copy(
        update={"prev_hash": before.hash, "hash": event_hash(before.hash, forged)}
    )
    shifted = [e.model_copy(update={"seq": (e.seq or 0) + 1}) for e in log[index + 1 :]]
    log = [*log[: index + 1], forged.model_copy(update={"seq": (before.seq or 0) + 1}), *shifted]
    assert not verify_chains("default", log, heads).ok
