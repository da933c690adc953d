"""What a verb returns after running its messages: the handoff as they left it."""

from __future__ import annotations

from escalate import Escalator, Handoff, HandoffState, Identity
from escalate.store import MemoryStore
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import (
    ContactProvided,
    Context,
    Effects,
    Notify,
    Opened,
    PostPublicReply,
    PublicReplyPosted,
    ResolveRequested,
    Step,
    Workflow,
    effects,
)
from tests.conftest import WEB_FORM_CONSENT, make_thread

S = HandoffState
PHONE = Identity.phone("+14155550100")


class CountingStore(MemoryStore):
    """A MemoryStore that counts handoff reads."""

    def __init__(self) -> None:
        super().__init__()
        self.handoff_reads = 0

    def get_handoff(self, tenant: str, handoff_id: str) -> Handoff | None:
        self.handoff_reads += 1
        return super().get_handoff(tenant, handoff_id)


def count_probes(esc: Escalator) -> list[str | None]:
    """Record each ``engine.dispatch`` (a claim of due rows after the verb's own)."""
    probes: list[str | None] = []
    dispatch = esc.engine.dispatch

    def counted(*, handoff_id: str | None = None, limit: int = 100) -> object:
        probes.append(handoff_id)
        return dispatch(handoff_id=handoff_id, limit=limit)

    esc.engine.dispatch = counted  # type: ignore[method-assign]
    return probes


def escalator(store: CountingStore, workflow: Workflow, notes: list[Notify]) -> Escalator:
    return Escalator(
        store,
        transports=[MemoryTransport()],
        clock=FakeClock(),
        publisher=RecordingPublisher(),
        notifier=lambda handoff, notify: notes.append(notify),
        workflow=workflow,
    )


def test_open_returns_the_handoff_its_posted_reply_moved_on_without_reading_it() -> None:
    store, notes = CountingStore(), []
    esc = escalator(store, Workflow.default(brand="Acme"), notes)
    probes = count_probes(esc)
    handoff = esc.open(make_thread(esc.clock))  # type: ignore[arg-type]
    assert (handoff.state, store.handoff_reads, probes) == (S.AWAITING_CONTACT, 0, [])
    assert handoff == store.get_handoff(esc.tenant, handoff.id)
    store.handoff_reads = 0
    connected = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    # One read, to decide; the intro's sending and settling need no read-back.
    assert (connected.state, store.handoff_reads, probes) == (S.CONNECTED, 1, [])
    assert connected == store.get_handoff(esc.tenant, handoff.id)


def _ack(handoff: Handoff, _: Opened, ctx: Context) -> Effects:
    return effects(PostPublicReply(text=f"DM us. Case {handoff.reference}"))


def _tell_helpdesk(handoff: Handoff, _: PublicReplyPosted, ctx: Context) -> Effects:
    return effects(Notify(topic="posted", text=f"case {handoff.reference} answered in public"))


def test_work_a_result_queues_runs_before_the_verb_returns() -> None:
    """A posted reply whose transition queues a notification: open() runs it, then reads."""
    workflow = Workflow(
        "tells",
        [
            Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack", _ack),
            Step(S.ACKNOWLEDGED, PublicReplyPosted, S.AWAITING_CONTACT, "posted", _tell_helpdesk),
            Step(S.AWAITING_CONTACT, ContactProvided, S.RESOLVED, "done"),
            Step((S.ACKNOWLEDGED, S.AWAITING_CONTACT), ResolveRequested, S.RESOLVED, "resolved"),
        ],
    )
    store, notes = CountingStore(), []
    esc = escalator(store, workflow, notes)
    probes = count_probes(esc)
    handoff = esc.open(make_thread(esc.clock))  # type: ignore[arg-type]
    assert [note.topic for note in notes] == ["posted"]
    assert probes == [handoff.id, handoff.id]  # ran the notification, then found nothing
    assert handoff == store.get_handoff(esc.tenant, handoff.id)
    assert handoff.state is S.AWAITING_CONTACT
