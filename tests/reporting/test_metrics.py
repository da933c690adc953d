"""SLA figures from the audit log: exact values on a scripted cohort, and through the facade."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from escalate import (
    Channel,
    Escalator,
    Event,
    Handoff,
    Identity,
    InboundMessage,
    InvalidInput,
    NaiveDatetimeError,
    Thread,
)
from escalate._ids import new_id
from escalate.reporting import DurationStats, format_duration, sla_report
from escalate.testing import FakeClock
from tests.conftest import WEB_FORM_CONSENT, make_thread

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
H = timedelta(hours=1)
M = timedelta(minutes=1)


def make_handoff(
    hid: str, opened: datetime, posted: datetime | None = None, tenant: str = "default"
) -> Handoff:
    thread = Thread(
        platform="x",
        thread_id=hid,
        author=Identity.social("x", "42"),
        text="where is my parcel",
        posted_at=posted or opened,
    )
    return Handoff(
        id=hid,
        tenant=tenant,
        reference=f"R{hid}-01",
        thread=thread,
        opened_at=opened,
        updated_at=opened,
    )


def event(handoff: Handoff, kind: str, at: datetime, **data: object) -> Event:
    return Event(
        id=new_id("ev"),
        tenant=handoff.tenant,
        kind=kind,
        at=at,
        handoff_id=handoff.id,
        data=dict(data),
    )


def to(handoff: Handoff, state: str, at: datetime) -> Event:
    return event(handoff, "handoff.transition", at, to=state)


def scripted() -> tuple[list[Handoff], list[Event]]:
    """Five handoffs in the window, one in another tenant, one before the window."""
    a = make_handoff("a", T0, posted=T0 - 10 * M)
    b = make_handoff("b", T0 + H)
    c = make_handoff("c", T0 + 2 * H)
    d = make_handoff("d", T0 + 60 * H)  # still inside its first 24 h at as_of
    e = make_handoff("e", T0 + 4 * H, posted=T0 + 5 * H)  # the platform's clock ran ahead
    other = make_handoff("f", T0, tenant="other")
    early = make_handoff("g", T0 - 48 * H)
    events = [
        event(a, "public_reply.posted", T0 + 2 * M),
        event(a, "message.sent", T0 + 30 * M),
        to(a, "resolved", T0 + 5 * H),
        event(b, "public_reply.posted", T0 + H + 5 * M),
        event(b, "message.sent", T0 + 3 * H),
        to(b, "resolved", T0 + 31 * H),  # resolved, but after 24 h
        event(c, "public_reply.posted", T0 + 2 * H + M),
        to(c, "abandoned", T0 + 50 * H),
        event(d, "message.sent", T0 + 60 * H + 10 * M),
        event(d, "public_reply.posted", T0 + 60 * H + 20 * M),
        to(d, "resolved", T0 + 80 * H),  # after as_of: not yet known
        event(e, "public_reply.posted", T0 + 4 * H + 4 * M),
        event(e, "message.sent", T0 + 4 * H + 15 * M),
        event(e, "message.sent", T0 + 4 * H + 50 * M),  # only the first one counts
        to(e, "declined", T0 + 5 * H),
        to(e, "resolved", T0 + 6 * H),  # after a terminal state: ignored
        event(other, "public_reply.posted", T0 + M),
        to(other, "abandoned", T0 + H),
        event(early, "public_reply.posted", T0 - 47 * H),
        to(early, "abandoned", T0 - 40 * H),
    ]
    return [a, b, c, d, e, other, early], events


def test_scripted_cohort_gives_exact_figures() -> None:
    """Each metric on a hand-computed cohort: durations, percentiles and shares are exact."""
    handoffs, events = scripted()
    report = sla_report(handoffs, events, as_of=T0 + 72 * H, since=T0 - H, tenant="default")
    assert report.handoffs == 5
    response = report.first_public_response
    assert response.samples == (720.0, 300.0, 60.0, 240.0, 1200.0)  # a, b, c, e, d
    assert response.missing == 0
    assert response.median == timedelta(seconds=300)
    assert response.p90 == timedelta(seconds=1200)
    assert response.mean == timedelta(seconds=504)
    assert response.max == timedelta(minutes=20)
    private = report.private_handoff
    assert private.samples == (1800.0, 7200.0, 900.0, 600.0)
    assert private.missing == 1
    assert private.median == timedelta(minutes=15)
    assert private.p90 == timedelta(hours=2)
    assert (report.resolved_in_time, report.resolution_judged) == (1, 4)
    assert report.resolved_within_24h == 0.25
    assert (report.abandoned, report.closed) == (1, 4)
    assert report.abandonment_rate == 0.25


def test_window_bounds_are_inclusive_then_exclusive() -> None:
    """since includes a handoff opened exactly then; until excludes one opened exactly then."""
    handoffs, events = scripted()
    report = sla_report(handoffs, events, as_of=T0 + 72 * H, since=T0, until=T0 + 2 * H)
    assert report.handoffs == 2  # a (at since) and b; c opens exactly at until
    assert report.first_public_response.samples == (720.0, 300.0)
    everything = sla_report(handoffs, events, as_of=T0 + 72 * H)
    assert everything.handoffs == 6  # default tenant, taken from the first handoff
    assert everything.abandoned == 2


def test_an_empty_cohort_has_no_shares() -> None:
    """With no handoffs, shares are None rather than a division by zero."""
    report = sla_report([], [], as_of=T0)
    assert report.handoffs == 0
    assert report.resolved_within_24h is None
    assert report.abandonment_rate is None
    assert report.first_public_response.median is None


def test_naive_bounds_are_refused() -> None:
    """A bound without a time zone raises NaiveDatetimeError."""
    with pytest.raises(NaiveDatetimeError):
        sla_report([], [], as_of=T0, since=datetime(2026, 3, 1))


def test_nearest_rank_percentiles_are_exact() -> None:
    """The p-th percentile is the ceil(p% of n)-th sample, even where binary floats round up."""
    stats = DurationStats(samples=tuple(float(n) for n in range(1000, 0, -1)), missing=0)
    assert stats.percentile(99.9) == timedelta(seconds=999)
    assert stats.percentile(0.9) == timedelta(seconds=9)
    assert stats.percentile(100) == timedelta(seconds=1000)
    assert stats.percentile(0) == timedelta(seconds=1)
    for bad in (-1, 100.5, float("nan"), "90"):
        with pytest.raises(InvalidInput):
            stats.percentile(bad)  # type: ignore[arg-type]


def test_format_duration() -> None:
    """Durations print short and human, from seconds to days."""
    assert format_duration(None) == "-"
    assert format_duration(timedelta(seconds=45)) == "45s"
    assert format_duration(timedelta(minutes=4, seconds=12)) == "4m 12s"
    assert format_duration(timedelta(hours=2, minutes=5)) == "2h 05m"
    assert format_duration(timedelta(days=3, hours=4, minutes=59)) == "3d 4h"


def test_escalator_report_through_the_workflow(esc: Escalator, clock: FakeClock) -> None:
    """esc.report() measures real handoffs on every store, judged at the clock's now."""
    start = clock.now()
    posted_earlier = Thread(
        platform="x",
        thread_id="2001",
        author=Identity.social("x", "7", "bo"),
        text="still waiting",
        posted_at=start - 10 * M,
    )
    first = esc.open(posted_earlier)  # the public reply is posted at once
    clock.advance(minutes=5)
    esc.contact_provided(
        first.id, Identity.phone("(415) 555-0100", region="US"), consent=WEB_FORM_CONSENT
    )
    clock.advance(hours=1)
    esc.resolve(first.id)
    clock.advance(hours=1)
    second_thread = posted_earlier.model_copy(
        update={"thread_id": "2002", "posted_at": clock.now()}
    )
    esc.open(second_thread)
    clock.advance(hours=30)

    report = esc.report()
    assert report.handoffs == 2
    assert report.first_public_response.samples == (600.0, 0.0)
    assert report.private_handoff.samples == (300.0,)
    assert report.private_handoff.missing == 1
    assert report.resolved_within_24h == 0.5
    assert (report.closed, report.abandonment_rate) == (1, 0.0)
    assert esc.report(since=start + H).handoffs == 1
    assert esc.report(until=start + H).handoffs == 1


