"""The workflow's functional core (`decide`, definitions) and the engine that runs it."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    InboundMessage,
    InvalidRecipient,
    InvalidWorkflowDefinition,
    RetryableTransportError,
    TransitionNotAllowed,
    UnknownOutcomeError,
    Workflow,
)
from escalate.store import OutboxStatus, SQLiteStore, Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import (
    ContactProvided,
    Context,
    Effects,
    Opened,
    PostPublicReply,
    PublicReplyPosted,
    RecordConsent,
    ReplyReceived,
    ResolveRequested,
    SendFailed,
    SendMessage,
    StartTimer,
    Step,
    TimerFired,
    WorkflowInput,
    effects,
)
from tests.conftest import WEB_FORM_CONSENT, make_thread

S = HandoffState
CLOCK = FakeClock()
NOW = CLOCK.now()
PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")
DEFAULT = Workflow.default(brand="Acme")


def draft(state: HandoffState = S.OPENED, version: int = 1) -> Handoff:
    return Handoff(
        id="ho_1",
        reference="K7QP-3M",
        thread=make_thread(CLOCK),
        state=state,
        version=version,
        opened_at=NOW,
        updated_at=NOW,
    )


INPUTS: list[WorkflowInput] = [
    Opened(),
    PublicReplyPosted(post_id="p1"),
    ContactProvided(identity=PHONE, consent=WEB_FORM_CONSENT),
    ReplyReceived(
        message=InboundMessage(channel=Channel.SMS, sender=PHONE, body="hi", received_at=NOW)
    ),
    TimerFired(name="nudge"),
    ResolveRequested(),
    SendFailed(channel=Channel.SMS, reason="x"),
]
#: A failed agent's message: the one news a closed case still takes (the helpdesk hears).
AGENTS_FAILURE = SendFailed(
    channel=Channel.SMS,
    reason="x",
    message=SendMessage(
        channel=Channel.SMS,
        to=PHONE,
        body="Acme: done (case K7QP-3M)",
        template="agent.sms",
        values={"text": "done"},
    ),
)
TERMINAL = {S.RESOLVED, S.FAILED, S.ABANDONED, S.DECLINED}


# -- decide: pure ---------------------------------------------------------------


def test_opened_is_acknowledged_publicly_with_the_reference() -> None:
    """Opening queues one public reply naming the reference, and moves to acknowledged."""
    transition = DEFAULT.decide(draft(), Opened(), DEFAULT.context(NOW))
    assert (transition.previous, transition.state) == (S.OPENED, S.ACKNOWLEDGED)
    assert transition.reason == "public acknowledgement queued"
    (command,) = [c for c in transition.commands if isinstance(c, PostPublicReply)]
    assert "K7QP-3M" in command.text
    assert "@jane_d" in command.text
    assert transition.handoff.version == 2
    assert transition.handoff.acknowledged_at == NOW


def test_contact_with_consent_records_it_and_sends_the_intro() -> None:
    """Contact details with consent give RecordConsent then an SMS naming the reference."""
    event = ContactProvided(identity=PHONE, consent=WEB_FORM_CONSENT)
    transition = DEFAULT.decide(draft(S.AWAITING_CONTACT), event, DEFAULT.context(NOW))
    assert transition.state is S.CONNECTED
    consent, send = [c for c in transition.commands if isinstance(c, RecordConsent | SendMessage)]
    assert isinstance(consent, RecordConsent)
    assert consent.address == PHONE
    assert consent.evidence.thread_id == "1001"
    assert isinstance(send, SendMessage)
    assert (send.channel, send.to) == (Channel.SMS, PHONE)
    assert "K7QP-3M" in send.body
    assert "Acme" in send.body
    assert (transition.handoff.address, transition.handoff.channel) == (PHONE, Channel.SMS)


def test_email_contact_without_consent_sends_only_an_email() -> None:
    """Email contact without consent evidence gives just an email with a subject."""
    event = ContactProvided(identity=EMAIL)
    transition = DEFAULT.decide(draft(S.ACKNOWLEDGED), event, DEFAULT.context(NOW))
    assert not [c for c in transition.commands if isinstance(c, RecordConsent)]
    (send,) = [c for c in transition.commands if isinstance(c, SendMessage)]
    assert send.channel is Channel.EMAIL
    assert send.subject is not None
    assert "K7QP-3M" in send.subject


@given(st.sampled_from(list(S)), st.sampled_from([*INPUTS, AGENTS_FAILURE]))
def test_decide_moves_exactly_when_the_state_accepts_the_input(
    state: HandoffState, event: WorkflowInput
) -> None:
    """decide moves on declared (state, input) pairs and raises TransitionNotAllowed otherwise
    (a closed state declares a failure, but takes only an agent's message's)."""
    handoff = draft(state, version=4)
    ctx = DEFAULT.context(NOW + timedelta(minutes=1))
    if not DEFAULT.accepts(state, event) or (state in TERMINAL and event is not AGENTS_FAILURE):
        with pytest.raises(TransitionNotAllowed) as caught:
            DEFAULT.decide(handoff, event, ctx)
        assert (caught.value.state, caught.value.event) == (state.value, event.kind)
        return
    transition = DEFAULT.decide(handoff, event, ctx)
    assert transition.previous is state
    assert transition.handoff.version == 5
    assert transition.handoff.updated_at == ctx.now
    assert transition.reason
    assert handoff.state is state  # the input value is untouched
    assert DEFAULT.decide(handoff, event, ctx).commands == transition.commands


@pytest.mark.parametrize("state", sorted(TERMINAL))
def test_terminal_states_accept_nothing_but_news_of_a_lost_agents_message(
    state: HandoffState,
) -> None:
    """A closed handoff refuses every input; an agent's message that failed after the close
    leaves it where it is, and only tells the helpdesk."""
    for event in INPUTS:
        with pytest.raises(TransitionNotAllowed):
            DEFAULT.decide(draft(state), event, DEFAULT.context(NOW))
    transition = DEFAULT.decide(draft(state), AGENTS_FAILURE, DEFAULT.context(NOW))
    assert transition.state is state
    assert [c.kind for c in transition.commands] == ["notify"]


def test_transition_table_lists_every_state_and_input() -> None:
    """The printed table names every state the workflow uses and every input it declares."""
    table = DEFAULT.transition_table()
    used = {s for step in DEFAULT.steps for s in step.sources} | {
        step.target for step in DEFAULT.steps if step.target
    }
    assert used == set(S), "the default workflow uses every state"
    for state in used:
        assert f"| {state.value} |" in table
    for kind in {step.on.model_fields["kind"].default for step in DEFAULT.steps}:
        assert f"| {kind} |" in table


# -- definitions ------------------------------------------------------------------


def test_an_unreachable_state_is_a_definition_error() -> None:
    """A step out of a state nothing leads to fails when the workflow is defined."""
    steps = [
        Step(S.OPENED, Opened, S.RESOLVED, "done"),
        Step(S.DECLINED, ResolveRequested, S.RESOLVED, "never"),
    ]
    with pytest.raises(InvalidWorkflowDefinition, match="unreachable"):
        Workflow("broken", steps)


def test_a_state_with_no_way_out_is_a_definition_error() -> None:
    """A reachable non-terminal state with no step leaving it fails when defined."""
    steps = [
        Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack"),
        Step(S.ACKNOWLEDGED, ReplyReceived, None, "stays"),
    ]
    with pytest.raises(InvalidWorkflowDefinition, match=r"acknowledged.*no way out"):
        Workflow("stuck", steps)


def test_a_missing_template_is_a_definition_error() -> None:
    """A required template that is not defined fails when defined."""
    steps = [Step(S.OPENED, Opened, S.RESOLVED, "done")]
    with pytest.raises(InvalidWorkflowDefinition, match="intro_sms"):
        Workflow("untemplated", steps, templates={}, required_templates=["intro_sms"])


# -- engine: consent ----------------------------------------------------------------


def _events(esc: Escalator, handoff_id: str, kind: str) -> list[dict[str, object]]:
    return [e.data for e in esc.history(handoff_id) if e.kind == kind]


def test_no_consent_means_refused_and_nothing_sent(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A send to an address with no consent is refused with reason no_consent; nothing is sent."""
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE)
    assert sms.attempts == []
    assert [e["reason"] for e in _events(esc, handoff.id, "message.refused")] == ["no_consent"]
    assert handoff.state is S.FAILED
    statuses = [i.status for i in esc.store.outbox(esc.tenant, handoff_id=handoff.id)]
    assert OutboxStatus.REFUSED in statuses


