"""``escalate demo``: one scripted handoff, start to finish, on a real SQLite file.

It drives the public API exactly as an integration would (``open``,
``contact_provided``, ``inbound``, ``resolve``) with console transports and a
scripted clock, then prints the handoff's timeline from its audit log. All
people, numbers and addresses in it are fictional (555-01xx is reserved).
"""

from __future__ import annotations

import io
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from rich.console import Console
from rich.table import Table

from escalate._escalator import Escalator
from escalate._identity import Identity
from escalate._messages import InboundMessage
from escalate._models import Channel, Event, Handoff, Thread
from escalate.consent._records import ConsentEvidence, ConsentSource
from escalate.social._publisher import RecordingPublisher
from escalate.store.sqlite import SQLiteStore
from escalate.testing._clock import FakeClock
from escalate.transports.console import ConsoleTransport
from escalate.workflow._definition import Workflow

__all__ = ["DemoResult", "run_demo"]

CONSENT_TEXT = (
    "Text me at this number about case updates from Acme. Msg & data rates may apply. "
    "Reply STOP to opt out."
)

_STEP_TITLES = {
    "handoff.opened": "public post escalated",
    "public_reply.posted": "public acknowledgement",
    "contact.linked": "identity linked",
    "consent.recorded": "consent captured",
    "message.sent": "private SMS sent",
    "reply.received": "customer replied",
    "message.refused": "send refused",
    "message.held": "send held",
}


@dataclass(frozen=True)
class DemoResult:
    """What the demo did, for callers (and tests) that want more than the printout."""

    handoff: Handoff
    events: list[Event]
    database: Path


def run_demo(console: Console, database: Path | None = None) -> DemoResult:
    """Run the scripted handoff and print its timeline to ``console``."""
    with tempfile.TemporaryDirectory(prefix="escalate-demo-") as tmp:
        path = database or Path(tmp) / "escalate.db"
        return _run(console, path)


def _run(console: Console, path: Path) -> DemoResult:
    clock = FakeClock(datetime(2026, 3, 10, 16, 2, tzinfo=UTC))
    start = clock.now()
    sent_lines = io.StringIO()
    publisher = RecordingPublisher()
    esc = Escalator(
        SQLiteStore(path),
        transports=[ConsoleTransport([Channel.SMS], stream=sent_lines, show_body=True)],
        publisher=publisher,
        clock=clock,
        workflow=Workflow.default(brand="Acme", contact_url="https://acme.example/help"),
    )
    with esc:
        console.print(f"[bold]escalate demo[/bold]: one handoff on SQLite at {path}\n")
        thread = Thread(
            platform="x",
            thread_id="1897001122334455",
            author=Identity.social("x", "2244994945", "jane_d"),
            text="@acme my order #4471 never arrived and support hasn't answered in 3 days",
            posted_at=clock.now(),
            url="https://x.com/jane_d/status/1897001122334455",
        )
        _say(console, clock.now() - start, "public post", f"@jane_d on X: {thread.text!r}")
        handoff = esc.open(thread)
        _say(console, clock.now() - start, "public reply", repr(publisher.replies[-1].text))

        clock.advance(minutes=4)
        phone = Identity.phone("(415) 555-0142", region="US")
        consent = ConsentEvidence(
            source=ConsentSource.WEB_FORM, text=CONSENT_TEXT, ip="203.0.113.7"
        )
        # The consent page signed the visitor in with X: only the thread's author
        # may give the case a number (its link was in a public reply).
        signed_in = Identity.social("x", "2244994945")
        handoff = esc.contact_provided(handoff.id, phone, consent=consent, author=signed_in)
        _say(console, clock.now() - start, "contact", f"{phone} with consent (web form)")
        _say(console, clock.now() - start, "private SMS", sent_lines.getvalue().strip())

        clock.advance(minutes=3)
        esc.inbound(
            InboundMessage(
                channel=Channel.SMS,
                sender=phone,
                body="Thanks! The order number is 4471, delivery to my office.",
                received_at=clock.now(),
                provider="console",
            )
        )
        _say(console, clock.now() - start, "reply", "the customer answered by SMS")

        clock.advance(minutes=25)
        handoff = esc.resolve(handoff.id, reason="replacement shipped")
        _say(console, clock.now() - start, "resolved", "replacement shipped")

        events = esc.history(handoff.id)
        console.print()
        console.print(_timeline(events, start))
        console.print(
            f"\nReference code: [bold]{handoff.reference}[/bold]   "
            f"final state: [bold]{handoff.state.value}[/bold]   audit events: {len(events)}"
        )
        return DemoResult(handoff=handoff, events=events, database=path)


def _say(console: Console, offset: object, step: str, detail: str) -> None:
    console.print(f"[dim]+{offset}[/dim]  [bold]{step:<13}[/bold] {detail}", highlight=False)


def _timeline(events: list[Event], start: datetime) -> Table:
    table = Table(title="Audit log", title_justify="left")
    table.add_column("t+", justify="right")
    table.add_column("event")
    table.add_column("detail")
    for event in events:
        if event.kind == "handoff.transition":
            title = f"{event.data['from']} -> {event.data['to']}"
            detail = str(event.data["reason"])
        else:
            title = _STEP_TITLES.get(event.kind, event.kind)
            detail = ", ".join(
                f"{key}={value}"
                for key, value in event.data.items()
                if key not in {"outbox_id", "record_id", "attempt"} and value is not None
            )
        table.add_row(str(event.at - start), title, detail)
    return table
