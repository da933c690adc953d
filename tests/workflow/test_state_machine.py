"""The engine against random event streams: duplicates, reordering, late timers, failures.

Properties: every recorded transition is one the workflow declares (and none
leaves a terminal state), a thread has at most one open handoff, the opt-in
request reaches an address at most once per handoff, an agent's message reaches
the customer at most once and is never lost without a trace (a failed one goes
again later, or the helpdesk hears, even after its case closed), never before the
intro a fallback queued it behind nor any message it was queued to follow
(even one retried), a reminder never leaves within ``reminder_after`` of the
intro (time jumps up to four days between ``run_due()`` calls: a late
scheduler), an email opt-out whose sender is not authenticated revokes nothing
and declines no case, and every handoff ends in a terminal state once time runs far enough.
"""

from __future__ import annotations

import contextlib
import re
import shutil
import tempfile
from collections import Counter
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)

from escalate import (
    Channel,
    ConsentSource,
    ContactMerged,
    Escalator,
    Event,
    Identity,
    IdentityTaken,
    InboundMessage,
    InvalidRecipient,
    LinkSource,
    NotFound,
    PermanentTransportError,
    PublishedReply,
    RecipientOptedOut,
    RetryableTransportError,
    Thread,
    TransitionNotAllowed,
    UnknownOutcomeError,
    Workflow,
)
from escalate.store import MemoryStore, OutboxItem, SQLiteStore, Store
from escalate.testing import FakeClock, MemoryTransport, RecordingPublisher
from escalate.workflow import (
    TERMINAL_STATES,
    Notify,
    PublicReplyPosted,
    SendDeferred,
    SendFailed,
    SendMessage,
    TimerFired,
)
from escalate.workflow._inputs import input_kind
from escalate.workflow._reminder import SLACK
from tests.conftest import WEB_FORM_CONSENT, make_thread

THREADS = [("t1", "42"), ("t2", "42"), ("t3", "43")]
ADDRESSES = [
    Identity.phone("+14155550100"),
    Identity.phone("+14155550101"),
    Identity.email("jane@example.com"),
]
BODIES = ["YES", "yes", "STOP", "hello", "yes please", "START", "stop texting me"]
FAILURES = [
    InvalidRecipient("landline", provider="m", code="21614"),
    RecipientOptedOut("carrier opt-out", provider="m", code="21610"),
    RetryableTransportError("busy", provider="m", code="429"),
    UnknownOutcomeError("timeout", provider="m"),
]
#: What a platform may answer a public reply with (a deleted post, a busy API).
POST_FAILURES = [
    PermanentTransportError("post deleted", provider="x", code="404"),
    RetryableTransportError("busy", provider="x", code="503"),
]
WORKFLOWS = {flag: Workflow.default(brand="Acme", double_opt_in=flag) for flag in (False, True)}


class FailingPublisher(RecordingPublisher):
    """Posts like ``RecordingPublisher``, except the scripted failures, one per reply."""

    def __init__(self) -> None:
        super().__init__()
        self.failures: list[Exception] = []

    def reply(self, thread: Thread, text: str) -> PublishedReply:
        if self.failures:
            raise self.failures.pop(0)
        return super().reply(thread, text)


AGENT_NOTE = re.compile(r"Note (\d+) from the agent")
TIMER_NAMES = [*sorted(WORKFLOWS[False].timers), "unknown"]
REMINDER_AFTER = WORKFLOWS[False].settings["reminder_after"]
CLOSED = {state.value for state in TERMINAL_STATES}


def declared(workflow: Workflow) -> set[tuple[str, str, str]]:
    return {
        (state.value, input_kind(step.on), (step.target or state).value)
        for step in workflow.steps
        for state in step.sources
    }