def test_a_reopened_thread_does_not_time_its_response_from_the_first_post(
    esc: Escalator, clock: FakeClock
) -> None:
    """The thread's post is days old when it is escalated again: that is not the wait."""
    thread = make_thread(clock)
    first = esc.open(thread)
    clock.advance(hours=2)
    esc.resolve(first.id)
    clock.advance(days=3)
    closed_at = clock.now()
    clock.advance(minutes=20)  # the customer posts again in the thread; the team sees it
    again = esc.open(thread)
    assert again.id != first.id
    opened = next(e for e in esc.history(again.id) if e.kind == "handoff.opened")
    assert opened.data["reopens"] == first.id
    assert datetime.fromisoformat(str(opened.data["previous_closed_at"])) <= closed_at
    clock.advance(minutes=7)
    later_post = thread.model_copy(update={"thread_id": "1002", "posted_at": clock.now()})
    first_again = esc.open(later_post)
    esc.resolve(first_again.id)
    clock.advance(minutes=20)
    esc.open(later_post.model_copy(update={"posted_at": clock.now() - 15 * M}))
    # The old post's date says nothing of the new complaint: the escalation is the
    # earliest known time; a reopening post dated by the caller counts from its date.
    assert esc.report().first_public_response.samples == (0.0, 0.0, 0.0, 15 * 60.0)


