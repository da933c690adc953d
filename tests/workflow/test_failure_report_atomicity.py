"""A delivery failure report fails its row and moves its case in one commit.

A status webhook that errors half way (the database refuses the write that
moves the case) is retried by the provider; the retry must still move the case
to its other channel. It used to find the row already failed, take the retry
for a duplicate, and leave the case on the dead channel, with nothing said.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from escalate import (
    Channel,
    Escalator,
    HandoffState,
    Identity,
    LinkSource,
    Workflow,
)
from escalate.store import (
    Changes,
    MemoryStore,
    OutboxItem,
    OutboxStatus,
    OutboxUpdate,
    SQLiteStore,
)
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from tests.conftest import EMAIL_CONSENT, WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")


class DiskFull(OSError):
    """The database refusing a write."""


class Flaky:
    """A store that refuses the next commit moving a handoff, when told to."""

    fail_next_move = False

    def commit(self, changes: Changes) -> list[OutboxItem]:
        if self.fail_next_move and changes.handoffs:
            self.fail_next_move = False
            raise DiskFull("database or disk is full")
        return super().commit(changes)  # type: ignore[misc, no-any-return]


class FlakyMemory(Flaky, MemoryStore):
    pass


class FlakySQLite(Flaky, SQLiteStore):
    pass


@pytest.mark.parametrize("kind", ["memory", "sqlite"])
@pytest.mark.parametrize("how", ["report", "operator"])
def test_a_failure_whose_case_move_was_refused_moves_it_when_told_again(
    clock: FakeClock, tmp_path: Path, how: str, kind: str
) -> None:
    """The first call raises; the provider's retry (or the operator's) falls back to email."""
    store = FlakyMemory() if kind == "memory" else FlakySQLite(tmp_path / "e.db")
    transport = MemoryTransport()
    esc = Escalator(
        store,
        transports=[transport],
        clock=clock,
        publisher=RecordingPublisher(),
        workflow=Workflow.default(brand="Acme"),
    )
    handoff = esc.open(make_thread(clock))
    assert handoff.contact_id is not None
    esc.contacts.link(handoff.contact_id, EMAIL, LinkSource.AGENT_ENTERED)
    esc.consent.grant(EMAIL, EMAIL_CONSENT, handoff_id=handoff.id)
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    [intro] = transport.sent
    if how == "operator":
        # A row held for an unknown outcome, which the operator knows never left.
        held = OutboxUpdate(intro.id, OutboxStatus.HELD, from_status=OutboxStatus.DONE)
        store.commit(Changes(outbox_updates=(held,)))

    def tell() -> None:
        if how == "report":
            esc.outbox.reconcile(intro.id, "failed", error_code="30006", actor="twilio")
        else:
            esc.outbox.mark_failed(intro.id, reason="not in the provider's log")

    store.fail_next_move = True
    with pytest.raises(DiskFull):
        tell()
    # Nothing of it was written: the row is as it was, and the retry applies in full.
    assert esc.outbox.get(intro.id).status is not OutboxStatus.FAILED
    tell()
    handoff = esc.handoffs.get(handoff.id)
    assert (handoff.state, handoff.channel) == (HandoffState.CONNECTED, Channel.EMAIL)
    assert [m.channel for m in transport.sent] == [Channel.SMS, Channel.EMAIL]
