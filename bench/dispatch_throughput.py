"""P3: outbox dispatch throughput against a 100 ms provider, and pacing under a rate limit.

A real local HTTP stub (127.0.0.1, threaded, Nagle off) sleeps LATENCY per request
and answers 429 when more than LIMIT requests arrive within any 1-second window
(when a limit is set). A small Transport reaches it over http.client, one
keep-alive connection per worker thread. The outbox lives in SQLiteStore (WAL).

Run 1 (no pacing): N sends with concurrency C; throughput as a share of the
Little's-law limit C / LATENCY (640/s for 64 and 100 ms). Target >= 90%. It is a
steady-state figure: a first, unmeasured run of C sends on its own store pays the
one-time costs (imports on first use, pydantic's first validations), as the
raw pool pays none of its own. The raw pool and the outbox run side by side in
ROUNDS pairs (a noisy spell of the host hits both); medians are reported, and
every round's share.
Run 2 (pacing at LIMIT/s, stub limit LIMIT): largest count the stub saw in any
1-second window (target <= LIMIT) and the number of 429s (target 0).

    .venv/bin/python bench/dispatch_throughput.py [--sends 2000] [--concurrency 64] [--rounds 5]
"""

from __future__ import annotations

import argparse
import http.client
import json
import multiprocessing
import os
import statistics
import tempfile
import threading
import time
from bisect import bisect_left
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from multiprocessing.connection import Connection
from pathlib import Path

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    Escalator,
    Handoff,
    HandoffState,
    Identity,
    OutboundMessage,
    Pacer,
    RetryableTransportError,
    SendResult,
    Thread,
    UnknownOutcomeError,
)
from escalate._ids import new_id, new_reference
from escalate.consent._making import make_consent_record
from escalate.consent._policy import ConsentPolicy
from escalate.consent._records import ConsentAction, Purpose
from escalate.store import Changes, OutboxItem, SQLiteStore
from escalate.workflow._commands import SendMessage


class Stub:
    """The provider: sleeps, counts arrivals, rate-limits over a sliding 1-second window.

    It runs in a child process, as a real provider would be elsewhere: its own
    request parsing must not compete for this process's GIL with the code measured.
    """

    def __init__(self, latency: float, limit: int | None) -> None:
        parent, child = multiprocessing.Pipe()
        self.process = multiprocessing.Process(
            target=_serve, args=(latency, limit, child), daemon=True
        )
        self.process.start()
        self.port = int(parent.recv())

    def stats(self) -> tuple[list[float], int]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        conn.request("GET", "/stats")
        data = json.loads(conn.getresponse().read())
        conn.close()
        return data["arrivals"], data["rejected"]

    def close(self) -> None:
        self.process.terminate()
        self.process.join()


def max_in_window(arrivals: list[float], window: float = 1.0) -> int:
    """The largest number of arrivals in any half-open window of ``window`` seconds."""
    times = sorted(arrivals)
    return max((bisect_left(times, t + window) - i for i, t in enumerate(times)), default=0)