def test_revoked_consent_is_refused(esc: Escalator, clock: FakeClock, sms: MemoryTransport) -> None:
    """A grant followed by a revoke refuses the send with reason revoked."""
    evidence = ConsentEvidence(source=ConsentSource.API)
    esc.consent.grant(PHONE, evidence)
    clock.advance(seconds=1)
    esc.consent.revoke(PHONE, evidence)
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE)
    assert sms.attempts == []
    assert [e["reason"] for e in _events(esc, handoff.id, "message.refused")] == ["revoked"]


def test_stop_then_another_send_is_refused(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """After the customer texts STOP, the next send to that number is refused."""
    first = esc.open(make_thread(clock))
    esc.contact_provided(first.id, PHONE, consent=WEB_FORM_CONSENT)
    assert len(sms.sent) == 1
    clock.advance(minutes=1)
    stop = InboundMessage(channel=Channel.SMS, sender=PHONE, body=" stop ", received_at=clock.now())
    esc.inbound(stop)
    assert esc.consent.decide(PHONE, "marketing").reason == "revoked"
    assert len(sms.sent) == 2, "the intro, then the one confirmation a STOP gets"
    assert "unsubscribed" in sms.sent[1].body
    clock.advance(minutes=1)
    second = esc.open(make_thread(clock, thread_id="2002"))
    second = esc.contact_provided(second.id, PHONE)
    assert len(sms.sent) == 2
    assert [e["reason"] for e in _events(esc, second.id, "message.refused")] == ["revoked"]


# -- engine: transport failures -------------------------------------------------------


def test_retryable_failure_is_retried_after_the_delay(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A retryable failure schedules a retry; run_due sends it once the clock passes the delay."""
    sms.fail_next(RetryableTransportError("busy", retry_after=30))
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    (scheduled,) = _events(esc, handoff.id, "message.retry_scheduled")
    delay = float(scheduled["delay_seconds"])  # type: ignore[arg-type]
    assert delay >= 30
    assert esc.run_due().sent == 0
    clock.advance(seconds=delay - 1)
    assert esc.run_due().sent == 0
    clock.advance(seconds=2)
    assert esc.run_due().sent == 1
    assert len(sms.sent) == 1
    assert len(sms.attempts) == 2
    assert esc.handoffs.get(handoff.id).state is S.CONNECTED


def test_permanent_failure_fails_the_send_and_the_handoff(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A permanent failure marks the row failed and moves the handoff to failed; no retry."""
    sms.fail_next(InvalidRecipient("landline", code="21614"))
    handoff = esc.open(make_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert handoff.state is S.FAILED
    clock.advance(hours=2)
    esc.run_due()
    assert len(sms.attempts) == 1
    assert sms.sent == []
    (failed,) = _events(esc, handoff.id, "message.failed")
    assert (failed["reason"], failed["code"]) == ("InvalidRecipient", "21614")


@pytest.mark.parametrize(
    ("error", "reason"),
    [
        (UnknownOutcomeError("timeout after sending"), "unknown_outcome"),
        (RuntimeError("a user transport's own bug"), "unexpected:RuntimeError"),
    ],
)
def test_unknown_outcome_is_held_and_never_resent(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport, error: Exception, reason: str
) -> None:
    """A send that may have reached the provider is held; later run_due calls never resend it."""
    sms.fail_next(error)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    for _ in range(3):
        clock.advance(hours=1)
        esc.run_due()
    assert len(sms.attempts) == 1
    assert [e["reason"] for e in _events(esc, handoff.id, "message.held")] == [reason]
    sends = [i for i in esc.store.outbox(esc.tenant) if isinstance(i.command, SendMessage)]
    assert [i.status for i in sends] == [OutboxStatus.HELD]


def test_a_crashed_workers_send_is_held_not_repeated(
    esc: Escalator, store: Store, clock: FakeClock, sms: MemoryTransport
) -> None:
    """A send claimed by a worker that never settled it is held after the lease, not sent again."""
    esc.dispatch_immediately = False
    handoff = esc.open(make_thread(clock))
    esc.run_due()
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    (claimed,) = store.claim_outbox(clock.now(), worker="crashed", lease=timedelta(minutes=2))
    assert isinstance(claimed.command, SendMessage)
    assert esc.run_due().held == 0
    clock.advance(minutes=3)
    assert esc.run_due().held == 1
    assert sms.attempts == []
    assert [e["reason"] for e in _events(esc, handoff.id, "message.held")] == ["lease_expired"]


def test_a_crashed_workers_public_reply_is_held_not_posted_twice(
    esc: Escalator, store: Store, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """A public reply claimed by a worker that never settled it is held after the lease."""
    esc.dispatch_immediately = False
    handoff = esc.open(make_thread(clock))
    (claimed,) = store.claim_outbox(clock.now(), worker="crashed", lease=timedelta(minutes=2))
    assert isinstance(claimed.command, PostPublicReply)
    clock.advance(minutes=3)
    assert esc.run_due().held == 1
    assert publisher.replies == []
    assert [e["reason"] for e in _events(esc, handoff.id, "public_reply.held")] == ["lease_expired"]


# -- engine: opening, timers, tenants -------------------------------------------------


def test_opening_a_thread_twice_returns_the_same_handoff(
    esc: Escalator, clock: FakeClock, publisher: RecordingPublisher
) -> None:
    """Opening the same public thread again returns the open handoff and posts nothing more."""
    first = esc.open(make_thread(clock))
    clock.advance(minutes=1)
    again = esc.open(make_thread(clock))
    assert again.id == first.id
    assert len(publisher.replies) == 1
    assert [e.kind for e in esc.history(first.id)].count("handoff.opened") == 1


def _nudge(handoff: Handoff, _: Opened, ctx: Context) -> Effects:
    return effects(StartTimer(name="nudge", due_at=ctx.now + timedelta(hours=1)))


TIMED = Workflow(
    "timed",
    [
        Step(S.OPENED, Opened, S.ACKNOWLEDGED, "ack, nudge in an hour", _nudge, starts=("nudge",)),
        Step(S.ACKNOWLEDGED, TimerFired, S.ABANDONED, "no answer", timer="nudge"),
        Step(S.ACKNOWLEDGED, ResolveRequested, S.RESOLVED, "resolved"),
    ],
)


def test_timers_fire_through_run_due(store: Store, clock: FakeClock) -> None:
    """A StartTimer command fires once through run_due when due, moving the handoff."""
    esc = Escalator(store, clock=clock, workflow=TIMED)
    handoff = esc.open(make_thread(clock))
    assert handoff.state is S.ACKNOWLEDGED
    clock.advance(minutes=59)
    assert esc.run_due().timers_fired == 0
    clock.advance(minutes=1)
    assert esc.run_due().timers_fired == 1
    assert esc.handoffs.get(handoff.id).state is S.ABANDONED
    clock.advance(hours=5)
    assert esc.run_due().timers_fired == 0


def test_closing_a_handoff_cancels_its_timers(store: Store, clock: FakeClock) -> None:
    """Closing a handoff cancels its timers: nothing fires afterwards, and it stays closed."""
    esc = Escalator(store, clock=clock, workflow=TIMED)
    handoff = esc.open(make_thread(clock))
    esc.resolve(handoff.id)
    clock.advance(hours=2)
    assert esc.run_due().timers_fired == 0
    assert "input.ignored" not in [e.kind for e in esc.history(handoff.id)]
    assert esc.handoffs.get(handoff.id).state is S.RESOLVED


def test_run_due_only_dispatches_its_own_tenant(store: Store, clock: FakeClock) -> None:
    """An escalator's run_due sends only its tenant's messages, with its own transports."""
    transports = {tenant: MemoryTransport(name=tenant) for tenant in ("acme", "globex")}
    escalators = {
        tenant: Escalator(
            store,
            clock=clock,
            tenant=tenant,
            transports=[transports[tenant]],
            dispatch_immediately=False,
        )
        for tenant in transports
    }
    for tenant, esc in escalators.items():
        handoff = esc.open(make_thread(clock))
        esc.run_due()
        esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
        assert esc.handoffs.get(handoff.id).tenant == tenant
    assert escalators["acme"].run_due().sent == 1
    assert [m.tenant for m in transports["acme"].sent] == ["acme"]
    assert transports["globex"].sent == []
    assert escalators["globex"].run_due().sent == 1
    assert [m.tenant for m in transports["globex"].sent] == ["globex"]


def test_a_verbs_messages_are_claimed_in_the_verbs_own_transaction(tmp_path: Path) -> None:
    """open() writes twice: the handoff with its claimed reply, then the posted reply's result."""
    store = SQLiteStore(tmp_path / "claims.db")
    clock = FakeClock()
    esc = Escalator(store, clock=clock, publisher=RecordingPublisher(), workflow=DEFAULT)
    statements: list[str] = []
    store._conn.set_trace_callback(statements.append)
    handoff = esc.open(make_thread(clock))
    store._conn.set_trace_callback(None)
    begins = [s for s in statements if s.startswith("BEGIN")]
    claims = [s for s in statements if s.startswith("UPDATE outbox SET status = 'claimed'")]
    assert (len(begins), len(claims)) == (2, 1)
    assert handoff.state is S.AWAITING_CONTACT
    [row] = store.outbox(handoff.tenant, handoff_id=handoff.id)
    assert (row.status, row.attempts) == (OutboxStatus.DONE, 1)
    esc.close()


def test_feed_tries_the_callers_copy_and_reads_only_when_it_is_stale(
    store: Store, clock: FakeClock
) -> None:
    """A current copy is applied without a read; a stale one defers to the stored handoff."""
    esc = Escalator(store, clock=clock, workflow=TIMED, dispatch_immediately=False)
    first = esc.open(make_thread(clock, thread_id="1"))
    reads: list[str] = []
    real_get = store.get_handoff

    def counting_get(tenant: str, handoff_id: str) -> Handoff | None:
        reads.append(handoff_id)
        return real_get(tenant, handoff_id)

    store.get_handoff = counting_get  # type: ignore[method-assign]
    assert esc.engine.feed(first.id, ResolveRequested(), known=first)
    assert reads == []
    assert real_get("default", first.id).state is S.RESOLVED  # type: ignore[union-attr]

    second = esc.open(make_thread(clock, thread_id="2"))
    esc.resolve(second.id)  # the copy in hand is now stale, and closed in the store
    reads.clear()
    assert esc.engine.feed(second.id, TimerFired(name="nudge"), known=second)
    assert reads == [second.id]
    stored = real_get("default", second.id)
    assert (stored.state, stored.version) == (S.RESOLVED, second.version + 1)  # type: ignore[union-attr]
    assert esc.history(second.id)[-1].kind == "input.ignored"
