"""The scenario driver: verbs, time that steps through due timers, strict send assertions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    Handoff,
    HandoffState,
    InvalidInput,
    InvalidRecipient,
    RetryableTransportError,
    Workflow,
)
from escalate.store import OutboxStatus
from escalate.testing import SCENARIO_START, FakeClock, MemoryTransport, Scenario
from escalate.transports import FallbackTransport
from escalate.workflow import (
    Context,
    Effects,
    Opened,
    PostPublicReply,
    PublicReplyPosted,
    ResolveRequested,
    StartTimer,
    Step,
    TimerFired,
    effects,
)
from tests.testing._workflows import nudging_workflow

PHONE = "(415) 555-0142"


@pytest.fixture(params=["memory://", "sqlite"])
def scenario(request: pytest.FixtureRequest) -> Scenario:
    """A scenario on the default workflow, once per store kind."""
    with Scenario(store=request.param) as instance:
        yield instance  # type: ignore[misc]


def test_default_workflow_story(scenario: Scenario) -> None:
    """Post, give a phone with consent: one SMS with the reference, the public reply has it too."""
    handoff = scenario.post_publicly("@acme where is my parcel")
    assert handoff.state is HandoffState.AWAITING_CONTACT
    assert scenario.reference in scenario.public_replies[0]
    assert scenario.published[0].platform == "x"
    scenario.advance(minutes=5)
    scenario.customer_provides(phone=PHONE, consent=True)
    (message,) = scenario.assert_sent(1, channel=Channel.SMS, to="+14155550142")
    assert scenario.reference in message.body
    assert scenario.state is HandoffState.CONNECTED
    assert scenario.clock.now() == SCENARIO_START + timedelta(minutes=5)
    assert scenario.customer_texts("it's order 1234") is not None
    assert scenario.agent_resolves().state is HandoffState.RESOLVED
    kinds = [event.kind for event in scenario.history]
    assert kinds[0] == "handoff.opened"
    assert "reply.received" in kinds
    scenario.assert_nothing_more_sent()


def test_customer_provides_email() -> None:
    """An email address goes out on the email channel, and customer_emails replies from it."""
    with Scenario() as s:
        s.post_publicly()
        s.customer_provides(email="Jane.Doe@Example.com")
        (message,) = s.assert_sent(channel="email", containing=s.reference)
        assert message.subject
        assert s.customer_emails("thanks") is not None


def test_without_consent_nothing_is_sent() -> None:
    """consent=False records no consent, so the engine refuses the send and nothing is sent."""
    with Scenario(nudging_workflow()) as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE, consent=False)
        assert s.sent == []
        assert [row.status for row in s.outbox if row.command.kind == "send_message"] == [
            OutboxStatus.REFUSED
        ]
        s.assert_nothing_more_sent()


def test_custom_consent_evidence_is_recorded() -> None:
    """A ConsentEvidence passed as consent= is the one the ledger keeps."""
    evidence = ConsentEvidence(source=ConsentSource.AGENT_ATTESTED, text="agreed on the phone")
    with Scenario() as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE, consent=evidence)
        s.assert_sent(1)
        assert s.phone is not None
        decision = s.esc.consent.decide(s.phone, "transactional")
        assert decision.records[0].evidence.source is ConsentSource.AGENT_ATTESTED


def test_assert_sent_counts_only_unexamined_matching_sends() -> None:
    """assert_sent matches among unexamined sends; non-matching ones stay for later."""
    with Scenario(nudging_workflow(nudges=2)) as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE)
        s.advance(hours=2)
        assert len(s.sent) == 3
        nudges = [m.body for m in s.assert_sent(2, containing="Nudge")]
        assert nudges == [f"Nudge 1, case {s.reference}", f"Nudge 2, case {s.reference}"]
        with pytest.raises(AssertionError, match="expected 1 new send"):
            s.assert_sent(1, containing="Nudge")
        with pytest.raises(AssertionError, match="1 send"):
            s.assert_nothing_more_sent()
        s.assert_sent(1, containing="Hi, case")
        s.assert_nothing_more_sent()
        s.verify()


def test_failure_messages_redact_unless_asked() -> None:
    """Failures show the redacted address and body length; show_bodies=True adds the body."""
    with Scenario() as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE)
        with pytest.raises(AssertionError) as quiet:
            s.assert_sent(2, to="+14155550142")
        text = str(quiet.value)
        assert "+14155550142" not in text
        assert "+1********42" in text
        assert s.reference not in text
        assert "show_bodies=True" in text
        s.show_bodies = True
        with pytest.raises(AssertionError, match=s.reference):
            s.assert_nothing_more_sent()
        s.assert_sent(1)


def test_strict_and_lenient_verify() -> None:
    """verify() fails on an unexamined send when strict and lets it pass when not."""
    with Scenario() as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE)
        with pytest.raises(AssertionError, match="no assert_sent examined"):
            s.verify()
        s.strict = False
        s.verify()


def test_with_block_verifies_on_normal_exit_only() -> None:
    """Leaving a with block normally runs verify(); leaving it by an exception does not mask it."""

    def story(fail: bool) -> None:
        with Scenario() as s:
            s.post_publicly()
            s.customer_provides(phone=PHONE)
            if fail:
                raise KeyError("the test's own failure")

    with pytest.raises(AssertionError, match="no assert_sent examined"):
        story(fail=False)
    with pytest.raises(KeyError):
        story(fail=True)


def test_advance_stops_at_each_due_timer_in_order() -> None:
    """A timer started when another fires is due from that instant, not from the jump's end."""
    with Scenario(nudging_workflow(nudges=3)) as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE)
        connected = s.clock.now()
        report = s.advance(days=2)
        assert report.timers_fired == 3
        assert s.clock.now() == connected + timedelta(days=2)
        sent_at = [e.at - connected for e in s.history if e.kind == "message.sent"]
        assert sent_at == [timedelta(0), timedelta(hours=1), timedelta(hours=2), timedelta(hours=3)]
        s.assert_sent(4)


