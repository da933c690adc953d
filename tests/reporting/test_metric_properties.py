"""Properties of the SLA figures over generated cohorts (hypothesis).

A generated case has a public reply or none, private messages (some keyword
answers, some reported undelivered), maybe a terminal transition, all at
minutes after its opening; some cases belong to another tenant. Events carry
``seq`` in commit order, as a store gives them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from hypothesis import example, given
from hypothesis import strategies as st

from escalate import Event, Handoff
from escalate.reporting import DurationStats, SlaReport, sla_report
from tests.reporting.test_metrics import T0, event, make_handoff

H = timedelta(hours=1)
M = timedelta(minutes=1)
AS_OF = T0 + 200 * H
TERMINALS = ("resolved", "abandoned", "declined", "failed")
TEMPLATES = ("intro.sms", "agent.email", "consent.help", "consent.opt_out_confirmation")


@dataclass(frozen=True)
class Case:
    opened_minute: int
    tenant: str
    reply_minute: int | None
    sends: tuple[tuple[int, str, bool], ...]  # minute, template, reported undelivered
    terminal: tuple[int, str] | None


minutes = st.integers(min_value=0, max_value=3 * 24 * 60)
cases = st.builds(
    Case,
    opened_minute=st.integers(min_value=0, max_value=7 * 24 * 60),
    tenant=st.sampled_from(["default", "default", "default", "other"]),
    reply_minute=st.none() | minutes,
    sends=st.lists(st.tuples(minutes, st.sampled_from(TEMPLATES), st.booleans()), max_size=3).map(
        tuple
    ),
    terminal=st.none() | st.tuples(minutes, st.sampled_from(TERMINALS)),
)


def build(found: list[Case], prefix: str = "h") -> tuple[list[Handoff], list[Event]]:
    handoffs: list[Handoff] = []
    events: list[Event] = []
    for n, case in enumerate(found):
        opened = T0 + case.opened_minute * M
        handoff = make_handoff(f"{prefix}{n}", opened, tenant=case.tenant)
        handoffs.append(handoff)
        mine: list[Event] = []
        if case.reply_minute is not None:
            mine.append(event(handoff, "public_reply.posted", opened + case.reply_minute * M))
        for k, (minute, template, lost) in enumerate(case.sends):
            row = f"ob_{prefix}{n}_{k}"
            at = opened + minute * M
            mine.append(event(handoff, "message.sent", at, template=template, outbox_id=row))
            if lost:
                mine.append(event(handoff, "message.undelivered", at + M, outbox_id=row))
        if case.terminal is not None:
            minute, state = case.terminal
            mine.append(event(handoff, "handoff.transition", opened + minute * M, to=state))
        events += mine
    # seq in time order, as one clock and a store give it.
    ordered = sorted(events, key=lambda e: e.at)
    return handoffs, [e.model_copy(update={"seq": i}) for i, e in enumerate(ordered, 1)]


def report_of(found: list[Case], **kwargs: object) -> SlaReport:
    handoffs, events = build(found)
    return sla_report(
        handoffs, events, as_of=kwargs.pop("as_of", AS_OF), tenant="default", **kwargs
    )  # type: ignore[arg-type]


def figures(report: SlaReport) -> tuple[object, ...]:
    return (
        report.handoffs,
        report.first_public_response,
        report.private_handoff,
        report.resolved_in_time,
        report.resolution_judged,
        report.closed,
        report.abandoned,
    )


@given(st.lists(cases, max_size=8))
def test_counts_and_shares_are_consistent(found: list[Case]) -> None:
    """Shares in [0, 1]; every count within its whole; no negative duration."""
    report = report_of(found)
    assert report.handoffs == sum(case.tenant == "default" for case in found)
    assert 0 <= report.resolved_in_time <= report.resolution_judged <= report.handoffs
    assert 0 <= report.abandoned <= report.closed <= report.handoffs
    for share in (report.resolved_within_24h, report.abandonment_rate):
        assert share is None or 0.0 <= share <= 1.0
    for stats in (report.first_public_response, report.private_handoff):
        assert stats.count + stats.missing == report.handoffs
        assert all(sample >= 0 for sample in stats.samples)


@given(st.lists(st.floats(min_value=0, max_value=1e9), min_size=1, max_size=50), st.data())
def test_percentiles_lie_between_min_and_max_and_grow_with_p(
    samples: list[float], data: st.DataObject
) -> None:
    """Any percentile is a sample within [min, max]; a higher p never gives a lower one."""
    stats = DurationStats(samples=tuple(samples), missing=0)
    low, high = sorted(data.draw(st.lists(st.floats(0, 100), min_size=2, max_size=2)))
    p_low, p_high = stats.percentile(low), stats.percentile(high)
    assert p_low is not None
    assert p_high is not None
    assert p_low <= p_high
    for value in (p_low, p_high, stats.median, stats.p90, stats.mean):
        assert value is not None
        assert timedelta(seconds=min(samples)) <= value <= timedelta(seconds=max(samples))
    assert stats.max == timedelta(seconds=max(samples))


@given(st.lists(cases, max_size=8), st.integers(0, 24 * 60))
def test_a_case_resolved_in_time_never_lowers_the_24h_share(found: list[Case], minute: int) -> None:
    """One more handoff resolved within 24 h: one more judged and one more in time."""
    before = report_of(found)
    quick = Case(0, "default", None, (), (minute, "resolved"))
    after = report_of([*found, quick])
    assert after.resolved_in_time == before.resolved_in_time + 1
    assert after.resolution_judged == before.resolution_judged + 1
    assert after.resolved_within_24h is not None
    assert after.resolved_within_24h >= (before.resolved_within_24h or 0.0)


@given(st.lists(cases, max_size=8), st.integers(0, 3 * 24 * 60))
def test_an_abandoned_case_never_lowers_the_abandonment_rate(
    found: list[Case], minute: int
) -> None:
    before = report_of(found)
    after = report_of([*found, Case(0, "default", None, (), (minute, "abandoned"))])
    assert after.abandonment_rate is not None
    assert after.abandonment_rate >= (before.abandonment_rate or 0.0)


@given(st.lists(cases, max_size=6), st.lists(cases, max_size=6))
def test_another_tenants_cases_change_nothing(found: list[Case], others: list[Case]) -> None:
    """A report never mixes tenants: the other tenant's handoffs and events are ignored."""
    mine, my_events = build(found)
    foreign = [Case(c.opened_minute, "other", c.reply_minute, c.sends, c.terminal) for c in others]
    theirs, their_events = build(foreign, prefix="x")
    alone = sla_report(mine, my_events, as_of=AS_OF, tenant="default")
    mixed = sla_report(theirs + mine, their_events + my_events, as_of=AS_OF, tenant="default")
    assert figures(alone) == figures(mixed)


