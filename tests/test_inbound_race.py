"""A customer's reply that meets a worker's commit to its case is still recorded.

Found by bench/multiprocess_dispatch.py: ``esc.inbound`` read the case, and a
worker process posting the public reply (or firing a timer) moved it before
the reply's transition committed. The version check refused the reply with
``ConcurrentUpdate``, which ``inbound`` raised: the webhook answered 500, and
Twilio does not retry an incoming message, so the reply was lost; its case
kept the reminder, and the customer who had answered got "just checking in".
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from escalate import Channel, Escalator, Identity, InboundMessage, Workflow
from escalate.store import Changes, OutboxItem, SQLiteStore
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550142")


class Interleaved(SQLiteStore):
    """Runs ``before`` once, just before the first commit that records a reply."""

    def __init__(self, path: Path, before: Callable[[], object]) -> None:
        super().__init__(path)
        self._before: Callable[[], object] | None = before

    def commit(self, changes: Changes) -> list[OutboxItem]:
        if self._before is not None and any(e.kind == "reply.received" for e in changes.events):
            before, self._before = self._before, None
            before()
        return super().commit(changes)


def _desk(store: SQLiteStore, clock: FakeClock, sms: MemoryTransport) -> Escalator:
    return Escalator(
        store,
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        dispatch_immediately=False,
    )


def test_a_reply_racing_another_process_commit_to_its_case_is_recorded(
    tmp_path: Path, clock: FakeClock
) -> None:
    path = tmp_path / "escalate.db"
    sms = MemoryTransport([Channel.SMS], name="memory")
    # Another process's worker on the same file, with its own connection.
    worker = _desk(SQLiteStore(path), clock, sms)

    def worker_moves_the_case() -> None:
        worker.run_due()  # posts the public reply: a transition of the case

    webhook = _desk(Interleaved(path, worker_moves_the_case), clock, sms)
    case = webhook.open(make_thread(clock))
    webhook.contact_provided(case.id, PHONE, consent=WEB_FORM_CONSENT)
    reply = InboundMessage(
        channel=Channel.SMS, sender=PHONE, body="it came broken", received_at=clock.now()
    )

    matched = webhook.inbound(reply)

    assert matched is not None
    assert matched.id == case.id
    kinds = [event.kind for event in webhook.history(case.id)]
    assert kinds.count("reply.received") == 1
    assert kinds.index("public_reply.posted") < kinds.index("reply.received")
    clock.advance(hours=30)
    worker.run_due()
    assert [m.body for m in sms.sent if "checking in" in m.body] == []
    worker.close()
    webhook.close()


def test_a_reply_racing_the_close_of_its_case_goes_where_a_later_one_would(
    tmp_path: Path, clock: FakeClock
) -> None:
    """Closed between the read and the write: no case takes it, as if it came a moment later."""
    path = tmp_path / "escalate.db"
    sms = MemoryTransport([Channel.SMS], name="memory")
    agent = _desk(SQLiteStore(path), clock, sms)
    case_id: list[str] = []
    webhook = _desk(Interleaved(path, lambda: agent.resolve(case_id[0])), clock, sms)
    case = webhook.open(make_thread(clock))
    case_id.append(case.id)
    webhook.contact_provided(case.id, PHONE, consent=WEB_FORM_CONSENT)
    reply = InboundMessage(
        channel=Channel.SMS, sender=PHONE, body="it came broken", received_at=clock.now()
    )

    assert webhook.inbound(reply) is None
    assert webhook.inbound(reply) is None  # the same, once the close is known
    kinds = [event.kind for event in webhook.history(case.id)]
    assert "reply.received" not in kinds
    assert webhook.handoffs.get(case.id).state.value == "resolved"
    agent.close()
    webhook.close()