@given(steps=st.lists(st.integers(min_value=1, max_value=400), min_size=1, max_size=12))
def test_advance_is_path_independent(steps: list[int]) -> None:
    """Advancing in any number of steps sends the same messages at the same times as one jump."""
    total = timedelta(minutes=sum(steps))

    def timeline(deltas: list[timedelta]) -> list[tuple[str, timedelta]]:
        with Scenario(nudging_workflow(nudges=4), strict=False) as s:
            s.post_publicly()
            s.customer_provides(phone=PHONE)
            start = s.clock.now()
            for delta in deltas:
                s.advance(delta)
            assert s.clock.now() == start + total
            return [(e.kind, e.at - start) for e in s.history if e.kind.startswith("message.")]

    assert timeline([timedelta(minutes=m) for m in steps]) == timeline([total])


def test_a_runaway_timer_fails_instead_of_hanging() -> None:
    """A workflow whose timer restarts itself every second stops advance with an assertion."""
    with Scenario(nudging_workflow(runaway=True)) as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE)
        s.assert_sent(1)
        with pytest.raises(AssertionError, match="restart itself"):
            s.advance(days=1)


def test_a_timer_restarting_at_the_same_instant_fails_instead_of_passing() -> None:
    """Not a silent stop after a few rounds: the test fails, naming the cause."""

    def ack(handoff: Handoff, _: object, ctx: Context) -> Effects:
        reply = PostPublicReply(text=f"Hi, case {handoff.reference}")
        return effects(reply, StartTimer(name="t", due_at=ctx.now))

    def again(_: Handoff, __: object, ctx: Context) -> Effects:
        return effects(StartTimer(name="t", due_at=ctx.now))

    open_states = (HandoffState.ACKNOWLEDGED, HandoffState.AWAITING_CONTACT)
    looping = Workflow(
        "loop",
        [
            Step(HandoffState.OPENED, Opened, HandoffState.ACKNOWLEDGED, "ack", ack, starts=("t",)),
            Step(open_states, TimerFired, None, "again", again, timer="t", starts=("t",)),
            Step(HandoffState.ACKNOWLEDGED, PublicReplyPosted, HandoffState.AWAITING_CONTACT, "p"),
            Step(open_states, ResolveRequested, HandoffState.RESOLVED, "r"),
        ],
    )
    with Scenario(looping) as s:
        s.post_publicly()
        with pytest.raises(AssertionError, match=r"1000 rounds .* same instant"):
            s.advance(hours=1)


