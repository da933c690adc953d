"""The processes of bench/multiprocess_dispatch.py, and the doubles they share.

``worker`` is an ``escalate worker``: run_due() in a loop. ``desk`` acts on the
cases as customers and agents would (replies, agent messages, resolutions);
``intake`` opens cases during the run. Each logs what it hands to the outside
world through a ``Journal``; ``FileClock`` is the one clock they all read.
"""

from __future__ import annotations

import ctypes
import json
import logging
import mmap
import os
import random
import sqlite3
import sys
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from pathlib import Path
from typing import Any, TypeVar

from escalate import (
    Channel,
    ConcurrentUpdate,
    ConsentEvidence,
    ConsentSource,
    Escalator,
    Handoff,
    Identity,
    InboundMessage,
    OutboundMessage,
    RetryableTransportError,
    SendResult,
    Thread,
    UnknownOutcomeError,
    Workflow,
)
from escalate.social import PublishedReply
from escalate.store import SQLiteStore

#: Monday 2026-01-05 18:00 UTC, 10:00 in San Francisco: hours before quiet hours.
START = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
LEASE = timedelta(minutes=2)  # the Engine's default
VERB_ATTEMPTS = 10
T = TypeVar("T")
CONSENT = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text me about my case")


def workflow() -> Workflow:
    """The default workflow with follow-ups short enough to come due during a run."""
    return Workflow.default(
        brand="Acme",
        reminder_after=timedelta(minutes=3),
        abandon_after=timedelta(minutes=4),
        idle_after=timedelta(minutes=3),
    )


class FileClock:
    """A clock every process shares: microseconds since 1970 in a memory-mapped file.

    A FakeClock lives in one process; this one is read by all and moved by one.
    The value is one aligned int64, loaded and stored whole (``struct`` would copy
    it byte by byte: a reader could see half of a carry, an hour in the past).
    """

    def __init__(self, path: str) -> None:
        self._file = open(path, "r+b")  # noqa: SIM115 - kept open for the map's life
        self._map = mmap.mmap(self._file.fileno(), 8)
        self._value = ctypes.c_int64.from_buffer(self._map)

    @classmethod
    def create(cls, path: str, when: datetime) -> FileClock:
        with open(path, "wb") as file:
            file.write(_micros(when).to_bytes(8, sys.byteorder, signed=True))
        return cls(path)

    def now(self) -> datetime:
        return EPOCH + timedelta(microseconds=self._value.value)

    def set(self, when: datetime) -> None:
        self._value.value = _micros(when)

    def advance(self, delta: timedelta) -> None:
        self.set(self.now() + delta)


def _micros(when: datetime) -> int:
    return (when - EPOCH) // timedelta(microseconds=1)


@dataclass(frozen=True)
class Config:
    handoffs: int = 2000
    workers: int = 4
    seconds: float = 30.0
    kills: int = 2
    #: Workers stopped (SIGSTOP) for longer than a lease, then continued: a GC
    #: pause or a stalled VM. Their claims lapse under them and are taken over.
    pauses: int = 1
    concurrency: int = 1
    #: Fake seconds per real second: leases (2 min) last 120 / SPEED real seconds.
    speed: float = 50.0
    latency: float = 0.002
    retry_rate: float = 0.03
    unknown_rate: float = 0.005
    replies: float = 0.3
    agent_messages: float = 0.1
    resolves: float = 0.03
    #: Cases opened during the run by an intake process (queued, not dispatched),
    #: so that workers have work throughout and a kill meets them mid-flow.
    arrivals: int = 1000
    batch: int = 20
    seed: int = 1
    directory: str = ""

    @property
    def db(self) -> str:
        return os.path.join(self.directory, "escalate.db")

    @property
    def clock(self) -> str:
        return os.path.join(self.directory, "clock")

    @property
    def stop(self) -> str:
        return os.path.join(self.directory, "stop")

    def log(self, name: str) -> str:
        return os.path.join(self.directory, f"log-{name}.jsonl")


