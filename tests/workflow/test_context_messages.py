"""``Step(uses_messages=True)``: the engine hands the step the handoff's private messages.

The decision stays pure: the engine reads the outbox rows before ``decide``,
only for a step that asks, and a sent row tells when it left.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

from escalate import Channel, Escalator, Handoff, HandoffState, Identity
from escalate.consent import Purpose
from escalate.store import OutboxStatus, Store
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import (
    ContactProvided,
    Context,
    Effects,
    Opened,
    PostPublicReply,
    PrivateMessage,
    PublicReplyPosted,
    ResolveRequested,
    SendMessage,
    StartTimer,
    Step,
    TimerFired,
    Workflow,
    effects,
)
from tests.conftest import WEB_FORM_CONSENT, make_thread

S = HandoffState
PHONE = Identity.phone("+14155550100")


def _workflow(seen: list[tuple[str, tuple[PrivateMessage, ...]]]) -> Workflow:
    """Texts once on contact; ``look`` (reading messages) fires hourly, ``other`` (not) once."""

    def acknowledge(handoff: Handoff, _: Opened, ctx: Context) -> Effects:
        return effects(PostPublicReply(text=f"DM us (case {handoff.reference})"))

    def connect(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
        hello = SendMessage(
            channel=Channel.SMS, to=event.identity, body=f"Hi (case {handoff.reference})"
        )
        return effects(
            hello,
            StartTimer(name="look", due_at=ctx.now + timedelta(hours=2)),
            StartTimer(name="other", due_at=ctx.now + timedelta(hours=4)),
            address=event.identity,
            channel=Channel.SMS,
        )

    def look(handoff: Handoff, _: TimerFired, ctx: Context) -> Effects:
        seen.append(("look", ctx.messages))
        return effects(StartTimer(name="look", due_at=ctx.now + timedelta(hours=1)))

    def other(handoff: Handoff, _: TimerFired, ctx: Context) -> Effects:
        seen.append(("other", ctx.messages))
        return effects()

    return Workflow(
        "looking",
        [
            Step(S.OPENED, Opened, S.ACKNOWLEDGED, "acknowledged", acknowledge),
            Step(S.ACKNOWLEDGED, PublicReplyPosted, S.AWAITING_CONTACT, "posted"),
            Step(
                (S.ACKNOWLEDGED, S.AWAITING_CONTACT),
                ContactProvided,
                S.CONNECTED,
                "contact",
                connect,
                starts=("look", "other"),
                sends=Purpose.TRANSACTIONAL,
            ),
            Step(
                S.CONNECTED,
                TimerFired,
                None,
                "look",
                look,
                timer="look",
                starts=("look",),
                uses_messages=True,
            ),
            Step(S.CONNECTED, TimerFired, None, "other", other, timer="other"),
            Step(
                (S.ACKNOWLEDGED, S.AWAITING_CONTACT, S.CONNECTED),
                ResolveRequested,
                S.RESOLVED,
                "resolved",
            ),
        ],
    )


def test_a_step_that_asks_sees_each_message_queued_and_then_sent(
    store: Store, clock: FakeClock
) -> None:
    """Nobody runs run_due() for 2 h: the step sees the text due, then sent at 2 h."""
    seen: list[tuple[str, tuple[PrivateMessage, ...]]] = []
    workflow = _workflow(seen)
    esc = Escalator(
        store,
        transports=[MemoryTransport()],
        clock=clock,
        workflow=workflow,
        dispatch_immediately=False,
    )
    handoff = esc.open(make_thread(clock))
    esc.consent.grant(PHONE, WEB_FORM_CONSENT, handoff_id=handoff.id)
    esc.contact_provided(handoff.id, PHONE)
    queued = clock.now()
    for hours in (2, 1, 1):
        clock.advance(hours=hours)
        esc.run_due()  # the timers first, then the rows due
    looked = [messages for name, messages in seen if name == "look"]
    text = PrivateMessage(
        template=None, channel=Channel.SMS, status=OutboxStatus.PENDING, queued_at=queued
    )
    assert looked[0] == (replace(text, due_at=queued),)  # due since it was queued
    sent = replace(text, status=OutboxStatus.DONE, sent_at=queued + timedelta(hours=2))
    assert looked[1:] == [(sent,), (sent,)]
    assert [messages for name, messages in seen if name == "other"] == [()]
    assert workflow.wants_messages(S.CONNECTED, TimerFired(name="look"))
    assert not workflow.wants_messages(S.CONNECTED, TimerFired(name="other"))
    assert not workflow.wants_messages(S.AWAITING_CONTACT, TimerFired(name="look"))
    esc.close()