def test_after_stop_a_due_send_is_refused_not_sent() -> None:
    """After STOP the next timer-driven send is refused by consent and never reaches sent."""
    with Scenario(nudging_workflow(nudges=1)) as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE)
        s.assert_sent(1)
        s.customer_texts("stop")
        s.assert_sent(1, containing="unsubscribed")  # the one confirmation a STOP gets
        s.advance(hours=2)
        s.assert_nothing_more_sent()
        assert "message.refused" in [event.kind for event in s.history]


def test_retryable_failure_is_queued_then_sent() -> None:
    """A scripted retryable failure leaves the SMS queued; advancing past the backoff sends it."""
    with Scenario() as s:
        s.post_publicly()
        s.transport.fail_next(RetryableTransportError("503"), times=2)
        s.customer_provides(phone=PHONE)
        assert s.sent == []
        assert len(s.transport.attempts) == 1
        (row,) = s.queued
        assert row.due_at > s.clock.now()
        report = s.advance(minutes=5)
        assert report.retried == 1
        assert report.sent == 1
        assert s.queued == []
        assert len(s.transport.attempts) == 3
        s.assert_sent(1, containing=s.reference)


def test_permanent_failure_is_attempted_not_sent() -> None:
    """A scripted permanent failure reaches the transport, is not sent, and is not retried."""
    with Scenario(nudging_workflow()) as s:
        s.post_publicly()
        s.transport.fail_next(InvalidRecipient("landline", code="21614"))
        s.customer_provides(phone=PHONE)
        s.advance(minutes=30)
        assert s.sent == []
        assert len(s.transport.attempts) == 1
        assert s.queued == []
        assert "message.failed" in [event.kind for event in s.history]


def test_custom_transports_and_notifications() -> None:
    """With several MemoryTransports, sent lists what they accepted; Notify is recorded."""
    sms, email = MemoryTransport([Channel.SMS], name="sms"), MemoryTransport([Channel.EMAIL])
    with Scenario(nudging_workflow(), transports=[email, sms]) as s:
        with pytest.raises(InvalidInput, match="2 MemoryTransports"):
            _ = s.transport  # which one would be a guess
        s.post_publicly()
        s.customer_provides(phone=PHONE)
        assert s.sent == sms.sent
        s.assert_sent(1, channel="sms")
        s.agent_resolves()
        assert [notify.topic for notify in s.notifications] == ["resolved"]


def test_custom_start_and_thread() -> None:
    """start= sets the clock and post_publicly's options shape the thread."""
    start = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)
    with Scenario(Workflow.default(brand="Acme"), start=start) as s:
        handoff = s.post_publicly(platform="facebook", user_id="1001", handle=None, thread_id="c1")
        assert handoff.opened_at == start
        assert (handoff.thread.platform, handoff.thread.thread_id) == ("facebook", "c1")
        assert s.reference in s.public_replies[0]
        assert s.post_publicly(platform="facebook", thread_id="c1").id == handoff.id


def test_bad_calls_raise_typed_errors() -> None:
    """Verbs called out of order or with bad arguments raise InvalidInput."""
    with Scenario() as s:
        with pytest.raises(InvalidInput, match="post_publicly"):
            s.customer_provides(phone=PHONE)
        with pytest.raises(InvalidInput, match="post_publicly"):
            _ = s.handoff
        s.post_publicly()
        with pytest.raises(InvalidInput, match="exactly one"):
            s.customer_provides()
        with pytest.raises(InvalidInput, match="exactly one"):
            s.customer_provides(phone=PHONE, email="a@example.com")
        with pytest.raises(InvalidInput, match="customer_provides"):
            s.customer_texts("hello")
        with pytest.raises(InvalidInput, match="forward"):
            s.advance(minutes=-1)
        assert s.customer_texts("hello", sender="+1 415 555 0199") is None