class HandoffStreams(RuleBasedStateMachine):
    """Random inputs through the real Escalator; see the module docstring for the properties."""

    store_kind = "memory"

    def __init__(self) -> None:
        super().__init__()
        self.clock = FakeClock()
        self.sms = MemoryTransport()
        self.publisher = FailingPublisher()
        self.tmp: str | None = None
        self.handoff_ids: list[str] = []
        self.esc: Escalator | None = None
        self.written = 0

    def _store(self) -> Store:
        if self.store_kind == "sqlite":
            self.tmp = tempfile.mkdtemp()
            return SQLiteStore(Path(self.tmp) / "e.db")
        return MemoryStore()

    @initialize(immediate=st.booleans(), double_opt_in=st.booleans())
    def setup(self, immediate: bool, double_opt_in: bool) -> None:
        self.workflow = WORKFLOWS[double_opt_in]
        self.allowed = declared(self.workflow)
        self.esc = Escalator(
            self._store(),
            transports=[self.sms],
            clock=self.clock,
            workflow=self.workflow,
            dispatch_immediately=immediate,
            notifier=lambda handoff, notify: None,
            publisher=self.publisher,
        )

    @property
    def e(self) -> Escalator:
        assert self.esc is not None
        return self.esc

    def _pick(self, index: int) -> str:
        return self.handoff_ids[index % len(self.handoff_ids)]

    @rule(
        thread=st.sampled_from(THREADS),
        contact=st.none() | st.tuples(st.sampled_from(ADDRESSES), st.booleans()),
    )
    def open(self, thread: tuple[str, str], contact: tuple[Identity, bool] | None) -> None:
        """Open (or re-open) a thread, often with the customer answering at once."""
        handoff = self.e.open(make_thread(self.clock, thread_id=thread[0], user_id=thread[1]))
        if handoff.id not in self.handoff_ids:
            self.handoff_ids.append(handoff.id)
        if contact is not None:
            self.contact(self.handoff_ids.index(handoff.id), *contact, then=None)

    @precondition(lambda self: self.handoff_ids)
    @rule(
        index=st.integers(0, 9),
        address=st.sampled_from(ADDRESSES),
        consent=st.booleans(),
        then=st.none() | st.sampled_from(BODIES),
    )
    def contact(
        self, index: int, address: Identity, consent: bool, then: str | None = None
    ) -> None:
        """The customer gives an address, with or without consent, and may write from it."""
        with contextlib.suppress(TransitionNotAllowed):
            self.e.contact_provided(
                self._pick(index), address, consent=WEB_FORM_CONSENT if consent else None
            )
        if then is not None:
            self.inbound(address, then)

    @rule(address=st.sampled_from(ADDRESSES), body=st.sampled_from(BODIES))
    def inbound(self, address: Identity, body: str) -> None:
        channel = Channel.EMAIL if address.kind.value == "email" else Channel.SMS
        self.e.inbound(
            InboundMessage(channel=channel, sender=address, body=body, received_at=self.clock.now())
        )

    @rule(body=st.sampled_from(["STOP", "stop texting me", "unsubscribe"]))
    def forged_email_opt_out(self, body: str) -> None:
        """An opt-out "from" the email address that the receiving side could not authenticate."""
        address = ADDRESSES[2]
        revokes = self._revokes_by_reply(address)
        open_ids = [h for h in self.handoff_ids if self.e.handoffs.get(h).is_open]
        seen = {h: len(self.e.history(h)) for h in open_ids}
        self.e.inbound(
            InboundMessage(
                channel=Channel.EMAIL,
                sender=address,
                body=body,
                received_at=self.clock.now(),
                sender_authenticated=False,
            )
        )
        # A send the call dispatched may meet a provider's opt-out (a scripted
        # RecipientOptedOut): that revokes and declines, as it should; the forged
        # message itself must do neither.
        assert self._revokes_by_reply(address) == revokes, "a forged email opt-out revoked consent"
        for h in open_ids:
            moved = [e for e in self.e.history(h)[seen[h] :] if e.kind == "handoff.transition"]
            assert all(e.data["input"] != "opted_out" for e in moved), (
                "a forged email opt-out declined a case"
            )

    def _revokes_by_reply(self, address: Identity) -> int:
        return sum(
            r.action.value == "revoke" and r.source is ConsentSource.EMAIL_REPLY
            for r in self.e.consent.records(address)
        )

    @precondition(lambda self: self.handoff_ids)
    @rule(index=st.integers(0, 9), chance=st.integers(0, 3))
    def resolve(self, index: int, chance: int) -> None:
        """An agent resolves a case (one draw in four, so cases live long enough)."""
        if chance:
            return
        with contextlib.suppress(TransitionNotAllowed):
            self.e.resolve(self._pick(index))

    @rule(minutes=st.integers(0, 4 * 24 * 60))
    def advance(self, minutes: int) -> None:
        self.clock.advance(minutes=minutes)
        self.e.run_due()

    @rule(failure=st.sampled_from(FAILURES))
    def script_failure(self, failure: Exception) -> None:
        self.sms.fail_next(failure)

    @rule(failure=st.sampled_from(POST_FAILURES))
    def script_post_failure(self, failure: Exception) -> None:
        """The next public reply fails: refused for good, or busy (retried, maybe to exhaustion)."""
        self.publisher.failures.append(failure)

    @precondition(lambda self: self.handoff_ids)
    @rule(index=st.integers(0, 9), failures=st.lists(st.sampled_from(FAILURES), max_size=2))
    def agent_writes(self, index: int, failures: list[Exception]) -> None:
        """An agent answers a case (only a connected one takes it); every text is its own.

        Often the next send fails, so an agent's message meets every failure;
        and the one after it (a fallback's intro meeting a 429, say).
        """
        self.written += 1
        for failure in failures:
            self.sms.fail_next(failure)
        with contextlib.suppress(TransitionNotAllowed):
            self.e.send_message(self._pick(index), f"Note {self.written} from the agent")

    @precondition(lambda self: self.handoff_ids)
    @rule(index=st.integers(0, 9), address=st.sampled_from(ADDRESSES), unlink=st.booleans())
    def agent_edits_the_contact(self, index: int, address: Identity, unlink: bool) -> None:
        """An agent files another consented address for a case's customer, or unlinks one."""
        handoff = self.e.handoffs.get(self._pick(index))
        if handoff.contact_id is None:
            return
        if unlink:
            with contextlib.suppress(NotFound, ContactMerged):
                self.e.contacts.unlink(handoff.contact_id, address, actor="agent")
            return
        with contextlib.suppress(IdentityTaken):
            self.e.contacts.link(handoff.contact_id, address, LinkSource.AGENT_ENTERED)
            self.e.consent.grant(address, WEB_FORM_CONSENT, handoff_id=handoff.id)

    @precondition(lambda self: self.handoff_ids)
    @rule(index=st.integers(0, 9), name=st.sampled_from(TIMER_NAMES))
    def late_timer(self, index: int, name: str) -> None:
        self.e.engine.feed(self._pick(index), TimerFired(name=name))

    @precondition(lambda self: self.handoff_ids)
    @rule(index=st.integers(0, 9))
    def duplicate_reply_posted(self, index: int) -> None:
        self.e.engine.feed(self._pick(index), PublicReplyPosted(post_id="dup"))

    @precondition(lambda self: self.handoff_ids)
    @rule(
        index=st.integers(0, 9),
        channel=st.sampled_from([Channel.SMS, Channel.EMAIL]),
        agents=st.booleans(),
    )
    def late_send_failed(self, index: int, channel: Channel, agents: bool) -> None:
        """A failure reported late, of a templated message or of an agent's (never sent yet)."""
        message = None
        if agents:
            self.written += 1
            text = f"Note {self.written} from the agent"
            to = ADDRESSES[0] if channel is Channel.SMS else ADDRESSES[2]
            message = SendMessage(
                channel=channel,
                to=to,
                body=text,
                template=f"agent.{channel.value}",
                values={"text": text},
            )
        failed = SendFailed(channel=channel, reason="InvalidRecipient", message=message)
        self.e.engine.feed(self._pick(index), failed)

    @precondition(lambda self: self.handoff_ids)
    @rule(
        index=st.integers(0, 9),
        template=st.sampled_from(["intro.sms", "opt_in.sms", "reminder.sms", None]),
        hours=st.integers(0, 12),
    )
    def late_send_deferred(self, index: int, template: str | None, hours: int) -> None:
        deferred = SendDeferred(
            channel=Channel.SMS,
            template=template,
            not_before=self.clock.now() + timedelta(hours=hours),
        )
        self.e.engine.feed(self._pick(index), deferred)

    @invariant()
    def only_declared_transitions(self) -> None:
        if self.esc is None:
            return
        for handoff_id in self.handoff_ids:
            previous = None
            for event in self.e.history(handoff_id):
                if event.kind != "handoff.transition":
                    continue
                data = event.data
                assert (data["from"], data["input"], data["to"]) in self.allowed, data
                assert previous is None or data["from"] == previous, (previous, data)
                # A closed case may still hear news (and tell the helpdesk), never move.
                assert data["from"] not in CLOSED or data["to"] == data["from"], data
                previous = data["to"]

    @invariant()
    def one_open_handoff_per_thread(self) -> None:
        if self.esc is None:
            return
        open_threads = Counter(
            handoff.thread.thread_id
            for handoff in map(self.e.handoffs.get, self.handoff_ids)
            if handoff.is_open
        )
        assert all(count == 1 for count in open_threads.values()), open_threads

    @invariant()
    def opt_in_request_at_most_once(self) -> None:
        if self.esc is None:
            return
        attempted = Counter(
            (row.handoff_id, row.command.to)
            for row in self.e.store.outbox(self.e.tenant)
            if isinstance(row.command, SendMessage)
            and row.command.opt_in_request
            and row.status.value in ("done", "held", "claimed")
        )
        assert all(count == 1 for count in attempted.values()), attempted

    @invariant()
    def agent_messages_reach_the_customer_at_most_once(self) -> None:
        if self.esc is None:
            return
        notes = Counter(
            note for message in self.sms.sent for note in AGENT_NOTE.findall(message.body)
        )
        assert all(count == 1 for count in notes.values()), notes

    @invariant()
    def no_agent_message_is_lost_without_a_trace(self) -> None:
        """Each agent's message that failed, or was cancelled with its case, goes again, or
        gets its own ``notify.undelivered``: even after the case closed."""
        if self.esc is None:
            return
        rows = self.e.store.outbox(self.e.tenant)
        for handoff_id in self.handoff_ids:
            mine = [row for row in rows if row.handoff_id == handoff_id]
            agents = {row.id: row for row in mine if _agent_text(row)}
            history = self.e.history(handoff_id)
            lost = 0
            for at, event in enumerate(history):
                row = agents.get(event.data.get("outbox_id", ""))
                if row is None or not _a_failure(event):
                    continue
                # What the workflow made of it: the transition its failure caused.
                outcome = next(
                    (e for e in history[at:] if e.kind in ("handoff.transition", "input.ignored")),
                    None,
                )
                assert outcome is not None, event.data  # it never heard
                assert outcome.kind == "handoff.transition", (event.data, outcome.data)
                if outcome.data["to"] == "connected":
                    assert any(
                        _agent_text(other) == _agent_text(row) and _version(other) > _version(row)
                        for other in agents.values()
                    ), outcome.data
                else:
                    assert outcome.data["to"] in CLOSED, outcome.data
                    lost += 1
            told = [o for o in mine if isinstance(o.command, Notify)]
            assert sum(o.command.topic == "undelivered" for o in told) >= lost  # type: ignore[union-attr]

    @invariant()
    def a_reminder_leaves_a_day_after_the_intro(self) -> None:
        """No reminder leaves less than ``reminder_after`` (less the slack) after an intro
        queued before it: a late ``run_due()`` does not send them together."""
        if self.esc is None:
            return
        queued = {row.id: row.created_at for row in self.e.store.outbox(self.e.tenant)}
        for handoff_id in self.handoff_ids:
            intros: list[tuple[datetime, datetime]] = []  # (queued, left), as they left
            for event in self.e.history(handoff_id):
                template = str(event.data.get("template") or "")
                if event.kind != "message.sent" or not template:
                    continue
                row_queued = queued[event.data["outbox_id"]]
                if template.startswith("intro."):
                    intros.append((row_queued, event.at))
                elif template.startswith("reminder."):
                    gaps = [event.at - left for at, left in intros if at <= row_queued]
                    assert all(gap >= REMINDER_AFTER - SLACK for gap in gaps), gaps

    @invariant()
    def nothing_overtakes_what_it_follows(self) -> None:
        if self.esc is None:
            return
        sent: dict[str, int] = {}
        for position, message in enumerate(self.sms.sent):
            sent.setdefault(message.id, position)
        rows = self.e.store.outbox(self.e.tenant)
        for row in rows:
            if row.after is not None and row.id in sent and row.after in sent:
                assert sent[row.after] < sent[row.id], row.id
        # The user's view: a fallback's carried message never before its intro.
        intros = {
            (row.handoff_id, _version(row), row.command.to): row.id
            for row in rows
            if isinstance(row.command, SendMessage)
            and (row.command.template or "").startswith("intro.")
        }
        for row in rows:
            if _agent_text(row) is None or row.id not in sent:
                continue
            assert isinstance(row.command, SendMessage)
            intro = intros.get((row.handoff_id, _version(row), row.command.to))
            if intro is not None and intro in sent:
                assert sent[intro] < sent[row.id], (intro, row.id)

    def teardown(self) -> None:
        if self.esc is not None:
            try:
                for _ in range(20):  # 60 days: past every timer of the default workflow
                    self.clock.advance(days=3)
                    self.e.run_due()
                states = {h: self.e.handoffs.get(h).state for h in self.handoff_ids}
                assert all(state in TERMINAL_STATES for state in states.values()), states
                # The reminders sent on the way, by a scheduler three days late each time.
                self.a_reminder_leaves_a_day_after_the_intro()
            finally:
                self.e.close()
        if self.tmp:
            shutil.rmtree(self.tmp, ignore_errors=True)