def test_a_keyword_answer_is_no_private_handoff(esc: Escalator, clock: FakeClock) -> None:
    """A STOP's confirmation, the only text a case sent, does not count as its private handoff."""
    clock.set(datetime(2026, 3, 10, 7, 0, tzinfo=UTC))  # 23:00 in California: quiet hours
    handoff = esc.open(make_thread(clock))
    phone = Identity.phone("(415) 555-0100", region="US")
    esc.contact_provided(handoff.id, phone, consent=WEB_FORM_CONSENT)  # the intro waits
    clock.advance(minutes=30)
    esc.inbound(
        InboundMessage(channel=Channel.SMS, sender=phone, body="STOP", received_at=clock.now())
    )
    sent = [event for event in esc.history(handoff.id) if event.kind == "message.sent"]
    assert [event.data["template"] for event in sent] == ["consent.opt_out_confirmation"]
    report = esc.report()
    assert report.private_handoff.samples == ()
    assert report.private_handoff.missing == 1


def test_help_answers_and_texts_after_closing_are_no_private_handoff() -> None:
    """Only a case's own message counts: not a HELP answer, nor a text after it closed."""
    helped = make_handoff("h", T0)
    closed = make_handoff("c", T0)
    events = [
        event(helped, "message.sent", T0 + M, template="consent.help"),
        event(helped, "message.sent", T0 + 9 * M, template="intro.sms"),
        to(closed, "declined", T0 + 2 * M),
        event(closed, "message.sent", T0 + 2 * M),  # logged before templates were recorded
    ]
    report = sla_report([helped, closed], events, as_of=T0 + H)
    assert report.private_handoff.samples == (540.0,)
    assert report.private_handoff.missing == 1


@pytest.mark.parametrize(
    ("kwargs", "error"),
    [
        ({"since": "2026-03-01"}, InvalidInput),
        ({"until": 1_700_000_000}, InvalidInput),
        ({"since": T0 + H, "until": T0}, InvalidInput),
        ({"since": datetime(2026, 3, 1)}, NaiveDatetimeError),  # naive on purpose
    ],
)
def test_escalator_report_refuses_bad_bounds(
    esc: Escalator, kwargs: dict[str, object], error: type[Exception]
) -> None:
    """esc.report() with a non-datetime, naive or inverted bound raises a typed error."""
    with pytest.raises(error):
        esc.report(**kwargs)  # type: ignore[arg-type]