def test_sqlite_scenario_removes_its_file(tmp_path: Path) -> None:
    """store="sqlite" uses a real SQLite file that close() removes."""
    s = Scenario(store="sqlite")
    path = Path(str(s.esc.store.path))  # type: ignore[attr-defined]
    s.post_publicly()
    assert path.exists()
    s.close()
    assert not path.parent.exists()
    assert "Scenario(workflow=" in repr(s)


def test_scenario_capture_events_covers_timer_firings() -> None:
    """scenario.capture_events() sees what an advance did: the timer's transition and its send."""
    with Scenario(nudging_workflow(nudges=1)) as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE)
        with s.capture_events() as events:
            s.advance(hours=1)
        assert events.kinds.count("message.sent") == 1
        (transition,) = events.of_kind("handoff.transition")
        assert transition.data["input"] == "timer_fired"
        assert all(event.at == s.clock.now() for event in events)
        s.assert_sent(2)


def test_sends_through_a_fallback_transport_are_counted_and_strict() -> None:
    """MemoryTransports inside a FallbackTransport are watched like direct ones."""
    first, second = MemoryTransport(name="first"), MemoryTransport(name="second")
    s = Scenario(transports=[FallbackTransport([first, second])])
    s.post_publicly()
    s.customer_provides(email="jane@example.com")
    assert len(first.sent) == 1
    assert s.sent == first.sent
    with pytest.raises(AssertionError, match="1 send"):
        s.verify()
    s.assert_sent(1, channel="email")
    s.verify()
    s.close()


def test_to_is_read_as_the_customer_typed_it() -> None:
    """assert_sent(to=...) normalizes a phone or an email as customer_provides does."""
    with Scenario() as s:
        s.post_publicly()
        s.customer_provides(phone=PHONE)
        s.assert_sent(1, to="(415) 555-0142")
    with Scenario() as s:
        s.post_publicly()
        s.customer_provides(email="Jane@Example.com")
        with pytest.raises(AssertionError, match="found 0"):
            s.assert_sent(1, to="john@example.com")
        s.assert_sent(1, to="JANE@example.com")
    with Scenario(strict=False) as s, pytest.raises(InvalidInput):
        s.assert_sent(0, to="not a number")


def test_sent_is_in_time_order_across_transports() -> None:
    """An email, then an SMS a minute later, through two transports: listed in that order."""
    sms, email = MemoryTransport([Channel.SMS], name="sms"), MemoryTransport([Channel.EMAIL])
    with Scenario(transports=[sms, email]) as s:
        s.post_publicly()
        s.customer_provides(email="jane@example.com")
        s.advance(minutes=1)
        s.post_publicly(thread_id="second-post")
        s.customer_provides(phone=PHONE)
        assert [m.channel for m in s.sent] == [Channel.EMAIL, Channel.SMS]
        with pytest.raises(AssertionError, match=r"unexamined sends: \[email .*; sms "):
            s.assert_sent(3)
        s.assert_sent(2)


def test_time_is_a_timedelta_or_units_not_both() -> None:
    """advance(timedelta, minutes=...) is refused instead of dropping the minutes."""
    with Scenario() as s:
        start = s.clock.now()
        with pytest.raises(InvalidInput, match="not both"):
            s.advance(timedelta(hours=1), minutes=5)
        with pytest.raises(InvalidInput, match="not both"):
            s.clock.advance(timedelta(hours=1), minutes=5)
        with pytest.raises(InvalidInput, match="unknown time units"):
            s.advance(hour=1)
        assert s.clock.now() == start
        s.advance(hours=1, minutes=5)
        assert s.clock.now() - start == timedelta(hours=1, minutes=5)


def test_a_given_clock_is_the_scenarios_clock() -> None:
    """Scenario(clock=...) drives that clock; with start= as well it is refused."""
    clock = FakeClock(SCENARIO_START)
    with Scenario(clock=clock) as s:
        assert s.clock is clock
        clock.advance(minutes=5)
        assert s.post_publicly().opened_at == SCENARIO_START + timedelta(minutes=5)
    with pytest.raises(InvalidInput, match="not both"):
        Scenario(clock=clock, start=SCENARIO_START)