def _agent_text(row: OutboxItem) -> str | None:
    command = row.command
    if isinstance(command, SendMessage) and (command.template or "").startswith("agent."):
        return command.values["text"]
    return None


def _a_failure(event: Event) -> bool:
    """Whether ``event`` settles a row as not reaching the customer, for its case to hear
    (no report here says a message was delivered: every failure of one is the case's)."""
    if event.kind == "message.cancelled":
        return event.data.get("reason") in ("address_unlinked", "handoff_closed")
    return event.kind in ("message.failed", "message.refused", "message.undelivered")


def _version(row: OutboxItem) -> int:
    """The version of the transition that queued ``row`` (its idempotency key says)."""
    return int(row.idempotency_key.rsplit(":", 2)[1])


class SQLiteHandoffStreams(HandoffStreams):
    store_kind = "sqlite"


TestHandoffStreams = HandoffStreams.TestCase
TestHandoffStreams.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestSQLiteHandoffStreams = SQLiteHandoffStreams.TestCase
TestSQLiteHandoffStreams.settings = settings(max_examples=10, stateful_step_count=20, deadline=None)


def test_a_provider_opt_out_met_during_a_forged_email_opt_out_is_no_forgery() -> None:
    """Found by a long run: the inbound call dispatched the fallback's email intro, which
    met a scripted provider opt-out. That revoked and declined, rightly; the check took
    it for the forged message's doing."""
    machine = HandoffStreams()
    machine.setup(immediate=True, double_opt_in=True)
    machine.open(contact=(ADDRESSES[2], True), thread=("t1", "42"))
    machine.late_send_failed(agents=False, channel=Channel.EMAIL, index=0)
    machine.open(contact=(ADDRESSES[0], False), thread=("t1", "42"))
    machine.agent_writes(failures=[RecipientOptedOut("carrier opt-out")], index=0)
    machine.late_send_failed(agents=False, channel=Channel.SMS, index=1)
    machine.forged_email_opt_out(body="STOP")
    sources = [r.source for r in machine.e.consent.records(ADDRESSES[2])]
    assert ConsentSource.PROVIDER_EVENT in sources
    assert ConsentSource.EMAIL_REPLY not in sources
    machine.teardown()


def test_every_default_timer_has_an_exit() -> None:
    """Sanity: the workflow under test declares the four default timers."""
    assert set(TIMER_NAMES) == {"first_response_sla", "reminder", "abandon", "idle", "unknown"}


pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.NonInteractiveExampleWarning")
