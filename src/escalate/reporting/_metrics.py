"""SLA metrics computed from the audit log: a pure function over handoffs and their events.

The report is about a *cohort*: the handoffs opened in ``[since, until)``, with
every event they have as of ``as_of`` (so a handoff opened yesterday and resolved
today counts as resolved). Definitions, each from audit events:

- time to first public response: from the public post (``thread.posted_at``, or
  the handoff's opening if the platform's clock put the post later) to the first
  ``public_reply.posted`` (not a Meta private reply's, ``private: true``, which
  only the author sees); for a thread escalated again after a case closed,
  from the ``posted_at`` the caller gave if it is after that close (the new
  post's time), else from the new handoff's opening;
- time to private handoff: from the handoff's opening to its first ``message.sent``
  of its own, before it closed: an answer to the customer's HELP or STOP (its
  ``template`` is a keyword answer's, or it was sent after the case closed) is
  no handoff, nor is a message the carrier reported undelivered (unless it had
  reported it delivered first); a send held for an unknown outcome and
  confirmed later (``reconciled``) went when it was held;
- resolved within 24 h: handoffs whose ``handoff.transition`` to ``resolved`` came
  at most 24 h after opening, out of those whose 24 h have passed by ``as_of`` or
  that were already resolved in time (a handoff still inside its first 24 h is
  not counted either way);
- abandonment rate: handoffs whose first terminal transition went to
  ``abandoned``, out of all handoffs that reached a terminal state.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from fractions import Fraction

from pydantic import BaseModel, ConfigDict

from escalate._clock import aware_datetime
from escalate._exceptions import InvalidInput
from escalate._models import TERMINAL_STATES, AwareDatetime, Event, Handoff, HandoffState
from escalate._tenant import DEFAULT_TENANT, check_tenant
from escalate.consent._policy import KEYWORD_REPLY_TEMPLATES

__all__ = [
    "RESOLUTION_WINDOW",
    "DurationStats",
    "SlaReport",
    "check_window",
    "sla_report",
]

RESOLUTION_WINDOW = timedelta(hours=24)
_TERMINAL = frozenset(state.value for state in TERMINAL_STATES)
_Match = Callable[[Event], bool]


class DurationStats(BaseModel):
    """A set of durations and their summary (nearest-rank percentiles).

    Attributes:
        samples: every duration, in seconds, in the cohort's order.
        missing: handoffs in the cohort for which the measured step never happened.
    """

    model_config = ConfigDict(frozen=True)

    samples: tuple[float, ...]
    missing: int

    @property
    def count(self) -> int:
        return len(self.samples)

    @property
    def median(self) -> timedelta | None:
        return self.percentile(50)

    @property
    def p90(self) -> timedelta | None:
        return self.percentile(90)

    @property
    def mean(self) -> timedelta | None:
        if not self.samples:
            return None
        # The float sum rounds: five equal samples could average a microsecond
        # below them. A mean lies within the samples, so it is held there.
        mean = math.fsum(self.samples) / len(self.samples)
        return timedelta(seconds=min(max(mean, min(self.samples)), max(self.samples)))

    @property
    def max(self) -> timedelta | None:
        return timedelta(seconds=max(self.samples)) if self.samples else None

    def percentile(self, p: float) -> timedelta | None:
        """The nearest-rank ``p``-th percentile (the smallest sample with >= p% at or below).

        Raises:
            InvalidInput: ``p`` is not a number from 0 to 100.
        """
        if isinstance(p, bool) or not isinstance(p, int | float) or not 0 <= p <= 100:
            raise InvalidInput("a percentile is a number from 0 to 100")
        if not self.samples:
            return None
        ordered = sorted(self.samples)
        # p as the decimal it was written as: in binary, 99.9 / 100 * 1000 is
        # 999.0000000000001, whose ceiling would skip to the next sample.
        rank = max(1, math.ceil(Fraction(str(p)) * len(ordered) / 100))
        return timedelta(seconds=ordered[rank - 1])


class SlaReport(BaseModel):
    """The SLA figures of one tenant's handoffs opened in ``[since, until)``.

    Attributes:
        tenant: the tenant reported on.
        since: the cohort's lower bound (inclusive), if any.
        until: the cohort's upper bound (exclusive), if any.
        as_of: the moment outcomes were judged at.
        handoffs: how many handoffs the cohort holds.
        first_public_response: public post -> first public reply.
        private_handoff: opened -> first private message sent.
        resolved_in_time: resolved within 24 h of opening.
        resolution_judged: handoffs whose 24 h outcome is known by ``as_of``.
        closed: handoffs that reached a terminal state.
        abandoned: closed handoffs whose terminal state is ``abandoned``.
    """

    model_config = ConfigDict(frozen=True)

    tenant: str
    since: AwareDatetime | None
    until: AwareDatetime | None
    as_of: AwareDatetime
    handoffs: int
    first_public_response: DurationStats
    private_handoff: DurationStats
    resolved_in_time: int
    resolution_judged: int
    closed: int
    abandoned: int

    @property
    def resolved_within_24h(self) -> float | None:
        """Share (0..1) resolved within 24 h, of those judged; ``None`` when none is."""
        return self.resolved_in_time / self.resolution_judged if self.resolution_judged else None

    @property
    def abandonment_rate(self) -> float | None:
        """Share (0..1) of closed handoffs that were abandoned; ``None`` when none closed."""
        return self.abandoned / self.closed if self.closed else None


def sla_report(
    handoffs: Iterable[Handoff],
    events: Iterable[Event],
    *,
    as_of: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
    tenant: str | None = None,
) -> SlaReport:
    """Compute the SLA report of the handoffs opened in ``[since, until)``.

    Args:
        handoffs: candidate handoffs (others are filtered out by tenant and window,
            and those opened after ``as_of``).
        events: audit events; only those of the cohort's handoffs are read.
        as_of: when the outcomes are judged (normally the clock's now).
        since: cohort lower bound, inclusive.
        until: cohort upper bound, exclusive.
        tenant: the tenant; default that of the first handoff (or ``"default"``).

    Raises:
        InvalidInput: a bound that is not a datetime, ``since`` after ``until``, or a
            ``tenant`` that is not a non-empty string.
        NaiveDatetimeError: a bound or ``as_of`` without a time zone.
    """
    as_of, since, until = check_window(as_of, since, until)
    if tenant is not None:
        check_tenant(tenant)
    candidates = list(handoffs)
    tenant = tenant or (candidates[0].tenant if candidates else DEFAULT_TENANT)
    cohort = sorted(
        (
            handoff
            for handoff in candidates
            if handoff.tenant == tenant
            and (since is None or handoff.opened_at >= since)
            and (until is None or handoff.opened_at < until)
            # A report as of a past moment: a case opened after it did not exist yet.
            and handoff.opened_at <= as_of
        ),
        key=lambda handoff: (handoff.opened_at, handoff.id),
    )
    ids = {handoff.id for handoff in cohort}
    by_handoff: dict[str, list[Event]] = defaultdict(list)
    for event in events:
        if event.handoff_id in ids and event.tenant == tenant and event.at <= as_of:
            by_handoff[event.handoff_id].append(event)

    response: list[float] = []
    private: list[float] = []
    in_time = judged = closed = abandoned = 0
    for handoff in cohort:
        history = sorted(by_handoff.get(handoff.id, ()), key=lambda e: (e.at, e.seq or 0))
        start = _response_clock_start(handoff, history)
        replied = _first(history, _is_public_reply)
        if replied is not None:
            response.append(_seconds(start, replied.at))
        terminal = _first(history, _is_terminal)
        sent_at = _went_private_at(history, terminal)
        if sent_at is not None:
            private.append(_seconds(handoff.opened_at, sent_at))
        if terminal is not None:
            closed += 1
            abandoned += terminal.data.get("to") == HandoffState.ABANDONED.value
        deadline = handoff.opened_at + RESOLUTION_WINDOW
        resolved = terminal is not None and terminal.data.get("to") == HandoffState.RESOLVED.value
        if resolved and terminal is not None and terminal.at <= deadline:
            in_time += 1
            judged += 1
        elif as_of >= deadline or terminal is not None:
            judged += 1  # late, or closed otherwise: the 24 h outcome is known
    return SlaReport(
        tenant=tenant,
        since=since,
        until=until,
        as_of=as_of,
        handoffs=len(cohort),
        first_public_response=_stats(response, len(cohort)),
        private_handoff=_stats(private, len(cohort)),
        resolved_in_time=in_time,
        resolution_judged=judged,
        closed=closed,
        abandoned=abandoned,
    )


def check_window(
    as_of: datetime, since: datetime | None, until: datetime | None
) -> tuple[datetime, datetime | None, datetime | None]:
    """Validate a report's moments and return them in UTC.

    Raises:
        InvalidInput: a moment that is not a datetime, or ``since`` after ``until``.
        NaiveDatetimeError: a datetime without a time zone.
    """
    checked: list[datetime | None] = []
    for what, value in (("as_of", as_of), ("since", since), ("until", until)):
        checked.append(None if value is None else aware_datetime(value, what))
    aware_as_of, aware_since, aware_until = checked
    if aware_as_of is None:
        raise InvalidInput("as_of is required")
    if aware_since is not None and aware_until is not None and aware_since > aware_until:
        raise InvalidInput("since must not be after until")
    return aware_as_of, aware_since, aware_until


def _seconds(start: datetime, end: datetime) -> float:
    # Two workers' clocks can disagree by a little: an event logged before the
    # step that caused it came no later than that step, and a negative
    # duration would pull a median below zero.
    return max(0.0, (end - start).total_seconds())


def _is_terminal(event: Event) -> bool:
    return event.kind == "handoff.transition" and event.data.get("to") in _TERMINAL


def _is_public_reply(event: Event) -> bool:
    # A Meta private reply goes through the publisher too, but only its author sees it.
    return event.kind == "public_reply.posted" and not event.data.get("private")


def _is_private_message(event: Event) -> bool:
    return (
        event.kind == "message.sent" and event.data.get("template") not in KEYWORD_REPLY_TEMPLATES
    )


def _went_private_at(history: list[Event], terminal: Event | None) -> datetime | None:
    """When the case's first own private message that reached the customer was sent.

    Not a message the carrier reported undelivered (unless it had reported it
    delivered first, as the engine assumes too): the case fell back or failed. A
    send held for an unknown outcome and confirmed later (``reconciled``) went
    when it was held. Only what went before ``terminal``: a closed case's sends
    are cancelled, so what it sends after closing answers a keyword (its events
    from before templates were recorded name none).
    """
    closed = len(history) if terminal is None else history.index(terminal)
    held: dict[object, int] = {}
    lost: set[object] = set()
    arrived: set[object] = set()
    for index, event in enumerate(history):
        row = event.data.get("outbox_id")
        if row is None:
            continue
        if event.kind == "message.held":
            held.setdefault(row, index)
        elif event.kind == "message.undelivered":
            lost.add(row)
        elif event.kind == "message.status" and event.data.get("delivery_status") == "delivered":
            arrived.add(row)
    went = [
        held.get(row, index) if event.data.get("reconciled") else index
        for index, event in enumerate(history)
        if _is_private_message(event)
        and ((row := event.data.get("outbox_id")) not in lost or row in arrived)
    ]
    first = min((index for index in went if index < closed), default=None)
    return None if first is None else history[first].at


def _response_clock_start(handoff: Handoff, history: Sequence[Event]) -> datetime:
    start = min(handoff.thread.posted_at, handoff.opened_at)
    opened = _first(history, lambda e: e.kind == "handoff.opened")
    previous = opened.data.get("previous_closed_at") if opened is not None else None
    if isinstance(previous, str) and start < datetime.fromisoformat(previous):
        # The thread's first post, not the one that reopened it: when that one came
        # is unknown, and the escalation is the earliest time known to follow it.
        return handoff.opened_at
    return start


def _first(history: Sequence[Event], match: _Match) -> Event | None:
    return next((event for event in history if match(event)), None)


def _stats(samples: list[float], cohort: int) -> DurationStats:
    return DurationStats(samples=tuple(samples), missing=cohort - len(samples))