@given(st.lists(cases, max_size=8), st.randoms())
def test_the_order_events_arrive_in_changes_nothing(
    found: list[Case], shuffler: random.Random
) -> None:
    handoffs, events = build(found)
    shuffled = list(events)
    shuffler.shuffle(shuffled)
    shuffler.shuffle(handoffs)
    assert figures(sla_report(handoffs, shuffled, as_of=AS_OF, tenant="default")) == figures(
        report_of(found)
    )


@given(st.lists(cases, max_size=8), st.lists(st.integers(0, 7 * 24 * 60), min_size=3, max_size=3))
def test_adjacent_windows_add_up(found: list[Case], bounds: list[int]) -> None:
    """[a, b) and [b, c) hold, between them, exactly what [a, c) holds: no case twice or lost."""
    a, b, c = (T0 + minute * M for minute in sorted(bounds))
    first = report_of(found, since=a, until=b)
    second = report_of(found, since=b, until=c)
    whole = report_of(found, since=a, until=c)
    for name in ("handoffs", "resolved_in_time", "resolution_judged", "closed", "abandoned"):
        assert getattr(first, name) + getattr(second, name) == getattr(whole, name)
    assert sorted(
        first.first_public_response.samples + second.first_public_response.samples
    ) == sorted(whole.first_public_response.samples)


@given(st.lists(cases, max_size=8), st.lists(st.integers(0, 11 * 24 * 60), min_size=2, max_size=2))
def test_time_only_adds_outcomes(found: list[Case], moments: list[int]) -> None:
    """Judged later, a report knows at least as much: no count of outcomes goes down."""
    earlier, later = (T0 + minute * M for minute in sorted(moments))
    before = report_of(found, as_of=earlier)
    after = report_of(found, as_of=later)
    for name in ("handoffs", "resolved_in_time", "resolution_judged", "closed", "abandoned"):
        assert getattr(before, name) <= getattr(after, name)


@example(952.4673885000001, 5)
@given(st.floats(min_value=0, max_value=1e7), st.integers(min_value=1, max_value=10))
def test_identical_samples_summarise_to_themselves(value: float, copies: int) -> None:
    """n equal durations have that duration as mean, median and max (the float sum's
    rounding put the mean of five 952.4673885 s 1 microsecond below them)."""
    stats = DurationStats(samples=(value,) * copies, missing=0)
    assert stats.mean == stats.median == stats.max == timedelta(seconds=value)


@given(
    st.lists(cases, max_size=8),
    st.integers(min_value=1, max_value=24 * 60 - 1),
    st.none() | st.integers(min_value=0, max_value=24 * 60),
)
def test_an_open_case_inside_its_24h_counts_neither_way(
    found: list[Case], age: int, reply: int | None
) -> None:
    """Censored: a case opened ``age`` minutes before as_of, still open, is not judged,
    not closed; once its 24 h have passed open, it is judged, and not in time. (At
    exactly 24 h it is judged: a resolution then would be in time, and is seen.)"""
    opened = AS_OF - T0 - age * M
    fresh = Case(opened // M, "default", reply, (), None)
    before = report_of(found)
    after = report_of([*found, fresh])
    assert after.handoffs == before.handoffs + 1
    assert (after.resolved_in_time, after.resolution_judged) == (
        before.resolved_in_time,
        before.resolution_judged,
    )
    assert (after.closed, after.abandoned) == (before.closed, before.abandoned)
    late = report_of([*found, fresh], as_of=AS_OF + 24 * H)
    earlier = report_of(found, as_of=AS_OF + 24 * H)
    assert late.resolution_judged == earlier.resolution_judged + 1
    assert late.resolved_in_time == earlier.resolved_in_time
