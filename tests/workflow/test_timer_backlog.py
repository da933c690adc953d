"""run_due() fires every due timer before it dispatches, however many are due.

After a scheduler outage the backlog of timers can exceed ``run_due(limit=...)``.
The outbox is drained to the end, so the timers must be too: a case whose
follow-up ran its course while nobody ran ``run_due()`` is abandoned (its stale
intro withdrawn), not texted days late because its timer was in the next batch.
"""

from __future__ import annotations

from datetime import timedelta

from escalate import (
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    Workflow,
)
from escalate.store import Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import (
    Context,
    Effects,
    Notify,
    Opened,
    PostPublicReply,
    PublicReplyPosted,
    ResolveRequested,
    StartTimer,
    Step,
    TimerFired,
    effects,
)
from tests.conftest import WEB_FORM_CONSENT, make_thread

S = HandoffState
#: The default follow-up, reminder_after + abandon_after, and then some.
PAST_THE_FOLLOW_UP = timedelta(hours=24 + 48 + 1)


def test_a_backlog_larger_than_the_limit_withdraws_every_stale_intro(
    queuing: tuple[Escalator, list[Notify]], clock: FakeClock, sms: MemoryTransport
) -> None:
    """Five cases, limit 2, three days without a scheduler: all abandoned, no intro sent."""
    esc, notes = queuing
    cases = []
    for n in range(5):
        handoff = esc.open(make_thread(clock, thread_id=f"t-{n}"))
        phone = Identity.phone(f"+1415555{n:04d}")
        cases.append(esc.contact_provided(handoff.id, phone, consent=WEB_FORM_CONSENT).id)
    clock.advance(PAST_THE_FOLLOW_UP)
    report = esc.run_due(limit=2)
    assert report.timers_fired == 5
    assert sms.sent == []
    assert [esc.handoffs.get(case).state for case in cases] == [S.ABANDONED] * 5
    assert [n.topic for n in notes] == ["abandoned"] * 5


def _again(_: Handoff, __: TimerFired, ctx: Context) -> Effects:
    return effects(StartTimer(name="t", due_at=ctx.now))


def _ack(handoff: Handoff, _: Opened, ctx: Context) -> Effects:
    reply = PostPublicReply(text=f"Hi, case {handoff.reference}")
    return effects(reply, StartTimer(name="t", due_at=ctx.now))


def test_a_timer_restarting_itself_already_due_fires_once_per_call(
    store: Store, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """Firing until none is due must still end: a restarted one waits for the next call."""
    open_states = (S.ACKNOWLEDGED, S.AWAITING_CONTACT)
    looping = Workflow(
        "loop",
        [
            Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack", _ack, starts=("t",)),
            Step(open_states, TimerFired, None, "again", _again, timer="t", starts=("t",)),
            Step(S.ACKNOWLEDGED, PublicReplyPosted, S.AWAITING_CONTACT, "posted"),
            Step(open_states, ResolveRequested, S.RESOLVED, "resolved"),
        ],
    )
    esc = Escalator(
        store, transports=[MemoryTransport()], clock=clock, publisher=publisher, workflow=looping
    )
    for n in range(3):
        esc.open(make_thread(clock, thread_id=f"loop-{n}"))
    assert esc.run_due(limit=1).timers_fired == 3
    assert esc.run_due(limit=1).timers_fired == 3
