"""A fault-injecting stand-in for Twilio's and SendGrid's send endpoints, on 127.0.0.1.

It answers ``POST /2010-04-01/Accounts/<sid>/Messages.json`` like Twilio (201 and a
message resource) and ``POST /v3/mail/send`` like SendGrid (202 and ``X-Message-Id``),
unless a scripted ``Fault`` says otherwise: the providers' own error shapes
(Twilio 21211/21610/21614, 429 with Retry-After, 500, 503), a slow answer, an answer
that never comes (the client times out after sending), or a connection dropped
before the answer. It logs every request it received, so a test can count
duplicates on the provider's side. Benches reuse it (``latency`` for a slow provider).
"""

from __future__ import annotations

import itertools
import json
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs

__all__ = [
    "Fault",
    "Received",
    "StubServer",
    "sendgrid_error",
    "twilio_error",
]

TWILIO_MESSAGES = "/Messages.json"
SENDGRID_SEND = "/v3/mail/send"


@dataclass(frozen=True)
class Fault:
    """How to answer one request instead of accepting it.

    ``status``/``body``/``headers`` make an error response; ``delay`` waits first;
    ``hang`` never answers (until the server stops) so the client times out after
    sending; ``drop`` closes the connection without a response.
    """

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    hang: bool = False
    drop: bool = False


def twilio_error(code: int, status: int = 400, **headers: str) -> Fault:
    """Twilio's error body: ``{"code", "message", "more_info", "status"}``."""
    return Fault(
        status=status,
        body={
            "code": code,
            "message": f"stub error {code}",
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": status,
        },
        headers={name.replace("_", "-"): value for name, value in headers.items()},
    )


def sendgrid_error(status: int, message: str = "stub error", field_: str | None = None) -> Fault:
    """SendGrid's error body: ``{"errors": [{"message", "field", "help"}]}``."""
    return Fault(
        status=status, body={"errors": [{"message": message, "field": field_, "help": None}]}
    )


@dataclass(frozen=True)
class Received:
    """One request the stub read: its path, form fields (Twilio) or JSON (SendGrid)."""

    method: str
    path: str
    headers: dict[str, str]
    form: dict[str, str]
    json: Any
    at: float


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Without it every response waits ~40 ms for a delayed ACK (see specs/README.md).
    disable_nagle_algorithm = True
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet: the stub's log is ``StubServer.received``."""

    def do_POST(self) -> None:
        stub = self.server.stub
        length = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(length) if length else b""
        form: dict[str, str] = {}
        body: Any = None
        if "json" in (self.headers.get("Content-Type") or ""):
            body = json.loads(raw or b"null")
        else:
            form = {key: values[-1] for key, values in parse_qs(raw.decode()).items()}
        stub.record(Received("POST", self.path, dict(self.headers), form, body, time.monotonic()))
        fault = stub.next_fault()
        if stub.latency:
            time.sleep(stub.latency)
        if fault is not None:
            if fault.delay:
                time.sleep(fault.delay)
            if fault.hang:
                stub.stopping.wait(30)
                self.close_connection = True
                return
            if fault.drop:
                self.close_connection = True
                self.connection.close()
                return
            self._answer(fault.status, fault.body, fault.headers)
            return
        if self.path.endswith(TWILIO_MESSAGES):
            self._answer(201, stub.twilio_message(form))
        elif self.path == SENDGRID_SEND:
            self._answer(202, None, {"X-Message-Id": stub.next_id("sg")})
        else:
            self._answer(404, {"code": 20404, "message": "not found", "status": 404})

    def _answer(self, status: int, body: Any, headers: dict[str, str] | None = None) -> None:
        payload = b"" if body is None else json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(payload)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(payload)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    stub: StubServer


class StubServer:
    """Run with ``with StubServer() as stub:``; ``stub.url`` is its origin.

    Args:
        latency: seconds every answer waits (a slow provider).
    """

    def __init__(self, latency: float = 0.0) -> None:
        self.latency = latency
        self.received: list[Received] = []
        self.stopping = threading.Event()
        self._faults: deque[Fault] = deque()
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def script(self, *faults: Fault) -> None:
        """Answer the next requests with these faults, in order; then accept again."""
        with self._lock:
            self._faults.extend(faults)

    def next_fault(self) -> Fault | None:
        with self._lock:
            return self._faults.popleft() if self._faults else None

    def record(self, request: Received) -> None:
        with self._lock:
            self.received.append(request)

    def next_id(self, prefix: str) -> str:
        with self._lock:
            return f"{prefix}{next(self._ids):032x}"

    def twilio_message(self, form: dict[str, str]) -> dict[str, Any]:
        return {
            "sid": self.next_id("SM"),
            "status": "queued",
            "to": form.get("To"),
            "from": form.get("From"),
            "messaging_service_sid": form.get("MessagingServiceSid"),
            "body": form.get("Body"),
            "num_segments": "1",
            "error_code": None,
        }

    def clear(self) -> None:
        with self._lock:
            self.received.clear()
            self._faults.clear()

    def start(self) -> StubServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> StubServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def main() -> None:
    """Serve in its own process (benches: keeps the stub off the client's GIL).

    Prints the stub's URL, then serves until standard input closes.
    """
    import argparse
    import sys

    parser = argparse.ArgumentParser(description="escalate's fault-injecting provider stub")
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    with StubServer(latency=args.latency) as stub:
        print(stub.url, flush=True)
        sys.stdin.read()
        print(len(stub.received), flush=True)


if __name__ == "__main__":
    main()
