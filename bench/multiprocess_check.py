"""The verdict of bench/multiprocess_dispatch.py: the store held against what every process logged.

Each process appended a line per provider call (``sms``: row id, idempotency key,
template, the row's status and claim time as the store had them at that moment,
and the outcome the fake provider chose), public post, helpdesk notice, verb and
error. ``check`` reads them all and the store, and lists every problem.
"""

from __future__ import annotations

import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from escalate import Escalator
from escalate.store import OutboxItem, OutboxStatus
from escalate.workflow import Notify, PostPublicReply, SendMessage

__all__ = ["Result", "check"]

#: What a desk verb may meet by design: a case its timer closed (abandoned)
#: refuses an agent's message or a resolve. A worker's run_due() raises nothing.
ALLOWED_ERRORS = ("desk TransitionNotAllowed",)


@dataclass
class Result:
    config: dict[str, Any]
    rows: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    setup_seconds: float = 0.0
    run_seconds: float = 0.0
    drain_seconds: float = 0.0
    sends: int = 0
    kills: int = 0
    problems: list[str] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)
    errors: dict[str, int] = field(default_factory=dict)
    warnings: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problems


def check(directory: str, esc: Escalator, result: Result) -> None:
    """Hold the store against the logs in ``directory``; add each problem to ``result``."""
    logged: defaultdict[str, list[dict[str, Any]]] = defaultdict(list)
    for path in sorted(Path(directory).glob("log-*.jsonl")):
        for text in path.read_text().splitlines():
            line = json.loads(text)
            logged[line["k"]].append(line)
    rows = esc.store.outbox(esc.tenant)
    result.rows = len(rows)
    result.statuses = dict(Counter(row.status.value for row in rows))
    result.counts = {kind: len(lines) for kind, lines in sorted(logged.items())}
    result.errors = dict(Counter(_error_key(error) for error in logged["error"]))
    result.warnings = dict(Counter(_warning_key(w["msg"]) for w in logged["warning"]))
    for error, count in result.errors.items():
        if not error.startswith(ALLOWED_ERRORS):
            result.problems.append(f"error reached a caller {count}x: {error}")
    _check_sends(esc, rows, logged, result)
    _check_posts_and_notices(esc, rows, logged, result)
    _check_reminders(logged, result)
    for event in esc.store.events(esc.tenant):
        if event.kind.endswith(".held"):
            name = f"{event.kind} ({event.data.get('reason', 'unknown outcome')})"
            result.counts[name] = result.counts.get(name, 0) + 1
    audit = esc.verify_log()
    if not audit.ok:
        result.problems.append(f"audit log does not verify: {audit}")


def _check_sends(
    esc: Escalator,
    rows: list[OutboxItem],
    logged: dict[str, list[dict[str, Any]]],
    result: Result,
) -> None:
    """Each row handed to the provider at most once, a sent one exactly once; nothing left."""
    problems = result.problems
    # Every call that may have reached the provider: accepted, or an unknown outcome.
    gone = [send for send in logged["sms"] if send["out"] != "retry"]
    result.sends = len(gone)
    per_row = Counter(send["id"] for send in gone)
    for key, count in Counter(send["key"] for send in gone).items():
        if count > 1:
            problems.append(f"idempotency key {key} sent {count} times")
    lapsed = 0
    for send in logged["sms"]:
        if send["status"] == "held":
            # Its worker stalled past the lease; the next claim held it. Once, still.
            lapsed += 1
        elif send["status"] != "claimed":
            problems.append(f"row {send['id']} handed to the transport while {send['status']}")
    result.counts["sent_after_lease_lapsed"] = lapsed
    held = {item.id for item in esc.outbox.held(limit=1_000_000)}
    result.counts["held"] = len(held)
    for row in rows:
        status = row.status
        if status in (OutboxStatus.PENDING, OutboxStatus.CLAIMED):
            problems.append(f"row {row.id} ({row.command.kind}) left {status.value}")
        elif status in (OutboxStatus.REFUSED, OutboxStatus.FAILED):
            # Every customer consented and nobody revokes; the provider never
            # refuses for good, and six retryable refusals in a row are unlikely.
            problems.append(f"row {row.id} ({row.command.kind}) {status.value}")
        if status is OutboxStatus.HELD and row.id not in held:
            problems.append(f"held row {row.id} is not listed by esc.outbox.held()")
        if not isinstance(row.command, SendMessage):
            continue
        sent = per_row.get(row.id, 0)
        if status is OutboxStatus.DONE and sent != 1:
            problems.append(f"row {row.id} is done but was handed over {sent} times")
        elif status is OutboxStatus.HELD and sent > 1:
            problems.append(f"held row {row.id} was handed over {sent} times")
        elif status not in (OutboxStatus.DONE, OutboxStatus.HELD) and sent:
            problems.append(f"row {row.id} is {status.value} but was handed over {sent}x")