def _serve(latency: float, limit: int | None, pipe: Connection) -> None:
    arrivals: list[float] = []  # accepted requests' arrival times
    recent: list[float] = []
    rejected = [0]
    lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True

        def do_GET(self) -> None:
            with lock:
                body = json.dumps({"arrivals": arrivals, "rejected": rejected[0]}).encode()
            self._answer(200, body)

        def do_POST(self) -> None:
            self.rfile.read(int(self.headers.get("Content-Length", "0")))
            now = time.monotonic()
            with lock:
                recent[:] = [t for t in recent if t > now - 1.0]
                recent.append(now)
                limited = limit is not None and len(recent) > limit
                if limited:
                    rejected[0] += 1
                else:
                    arrivals.append(now)
            time.sleep(latency)
            if limited:
                self._answer(429, b'{"code":20429}', retry_after="1")
            else:
                self._answer(201, b'{"sid":"SM1"}')

        def _answer(self, status: int, body: bytes, retry_after: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if retry_after:
                self.send_header("Retry-After", retry_after)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            """Quiet."""

    ThreadingHTTPServer.request_queue_size = 256
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    pipe.send(server.server_address[1])
    server.serve_forever()


class HTTPTransport:
    """A minimal SMS transport over http.client, one keep-alive connection per thread."""

    name = "stub"
    channels = frozenset({Channel.SMS})
    sender = "+14155550000"

    def __init__(self, port: int) -> None:
        self.port = port
        self._local = threading.local()

    def send(self, message: OutboundMessage) -> SendResult:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = self._local.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        body = json.dumps({"To": message.to.value, "Body": message.body, "Id": message.id})
        try:
            conn.request("POST", "/Messages.json", body, {"Content-Type": "application/json"})
            response = conn.getresponse()
            payload = response.read()
        except OSError as exc:
            self._local.conn = None
            raise UnknownOutcomeError(str(exc), provider=self.name) from exc
        if response.status == 429:
            retry_after = float(response.getheader("Retry-After", "1"))
            raise RetryableTransportError("429", provider=self.name, retry_after=retry_after)
        return SendResult(provider=self.name, provider_message_id=json.loads(payload)["sid"])

    def close(self) -> None:
        """Connections close with their threads."""


def queue(store: SQLiteStore, count: int) -> None:
    """Write ``count`` consented handoffs, each with one due SMS, in one commit."""
    now = datetime.now(UTC)  # noqa: TID251 - a benchmark, not the library
    handoffs, consent, outbox = [], [], []
    # Drawn as the engine would (again on a clash): 2**30 codes, one batch commit.
    references: set[str] = set()
    while len(references) < count:
        references.add(new_reference())
    for index, reference in zip(range(count), references, strict=True):
        phone = Identity.phone(f"+1415555{index % 10000:04d}")
        handoff = Handoff(
            id=new_id("ho"),
            reference=reference,
            thread=Thread(
                platform="x",
                thread_id=str(10_000 + index),
                author=Identity.social("x", str(index + 1)),
                text="where is my order",
                posted_at=now,
            ),
            state=HandoffState.CONNECTED,
            opened_at=now,
            updated_at=now,
        )
        handoffs.append(handoff)
        consent.append(
            make_consent_record(
                tenant="default",
                address=phone,
                purpose="transactional",
                action=ConsentAction.GRANT,
                evidence=ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text me"),
                at=now,
                handoff_id=handoff.id,  # a transactional grant is tied to the request
            )
        )
        outbox.append(
            OutboxItem(
                id=new_id("ob"),
                handoff_id=handoff.id,
                idempotency_key=f"{handoff.id}:1:0",
                command=SendMessage(
                    channel=Channel.SMS, to=phone, body=f"Case {handoff.reference}: we are on it."
                ),
                due_at=now,
                created_at=now,
            )
        )
    store.commit(Changes(handoffs=handoffs, consent=consent, outbox=outbox))


def run(
    sends: int, concurrency: int, latency: float, pace: float | None, margin: float = 0.05
) -> dict[str, float]:
    stub = Stub(latency, int(pace) if pace else None)
    with tempfile.TemporaryDirectory() as tmp:
        store = SQLiteStore(Path(tmp) / "bench.db")
        queue(store, sends)
        esc = Escalator(
            store,
            transports=[HTTPTransport(stub.port)],
            concurrency=concurrency,
            pacer=Pacer({"stub": pace}, margin=margin) if pace else None,
            dispatch_immediately=False,
            # The bench measures dispatch, at whatever hour it runs: no quiet hours.
            consent_policy=ConsentPolicy(quiet_hours={Purpose.TRANSACTIONAL: None}),
        )
        started = time.perf_counter()
        report = esc.run_due(limit=500)
        elapsed = time.perf_counter() - started
        esc.close()
    arrivals, rejected = stub.stats()
    stub.close()
    return {
        "sent": report.sent,
        "retried": report.retried,
        "held": report.held,
        "seconds": elapsed,
        "per_second": report.sent / elapsed,
        "max_in_1s": max_in_window(arrivals),
        "rejected_429": rejected,
    }


def run_raw(sends: int, concurrency: int, latency: float) -> float:
    """The baseline: the same transport and stub, a bare thread pool, no outbox."""
    stub = Stub(latency, None)
    transport = HTTPTransport(stub.port)
    phone = Identity.phone("+14155550100")
    messages = [
        OutboundMessage(
            id=f"ob_{i}", idempotency_key=str(i), channel=Channel.SMS, to=phone, body="Case K7QP-3M"
        )
        for i in range(sends)
    ]
    started = time.perf_counter()
    with ThreadPoolExecutor(concurrency) as pool:
        list(pool.map(transport.send, messages))
    elapsed = time.perf_counter() - started
    stub.close()
    return sends / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sends", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=64)
    parser.add_argument("--latency", type=float, default=0.100)
    parser.add_argument("--pace", type=float, default=50.0, help="pacing limit (msg/s)")
    parser.add_argument("--paced-sends", type=int, default=500)
    parser.add_argument("--margin", type=float, default=0.05, help="Pacer jitter margin (s)")
    parser.add_argument("--rounds", type=int, default=5, help="raw/outbox pairs; medians")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    limit = args.concurrency / args.latency
    run(args.concurrency, args.concurrency, args.latency, None)  # warm-up, not measured
    raws, frees = [], []
    for _ in range(args.rounds):  # side by side: a noisy spell hits both
        raws.append(run_raw(args.sends, args.concurrency, args.latency))
        free = run(args.sends, args.concurrency, args.latency, None)
        if free["sent"] != args.sends or free["held"] or free["rejected_429"]:
            raise SystemExit(f"the outbox run did not send every row once: {free}")
        frees.append(free["per_second"])
    raw, outbox = statistics.median(raws), statistics.median(frees)
    print(
        f"raw pool (baseline), median of {args.rounds}: {raw:.0f}/s = {raw / limit:.1%} of the"
        f" Little's-law limit {limit:.0f}/s; rounds {_shares(raws, limit)}"
    )
    print(
        f"outbox (SQLite WAL), median of {args.rounds}: {args.sends} sent each round,"
        f" {outbox:.0f}/s = {outbox / limit:.1%} of the limit (target >= 90%),"
        f" {outbox / raw:.1%} of the raw pool; rounds {_shares(frees, limit)}; held 0, 429s 0"
    )
    paced = run(args.paced_sends, args.concurrency, args.latency, args.pace, args.margin)
    print(
        f"paced at {args.pace:.0f}/s, margin {args.margin:.2f} s (stub limit {args.pace:.0f}/s):"
        f" {paced['sent']:.0f} sent in"
        f" {paced['seconds']:.2f} s = {paced['per_second']:.1f}/s; largest count in any 1-s"
        f" window {paced['max_in_1s']:.0f} (target <= {args.pace:.0f}); 429s"
        f" {paced['rejected_429']:.0f} (target 0); retried {paced['retried']:.0f}"
    )
    print(f"load average after: {os.getloadavg()}")


def _shares(rates: list[float], limit: float) -> str:
    return ", ".join(f"{rate / limit:.1%}" for rate in rates)


if __name__ == "__main__":
    main()