class Journal:
    """Lines appended to one process's log, one ``write`` each (a SIGKILL loses no line)."""

    def __init__(self, path: str, who: str) -> None:
        self._fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
        self._who = who
        self._lock = threading.Lock()

    def write(self, kind: str, **data: Any) -> None:
        line = json.dumps({"k": kind, "who": self._who, **data}, default=str) + "\n"
        with self._lock:
            os.write(self._fd, line.encode())


class RecordingSMS:
    """The provider: logs every call, with the row as the store had it at that moment."""

    name = "recorder"
    channels = frozenset(Channel)

    def __init__(self, config: Config, journal: Journal, clock: FileClock, seed: int) -> None:
        self._config = config
        self._journal = journal
        self._clock = clock
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        # A connection of our own: what escalate's store says, read beside it.
        self._db = sqlite3.connect(config.db, timeout=60, check_same_thread=False)

    def send(self, message: OutboundMessage) -> SendResult:
        with self._lock:
            roll = self._random.random()
            status, lease_until, template = self._db.execute(
                "SELECT status, lease_until, json_extract(command, '$.template')"
                " FROM outbox WHERE id = ?",
                (message.id,),
            ).fetchone()
        outcome = (
            "retry"
            if roll < self._config.retry_rate
            else "unknown"
            if roll < self._config.retry_rate + self._config.unknown_rate
            else "ok"
        )
        self._journal.write(
            "sms",
            id=message.id,
            key=message.idempotency_key,
            h=message.handoff_id,
            tpl=template,
            status=status,
            claimed_at=None
            if lease_until is None
            else (datetime.fromisoformat(lease_until) - LEASE).isoformat(),
            fake=self._clock.now().isoformat(),
            out=outcome,
        )
        time.sleep(self._random.random() * self._config.latency)
        if outcome == "retry":
            raise RetryableTransportError("503", provider="recorder")
        if outcome == "unknown":
            raise UnknownOutcomeError("read timeout after send", provider="recorder")
        return SendResult(provider="recorder", provider_message_id=f"SM{message.id}")

    def close(self) -> None:
        self._db.close()


class RecordingPublisher:
    def __init__(self, journal: Journal) -> None:
        self._journal = journal

    def reply(self, thread: Thread, text: str) -> PublishedReply:
        self._journal.write("post", thread=thread.thread_id)
        return PublishedReply(
            platform=thread.platform, thread_id=thread.thread_id, post_id="p", text=text
        )


class _Warnings(logging.Handler):
    def __init__(self, journal: Journal) -> None:
        super().__init__(logging.WARNING)
        self._journal = journal

    def emit(self, record: logging.LogRecord) -> None:
        self._journal.write("warning", msg=record.getMessage())


def _escalator(config: Config, who: str, *, immediately: bool) -> tuple[Escalator, Journal]:
    journal = Journal(config.log(who), who)
    logging.getLogger("escalate").addHandler(_Warnings(journal))
    clock = FileClock(config.clock)
    esc = Escalator(
        SQLiteStore(config.db),
        transports=[RecordingSMS(config, journal, clock, seed=hash((config.seed, who)))],
        publisher=RecordingPublisher(journal),
        notifier=lambda handoff, notice: journal.write("notify", h=handoff.id, topic=notice.topic),
        clock=clock,
        workflow=workflow(),
        dispatch_immediately=immediately,
        concurrency=config.concurrency,
    )
    return esc, journal


def _retrying(journal: Journal, verb: Callable[[], T]) -> T:
    """A verb, tried again on ``ConcurrentUpdate`` ("reload and retry"), counted.

    The verbs outlast a worker's commit to the same case themselves (ten
    attempts, ``escalate/_conflicts.py``): a ``verb_retried`` line here means a
    case moved ten times during one call.
    """
    name = getattr(getattr(verb, "func", verb), "__name__", "verb")
    for _ in range(VERB_ATTEMPTS - 1):
        try:
            return verb()
        except ConcurrentUpdate:
            journal.write("verb_retried", verb=name)
    return verb()


def _error(journal: Journal, exc: BaseException) -> None:
    where = traceback.extract_tb(exc.__traceback__)[-6:]
    journal.write(
        "error",
        type=type(exc).__name__,
        msg=str(exc),
        where=[f"{Path(f.filename).name}:{f.lineno} {f.name}" for f in where],
    )