def _check_posts_and_notices(
    esc: Escalator,
    rows: list[OutboxItem],
    logged: dict[str, list[dict[str, Any]]],
    result: Result,
) -> None:
    """As many public posts per thread as posted rows; as many notices as notified rows.

    A helpdesk notice is given again when its worker died between the notifier
    call and the row's settlement (the next claim finds the lapsed lease and
    runs it again, see docs/delivery.md): counted, on a row taken over so.
    """
    handoff_ids = sorted({row.handoff_id for row in rows if row.handoff_id})
    threads = {
        handoff.id: handoff.thread.thread_id
        for handoff in esc.store.get_handoffs(esc.tenant, handoff_ids).values()
    }
    posted: Counter[str] = Counter()
    held_posts: Counter[str] = Counter()
    notified: Counter[tuple[str, str]] = Counter()
    taken_over: set[tuple[str, str]] = set()
    for row in rows:
        command = row.command
        if isinstance(command, PostPublicReply):
            thread = threads[row.handoff_id or ""]
            if row.status is OutboxStatus.DONE:
                posted[thread] += 1
            elif row.status is OutboxStatus.HELD:
                held_posts[thread] += 1
        elif isinstance(command, Notify) and row.status is OutboxStatus.DONE:
            notified[(row.handoff_id or "", command.topic)] += 1
            if row.stale_claim:
                taken_over.add((row.handoff_id or "", command.topic))
    posts = Counter(post["thread"] for post in logged["post"])
    for thread in set(posts) | set(posted):
        if not posted[thread] <= posts[thread] <= posted[thread] + held_posts[thread]:
            result.problems.append(
                f"thread {thread}: {posts[thread]} public replies for {posted[thread]} posted rows"
            )
    notices = Counter((notice["h"], notice["topic"]) for notice in logged["notify"])
    repeated = 0
    for key in set(notices) | set(notified):
        if notices[key] == notified[key] + 1 and key in taken_over:
            repeated += 1
        elif notices[key] != notified[key]:
            result.problems.append(
                f"handoff {key[0]}: {notices[key]} {key[1]!r} notices for {notified[key]} rows"
            )
    result.counts["notices_repeated_after_kill"] = repeated


def _check_reminders(logged: dict[str, list[dict[str, Any]]], result: Result) -> None:
    """No reminder claimed after the customer's reply had committed was sent.

    The claim reads the handoff, which then shows the reply, so such a reminder
    is withdrawn. One claimed before the reply may still go (a text crossing a
    reply in the air): counted. The shared clock only moves forward, so a claim
    time after the reply's return time is a claim made after the reply.
    """
    replied = {reply["h"]: datetime.fromisoformat(reply["after"]) for reply in logged["reply"]}
    reminders = [
        send
        for send in logged["sms"]
        if send["out"] != "retry" and str(send["tpl"]).startswith("reminder")
    ]
    late = crossing = 0
    for send in reminders:
        answered = replied.get(send["h"])
        if answered is None or send["claimed_at"] is None:
            continue
        if datetime.fromisoformat(send["claimed_at"]) > answered:
            late += 1
            result.problems.append(f"reminder {send['id']} claimed after its case's reply, sent")
        elif datetime.fromisoformat(send["fake"]) >= answered:
            crossing += 1
    result.counts["reminders_sent"] = len(reminders)
    result.counts["reminders_claimed_after_reply"] = late
    result.counts["reminders_crossing_reply"] = crossing


def _error_key(error: dict[str, Any]) -> str:
    role = "worker" if error["who"].startswith("w") else error["who"]
    return f"{role} {error['type']}: {error['msg']}"


def _warning_key(message: str) -> str:
    # Row and handoff ids vary; what happened does not.
    return " ".join(word for word in message.split() if "_" not in word)
