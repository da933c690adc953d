"""``Scenario``: drive one customer's handoff through a workflow, in words a test can read.

A scenario wires an ``Escalator`` with a ``FakeClock``, a store (memory by
default, SQLite on request), a ``MemoryTransport`` and a ``RecordingPublisher``,
then offers the customer's and the agent's verbs (``post_publicly``,
``customer_provides``, ``customer_texts``, ``agent_resolves``), time
(``advance`` moves the clock the way a scheduler would and runs what is due),
and assertions about what was sent.

Strictness, after respx: every private message the transport accepted must be
examined by an ``assert_sent`` before the scenario ends; ``assert_nothing_more_sent``
checks that now; ``verify()`` runs it when a ``with`` block ends normally and at
the ``escalate_scenario`` fixture's teardown (unless ``strict=False``).
Public replies and helpdesk notifications are recorded but not strict.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterable
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import TracebackType

from escalate._escalator import Escalator
from escalate._exceptions import InvalidInput
from escalate._identity import Identity
from escalate._messages import InboundMessage, OutboundMessage
from escalate._models import DEFAULT_TENANT, Channel, Event, Handoff, HandoffState, Thread
from escalate.consent._records import ConsentEvidence, ConsentSource
from escalate.retry import RetryPolicy
from escalate.social._publisher import PublishedReply, RecordingPublisher
from escalate.store import OutboxItem, OutboxStatus, Store
from escalate.testing._clock import FakeClock, as_step, later
from escalate.testing._events import CapturedEvents, capture_events
from escalate.testing._sends import SendChecks, memory_transports
from escalate.testing._stepping import run_until, run_while_due
from escalate.transports._base import Transport
from escalate.transports.memory import MemoryTransport
from escalate.workflow._commands import Notify, SendMessage
from escalate.workflow._definition import Workflow
from escalate.workflow._engine import DispatchReport

__all__ = ["SCENARIO_START", "WEB_FORM_CONSENT", "Scenario"]

#: A Tuesday, 17:00 UTC: daytime from California to Central Europe, so sends are
#: inside business and quiet hours for the usual test numbers, now and 24 h later.
SCENARIO_START = datetime(2026, 3, 10, 17, 0, tzinfo=UTC)

#: The consent evidence ``customer_provides(..., consent=True)`` records.
WEB_FORM_CONSENT = ConsentEvidence(
    source=ConsentSource.WEB_FORM,
    text="Text or email me about this case. Msg & data rates may apply. Reply STOP to opt out.",
)


class Scenario:
    """One customer's handoff, driven step by step.

    Args:
        workflow: the workflow under test (default ``Workflow.default()``).
        store: ``"memory://"`` (default), ``"sqlite"`` (a fresh SQLite file in a
            temporary directory, removed by ``close``), any store URL, or a ``Store``.
        start: the clock's start, aware (default ``SCENARIO_START``).
        clock: a ``FakeClock`` to drive instead of a new one (the plugin passes its
            ``fake_clock`` fixture, so both are one clock); not with ``start``.
        transports: replace the one ``MemoryTransport`` (e.g. two, or a
            ``FallbackTransport`` over two, to test fallback); ``sent`` then lists
            what every ``MemoryTransport`` among them (or inside a
            ``FallbackTransport``) accepted, in the order they accepted it, and
            ``transport`` is the only one (refused when there are several). At
            least one is required: the assertions read nothing else.
        tenant: the tenant every record belongs to.
        retry: the retry policy for retryable send failures (default ``RetryPolicy()``).
        region: the region for phone numbers written without a country code.
        show_bodies: print message bodies in assertion failures. Off by default:
            bodies are personal data, and failures end up in CI logs.
        strict: whether ``verify()`` fails on private sends no ``assert_sent``
            examined; it runs when a ``with Scenario(...)`` block ends normally and
            at the ``escalate_scenario`` fixture's teardown.
    """

    def __init__(
        self,
        workflow: Workflow | None = None,
        *,
        store: str | Store = "memory://",
        start: datetime | None = None,
        clock: FakeClock | None = None,
        transports: Iterable[Transport] | None = None,
        tenant: str = DEFAULT_TENANT,
        retry: RetryPolicy | None = None,
        region: str = "US",
        show_bodies: bool = False,
        strict: bool = True,
    ) -> None:
        if clock is not None and start is not None:
            raise InvalidInput("Scenario takes start= or clock=, not both")
        if clock is not None and not isinstance(clock, FakeClock):
            raise InvalidInput(
                f"Scenario(clock=...) drives a FakeClock, not {type(clock).__name__}"
            )
        # Checked before the temporary directory exists: a refused call leaves nothing.
        self.clock = clock if clock is not None else FakeClock(start or SCENARIO_START)
        self.transports: tuple[Transport, ...] = (
            tuple(transports) if transports is not None else (MemoryTransport(),)
        )
        self._memories = list(dict.fromkeys(memory_transports(self.transports)))
        if not self._memories:
            # Nothing to read: every assert_nothing_more_sent would pass, whatever was sent.
            raise InvalidInput(
                "Scenario(transports=...) needs a MemoryTransport among them (or inside a"
                " FallbackTransport): its assertions read what those accepted"
            )
        self._tmpdir: Path | None = None
        if store == "sqlite":
            self._tmpdir = Path(tempfile.mkdtemp(prefix="escalate-scenario-"))
            store = f"sqlite:///{self._tmpdir / 'escalate.db'}"
        self.publisher = RecordingPublisher()
        self.notifications: list[Notify] = []
        try:  # Escalator checks its arguments before it opens the store
            self.esc = Escalator(
                store,
                transports=self.transports,
                workflow=workflow or Workflow.default(),
                publisher=self.publisher,
                clock=self.clock,
                tenant=tenant,
                retry=retry,
                notifier=lambda _handoff, notify: self.notifications.append(notify),
            )
        except BaseException:  # refused: no temporary directory is left behind
            if self._tmpdir is not None:
                shutil.rmtree(self._tmpdir, ignore_errors=True)
            raise
        self.region = region
        self._sends = SendChecks(self.transports, region=region, show_bodies=show_bodies)
        self.strict = strict
        self.phone: Identity | None = None
        self.email: Identity | None = None
        self._handoff_id: str | None = None
        self._threads = 0

    # -- the customer's and the agent's verbs -------------------------------------

    def post_publicly(
        self,
        text: str = "my order never arrived and nobody answers",
        *,
        platform: str = "x",
        user_id: str = "2244994945",
        handle: str | None = "jane_d",
        thread_id: str | None = None,
    ) -> Handoff:
        """The customer complains publicly and the post is escalated; returns the handoff."""
        self._threads += 1
        thread = Thread(
            platform=platform,
            thread_id=thread_id or f"post-{self._threads}",
            author=Identity.social(platform, user_id, handle),
            text=text,
            posted_at=self.clock.now(),
        )
        handoff = self.esc.open(thread)
        self._handoff_id = handoff.id
        return handoff

    def customer_provides(
        self,
        *,
        phone: str | None = None,
        email: str | None = None,
        consent: bool | ConsentEvidence = True,
    ) -> Handoff:
        """The customer gives a phone number or an email, with consent (web-form evidence) or not.

        Raises:
            InvalidInput: neither or both of ``phone`` and ``email``, or no handoff yet.
        """
        if (phone is None) == (email is None):
            raise InvalidInput("customer_provides() takes exactly one of phone= or email=")
        handoff_id = self._require_handoff()
        identity = (
            Identity.phone(phone, region=self.region)
            if phone is not None
            else Identity.email(str(email))
        )
        evidence = WEB_FORM_CONSENT if consent is True else (consent or None)
        handoff = self.esc.contact_provided(handoff_id, identity, consent=evidence)
        # Remembered only once accepted, so a refused call changes nothing.
        if phone is not None:
            self.phone = identity
        else:
            self.email = identity
        return handoff

    def customer_texts(self, body: str, *, sender: str | None = None) -> Handoff | None:
        """An SMS from the customer's phone (or ``sender``); returns the handoff it reached."""
        return self._inbound(Channel.SMS, body, sender, self.phone)

    def customer_emails(self, body: str, *, sender: str | None = None) -> Handoff | None:
        """An email from the customer's address (or ``sender``); returns the handoff it reached."""
        return self._inbound(Channel.EMAIL, body, sender, self.email)

    def agent_resolves(self, reason: str = "resolved") -> Handoff:
        """An agent closes the case."""
        return self.esc.resolve(self._require_handoff(), reason=reason)

    def _inbound(
        self, channel: Channel, body: str, sender: str | None, known: Identity | None
    ) -> Handoff | None:
        if sender is not None:
            known = (
                Identity.phone(sender, region=self.region)
                if channel is Channel.SMS
                else Identity.email(sender)
            )
        if known is None:
            raise InvalidInput(
                f"no {channel.value} address for the customer: call customer_provides() "
                "first, or pass sender="
            )
        message = InboundMessage(
            channel=channel, sender=known, body=body, received_at=self.clock.now()
        )
        return self.esc.inbound(message)

    # -- time -----------------------------------------------------------------------

    def advance(self, delta: timedelta | None = None, **units: float) -> DispatchReport:
        """Let time pass as if a scheduler ran ``run_due()`` continuously.

        The clock stops at every timer and deferred send that comes due on the way,
        in order, and runs what is due there; so a timer started when another fires
        is due relative to that instant, not to the end of the jump.
        """
        target = later(self.clock.now(), as_step(delta, units))
        if target < self.clock.now():
            raise InvalidInput("a scenario's time only moves forward")
        return run_until(self.esc, self.clock, target)

    def run_due(self) -> DispatchReport:
        """Run what is due now, until nothing more is (a fired timer may queue a send).

        Raises:
            AssertionError: still busy after 1,000 rounds at one instant: a timer
                that restarts itself at ``ctx.now``.
        """
        return run_while_due(self.esc, self.clock)

    # -- what happened --------------------------------------------------------------

    @property
    def handoff(self) -> Handoff:
        """The current handoff, as stored now."""
        return self.esc.handoffs.get(self._require_handoff())

    @property
    def state(self) -> HandoffState:
        return self.handoff.state

    @property
    def reference(self) -> str:
        """The handoff's reference code, e.g. ``K7QP-3M``."""
        return self.handoff.reference

    @property
    def transport(self) -> MemoryTransport:
        """The scenario's ``MemoryTransport``: with ``transports=``, the one among them.

        Raises:
            InvalidInput: ``transports=`` holds several (which one would be a guess:
                script and read them through your own references).
        """
        if len(self._memories) > 1:
            raise InvalidInput(
                f"this scenario has {len(self._memories)} MemoryTransports: use your own"
                " references to them (scenario.sent lists what they all accepted)"
            )
        return self._memories[0]

    @property
    def sent(self) -> list[OutboundMessage]:
        """Private messages the transports accepted, oldest first."""
        return self._sends.all()

    @property
    def public_replies(self) -> list[str]:
        """The texts of the public replies posted."""
        return [reply.text for reply in self.publisher.replies]

    @property
    def published(self) -> list[PublishedReply]:
        """The public replies posted, with their platform and post ids."""
        return list(self.publisher.replies)

    @property
    def queued(self) -> list[OutboxItem]:
        """Private sends waiting in the outbox (deferred, or scheduled for a retry)."""
        return [
            row
            for row in self.esc.store.outbox(self.esc.tenant)
            if row.status is OutboxStatus.PENDING and isinstance(row.command, SendMessage)
        ]

    @property
    def outbox(self) -> list[OutboxItem]:
        """Every outbox row of the tenant: sent, queued, held, failed, refused."""
        return self.esc.store.outbox(self.esc.tenant)

    @property
    def history(self) -> list[Event]:
        """The current handoff's audit events, oldest first."""
        return self.esc.history(self._require_handoff())

    def capture_events(
        self, *, own_kinds: Iterable[str] = ()
    ) -> AbstractContextManager[CapturedEvents]:
        """``with scenario.capture_events() as events:``, on this scenario's escalator."""
        return capture_events(self.esc, own_kinds=own_kinds)

    # -- assertions -----------------------------------------------------------------

    def assert_sent(
        self,
        count: int = 1,
        *,
        channel: Channel | str | None = None,
        to: str | Identity | None = None,
        containing: str | None = None,
    ) -> list[OutboundMessage]:
        """Exactly ``count`` not-yet-examined sends match; they become examined.

        ``to`` is an ``Identity`` or an address as a customer types it, read like
        ``customer_provides`` reads it (``"(415) 555-0142"``, ``"Jane@Example.com"``).

        Sends that do not match stay unexamined, for a later ``assert_sent`` (or a
        failing ``assert_nothing_more_sent``). Returns the matching messages.
        A bad argument (``channel="fax"``) raises ``InvalidInput``, not "found 0".
        """
        return self._sends.assert_sent(count, channel=channel, to=to, containing=containing)

    def assert_nothing_more_sent(self) -> None:
        """Every send so far has been examined by an ``assert_sent``."""
        self._sends.assert_nothing_more_sent()

    def verify(self) -> None:
        """The end-of-scenario check: with ``strict``, no send may go unexamined."""
        if self.strict:
            self.assert_nothing_more_sent()

    @property
    def show_bodies(self) -> bool:
        """Whether assertion failures print message bodies (personal data) or only sizes."""
        return self._sends.show_bodies

    @show_bodies.setter
    def show_bodies(self, value: bool) -> None:
        self._sends.show_bodies = value

    def _require_handoff(self) -> str:
        if self._handoff_id is None:
            raise InvalidInput("no handoff yet: call post_publicly() first")
        return self._handoff_id

    # -- lifecycle ------------------------------------------------------------------

    def close(self) -> None:
        """Close the escalator (store, transports) and remove a temporary SQLite file."""
        self.esc.close()
        if self._tmpdir is not None:
            shutil.rmtree(self._tmpdir, ignore_errors=True)
            self._tmpdir = None

    def __enter__(self) -> Scenario:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close; when the block ended normally, ``verify()`` first (respx's mock does the same)."""
        try:
            if exc_type is None:
                self.verify()
        finally:
            self.close()

    def __repr__(self) -> str:
        return (
            f"Scenario(workflow={self.esc.workflow!r}, at={self.clock.now().isoformat()}, "
            f"sent={len(self.sent)})"
        )