# -- the processes ------------------------------------------------------------------


def worker(config: Config, who: str) -> None:
    """An ``escalate worker``: run_due() until told to stop."""
    try:
        esc, journal = _escalator(config, who, immediately=False)
    except Exception as exc:  # opening under load is checked too
        _error(Journal(config.log(who), who), exc)
        raise
    journal.write("started", pid=os.getpid())
    while not os.path.exists(config.stop):
        try:
            report = esc.run_due(limit=config.batch)
        except Exception as exc:  # noqa: BLE001 - every error that reaches us is a finding
            _error(journal, exc)
            time.sleep(0.01)
            continue
        if report.idle:
            time.sleep(0.005)
    esc.close()
    journal.write("stopped")


def desk(config: Config, cases: list[tuple[str, str]]) -> None:
    """Customers and agents: replies, agent messages and resolutions, at random moments."""
    esc, journal = _escalator(config, "desk", immediately=True)
    rng = random.Random(config.seed)
    plan: list[tuple[float, str, str, str]] = []
    for handoff_id, phone in cases:
        for action, share in (
            ("reply", config.replies),
            ("agent", config.agent_messages),
            ("resolve", config.resolves),
        ):
            if rng.random() < share:
                plan.append((rng.random() * config.seconds, action, handoff_id, phone))
    plan.sort()
    started = time.monotonic()
    for at, action, handoff_id, phone in plan:
        while time.monotonic() - started < at:
            if os.path.exists(config.stop):
                return
            time.sleep(0.002)
        before = esc.clock.now()
        try:
            if action == "reply":
                message = InboundMessage(
                    channel=Channel.SMS,
                    sender=Identity.phone(phone),
                    body="the parcel came, but the box was crushed",
                    received_at=before,
                )
                # Not retried: a provider does not retry an incoming message.
                esc.inbound(message)
            elif action == "agent":
                _retrying(journal, partial(esc.send_message, handoff_id, "A new one goes today."))
            else:
                _retrying(journal, partial(esc.resolve, handoff_id))
        except Exception as exc:  # noqa: BLE001 - recorded, judged by check()
            _error(journal, exc)
            continue
        journal.write(action, h=handoff_id, before=before, after=esc.clock.now())
    journal.write("desk_done")
    esc.close()


def intake(config: Config) -> None:
    """New cases, evenly over the first 70% of the run, queued for the workers."""
    esc, journal = _escalator(config, "intake", immediately=False)
    started = time.monotonic()
    for n in range(config.handoffs, config.handoffs + config.arrivals):
        at = (n - config.handoffs) / config.arrivals * config.seconds * 0.7
        while time.monotonic() - started < at:
            time.sleep(0.002)
        try:
            _open_case(esc, n, journal)
        except Exception as exc:  # noqa: BLE001 - recorded, judged by check()
            _error(journal, exc)
    journal.write("intake_done")
    esc.close()


def _open_case(esc: Escalator, n: int, journal: Journal | None = None) -> tuple[str, str]:
    thread = Thread(
        platform="x",
        thread_id=str(10_000 + n),
        author=Identity.social("x", str(50_000 + n)),
        text="my order never came",
        posted_at=START,
    )
    handoff: Handoff = esc.open(thread)
    phone = f"+1415{5_550_000 + n:07d}"

    def provide() -> Handoff:
        return esc.contact_provided(handoff.id, Identity.phone(phone), consent=CONSENT)

    if journal is None:
        provide()
    else:
        _retrying(journal, provide)
    return handoff.id, phone


def setup(config: Config) -> list[tuple[str, str]]:
    """Open the cases and queue their intros; return (handoff id, phone) of each."""
    esc = Escalator(
        SQLiteStore(config.db),
        transports=[],
        clock=FileClock(config.clock),
        workflow=workflow(),
        dispatch_immediately=False,
    )
    cases = [_open_case(esc, n) for n in range(config.handoffs)]
    esc.close()
    return cases


# -- the run ------------------------------------------------------------------------
