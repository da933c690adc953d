"""What a verb returns after running its messages: the handoff as they left it."""

from __future__ import annotations

import pytest

from escalate import Channel, Escalator, Handoff, HandoffState, Identity
from escalate.consent import ConsentAction, Purpose
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
    RecordConsent,
    ResolveRequested,
    SendMessage,
    Step,
    Workflow,
    effects,
)
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.testing._workflows import _ack

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


def _ack_and_tell(notify_first: bool):  # type: ignore[no-untyped-def]
    def action(handoff: Handoff, _: Opened, ctx: Context) -> Effects:
        reply = PostPublicReply(text=f"DM us. Case {handoff.reference}")
        tell = Notify(topic="opened", text=f"case {handoff.reference} opened")
        return effects(*((tell, reply) if notify_first else (reply, tell)))

    return action


@pytest.mark.parametrize("notify_first", [True, False])
def test_a_verb_called_by_the_notifier_leaves_the_outer_verbs_return_right(
    notify_first: bool,
) -> None:
    """The notifier opens another case while open() runs its rows: open() still returns
    its handoff as stored, whichever of its rows ran first."""
    workflow = Workflow(
        "nested",
        [
            Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack", _ack_and_tell(notify_first)),
            Step(S.ACKNOWLEDGED, PublicReplyPosted, S.AWAITING_CONTACT, "posted"),
            Step(S.AWAITING_CONTACT, ContactProvided, S.RESOLVED, "done"),
            Step((S.ACKNOWLEDGED, S.AWAITING_CONTACT), ResolveRequested, S.RESOLVED, "resolved"),
        ],
    )
    store = CountingStore()
    opened: list[Handoff] = []

    calls: list[str] = []

    def notifier(handoff: Handoff, notify: Notify) -> None:
        calls.append(handoff.id)
        if len(calls) == 1:  # the outer case's notification opens the inner case
            opened.append(esc.open(make_thread(esc.clock, thread_id="2002")))  # type: ignore[arg-type]

    esc = Escalator(
        store,
        transports=[MemoryTransport()],
        clock=FakeClock(),
        publisher=RecordingPublisher(),
        notifier=notifier,
        workflow=workflow,
    )
    outer = esc.open(make_thread(esc.clock))  # type: ignore[arg-type]
    assert outer == store.get_handoff(esc.tenant, outer.id)
    assert outer.state is S.AWAITING_CONTACT
    (inner,) = opened
    assert inner == store.get_handoff(esc.tenant, inner.id)


def _two_texts(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
    assert event.consent is not None
    grant = RecordConsent(
        address=event.identity,
        channel=Channel.SMS,
        purpose=Purpose.TRANSACTIONAL,
        action=ConsentAction.GRANT,
        evidence=event.consent,
    )
    first = SendMessage(channel="sms", to=event.identity, body=f"1st, case {handoff.reference}")
    second = SendMessage(channel="sms", to=event.identity, body=f"2nd, case {handoff.reference}")
    return effects(grant, first, second, address=event.identity, channel=Channel.SMS)


def test_a_transitions_messages_leave_in_the_order_the_action_gave_them() -> None:
    """Rows made in one transition share their due and creation times: ids order them."""
    workflow = Workflow(
        "two",
        [
            Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack", _ack),
            Step(S.ACKNOWLEDGED, PublicReplyPosted, S.AWAITING_CONTACT, "posted"),
            Step(
                S.AWAITING_CONTACT,
                ContactProvided,
                S.CONNECTED,
                "contact",
                _two_texts,
                sends=Purpose.TRANSACTIONAL,
            ),
            Step(
                (S.ACKNOWLEDGED, S.AWAITING_CONTACT, S.CONNECTED), ResolveRequested, S.RESOLVED, "r"
            ),
        ],
    )
    sms = MemoryTransport()
    esc = Escalator(MemoryStore(), transports=[sms], clock=FakeClock(), workflow=workflow)
    for n in range(30):
        handoff = esc.open(make_thread(esc.clock, thread_id=f"t{n}"))  # type: ignore[arg-type]
        phone = Identity.phone(f"+1415555{n:04d}")
        esc.contact_provided(handoff.id, phone, consent=WEB_FORM_CONSENT)
        assert [m.body[:3] for m in sms.sent_to(phone.value)] == ["1st", "2nd"]
