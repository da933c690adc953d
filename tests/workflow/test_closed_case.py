"""A closed case takes its earlier private sends with it: nobody is texted about a closed case.

Rows the closing transition itself queued still go (a custom workflow's "resolved,
thanks"), and so does a STOP's confirmation, which carriers require.
"""

from __future__ import annotations

from datetime import UTC, datetime

from escalate import (
    Channel,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    RetryableTransportError,
    Workflow,
)
from escalate.consent import Purpose
from escalate.store import OutboxStatus, Store
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import Context, Effects, ResolveRequested, SendMessage, Step, effects
from tests.conftest import WEB_FORM_CONSENT, make_thread
from tests.testing._workflows import nudging_workflow

PHONE = Identity.phone("+14155550177")
NIGHT = datetime(2026, 3, 11, 5, 0, tzinfo=UTC)  # 22:00 in San Francisco: quiet hours
MORNING = datetime(2026, 3, 11, 15, 30, tzinfo=UTC)  # 08:30 there


def _escalator(
    store: Store, clock: FakeClock, sms: MemoryTransport, workflow: Workflow
) -> Escalator:
    return Escalator(
        store, transports=[sms], clock=clock, workflow=workflow, notifier=lambda *_: None
    )


def test_an_intro_held_by_quiet_hours_is_cancelled_when_the_case_is_resolved(
    store: Store, sms: MemoryTransport
) -> None:
    clock = FakeClock(NIGHT)
    esc = _escalator(store, clock, sms, Workflow.default(brand="Acme"))
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert sms.sent == []  # held until 08:00 there
    clock.advance(minutes=30)
    resolved = esc.resolve(handoff.id)
    assert resolved.closed_version == resolved.version
    clock.set(MORNING)
    report = esc.run_due()
    assert sms.sent == []
    assert report.cancelled == 1
    rows = [row for row in esc.store.outbox(esc.tenant) if isinstance(row.command, SendMessage)]
    assert [row.status for row in rows] == [OutboxStatus.CANCELLED]
    cancelled = [e for e in esc.history(handoff.id) if e.kind == "message.cancelled"]
    assert [e.data["reason"] for e in cancelled] == ["handoff_closed"]
    assert "+14155550177" not in str(cancelled[0].data)


def test_a_send_waiting_for_its_retry_is_cancelled_when_the_case_closes(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    esc = _escalator(store, clock, sms, Workflow.default(brand="Acme"))
    sms.fail_next(RetryableTransportError("busy", provider="memory"))
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert (len(sms.attempts), len(sms.sent)) == (1, 0)
    esc.resolve(handoff.id)
    clock.advance(hours=2)
    assert esc.run_due().cancelled == 1
    assert sms.sent == []


def _resolved_thanks(handoff: Handoff, _: ResolveRequested, ctx: Context) -> Effects:
    assert handoff.address is not None
    body = f"Case {handoff.reference} is resolved. Thanks! Reply STOP to opt out."
    return effects(SendMessage(channel=Channel.SMS, to=handoff.address, body=body))


def test_what_the_closing_transition_queues_still_goes(store: Store, sms: MemoryTransport) -> None:
    """Both held by quiet hours: the intro is cancelled, the closing message is sent."""
    base = nudging_workflow()
    steps = [s for s in base.steps if s.on is not ResolveRequested]
    closing = Step(
        HandoffState.CONNECTED,
        ResolveRequested,
        HandoffState.RESOLVED,
        "resolved, customer thanked",
        _resolved_thanks,
        sends=Purpose.TRANSACTIONAL,
    )
    clock = FakeClock(NIGHT)
    esc = _escalator(store, clock, sms, Workflow("thanking", [*steps, closing]))
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.resolve(handoff.id)  # at the same instant: versions, not times, decide
    clock.set(MORNING)
    report = esc.run_due()
    assert (report.sent, report.cancelled) == (1, 1)
    assert [m.body.split(" is ")[-1] for m in sms.sent] == [
        "resolved. Thanks! Reply STOP to opt out."
    ]
    # Its closed state takes no SendFailed: the cancelled intro is not fed to it.
    assert "input.ignored" not in [e.kind for e in esc.history(handoff.id)]


def test_a_send_waiting_for_its_pacing_slot_is_cancelled_if_the_case_closes_meanwhile(
    store: Store, sms: MemoryTransport
) -> None:
    """The chunk's handoff was read at claim; an agent closed the case during the wait."""
    from escalate import Pacer
    from tests.test_pacing import FakeTime

    clock = FakeClock(NIGHT)
    time = FakeTime()
    agent = _escalator(store, clock, sms, Workflow.default(brand="Acme"))
    closing: list[str] = []

    def sleep(seconds: float) -> None:
        # Another agent's desk resolves the case while the dispatcher waits.
        time.sleep(seconds)
        clock.advance(seconds=seconds)
        for handoff_id in closing:
            agent.resolve(handoff_id)
        closing.clear()

    pacer = Pacer({"memory": 0.5}, margin=0, clock=time.clock, sleep=sleep)  # 1 per 2 s
    esc = Escalator(
        store,
        transports=[sms],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        notifier=lambda *_: None,
        pacer=pacer,
    )
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert sms.sent == []  # held by quiet hours
    clock.set(MORNING)
    assert pacer.acquire("memory", None)  # the sender's slot is taken: the intro waits 2 s
    closing.append(handoff.id)
    report = esc.run_due()
    assert sms.sent == []
    assert report.cancelled == 1
    assert esc.handoffs.get(handoff.id).state is HandoffState.RESOLVED


def test_a_send_claimed_a_moment_ago_does_not_read_its_case_again(
    store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Within a second of its claim the chunk's read is fresh enough: no extra read per send."""
    esc = _escalator(store, clock, sms, Workflow.default(brand="Acme"))
    handoff = esc.open(make_thread(clock))
    reads: list[str] = []
    get_handoff = store.get_handoff

    def counting(tenant: str, handoff_id: str) -> Handoff | None:
        reads.append(handoff_id)
        return get_handoff(tenant, handoff_id)

    store.get_handoff = counting  # type: ignore[method-assign]
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert len(sms.sent) == 1
    assert reads.count(handoff.id) <= 1  # the verb's own read, none by the send
