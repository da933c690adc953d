"""Small workflows for the test kit's tests: timers that chain, a reminder, a runaway timer."""

from __future__ import annotations

from datetime import timedelta

from escalate import Channel, Handoff, HandoffState
from escalate.consent import ConsentAction, Purpose
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
    StartTimer,
    Step,
    TimerFired,
    Workflow,
    effects,
)

S = HandoffState
OPEN = (S.OPENED, S.ACKNOWLEDGED, S.AWAITING_CONTACT, S.CONNECTED)


def _ack(handoff: Handoff, _: Opened, ctx: Context) -> Effects:
    return effects(PostPublicReply(text=f"DM us please. Case {handoff.reference}"))


def _connect(handoff: Handoff, event: ContactProvided, ctx: Context) -> Effects:
    consent = (
        [
            RecordConsent(
                address=event.identity,
                channel=Channel.SMS,
                purpose=Purpose.TRANSACTIONAL,
                action=ConsentAction.GRANT,
                evidence=event.consent,
            )
        ]
        if event.consent
        else []
    )
    return effects(
        *consent,
        SendMessage(channel=Channel.SMS, to=event.identity, body=f"Hi, case {handoff.reference}"),
        StartTimer(name="nudge", due_at=ctx.now + timedelta(hours=1)),
        address=event.identity,
        channel=Channel.SMS,
    )


def _nudge(handoff: Handoff, event: TimerFired, ctx: Context) -> Effects:
    """The k-th nudge (k hours after connecting) texts once and starts the next, up to N."""
    assert handoff.address is not None
    assert handoff.connected_at is not None
    k = round((ctx.now - handoff.connected_at) / timedelta(hours=1))
    body = f"Nudge {k}, case {handoff.reference}"
    text = SendMessage(channel=Channel.SMS, to=handoff.address, body=body)
    if k < ctx.settings["nudges"]:
        return effects(text, StartTimer(name="nudge", due_at=ctx.now + timedelta(hours=1)))
    return effects(text)


def _forever(handoff: Handoff, event: TimerFired, ctx: Context) -> Effects:
    return effects(StartTimer(name="nudge", due_at=ctx.now + timedelta(seconds=1)))


def _notify(handoff: Handoff, event: ResolveRequested, ctx: Context) -> Effects:
    return effects(Notify(topic="resolved", text=f"case {handoff.reference} closed"))


def nudging_workflow(nudges: int = 1, *, runaway: bool = False) -> Workflow:
    """Intro SMS on contact, then ``nudges`` hourly nudges (or a timer that never stops)."""
    return Workflow(
        "nudging",
        [
            Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack", _ack),
            Step(S.ACKNOWLEDGED, PublicReplyPosted, S.AWAITING_CONTACT, "posted"),
            Step(
                (S.ACKNOWLEDGED, S.AWAITING_CONTACT),
                ContactProvided,
                S.CONNECTED,
                "contact",
                _connect,
                starts=("nudge",),
                sends=Purpose.TRANSACTIONAL,
            ),
            Step(
                S.CONNECTED,
                TimerFired,
                None,
                "nudge",
                _forever if runaway else _nudge,
                timer="nudge",
                starts=("nudge",),
                sends=Purpose.TRANSACTIONAL,
            ),
            Step(OPEN, ResolveRequested, S.RESOLVED, "resolved", _notify),
        ],
        settings={"nudges": nudges},
    )
