"""P2: our Twilio adapter vs the raw SDK's ``client.messages.create``, against one local stub.

Both variants use the official twilio SDK over loopback to the same fault-free
stub (tests/transports/stub_server.py, in its own process so it does not compete
for our GIL), interleaved message by message in one process so machine noise
hits both alike. Figure: median per-message time of each, and
their ratio (target <= 1.05).

    .venv/bin/python bench/twilio_adapter.py [--messages 2000]
    .venv/bin/python bench/twilio_adapter.py --cpu   # this thread's CPU time, not wall time

``--cpu`` times each send in the calling thread's CPU time: it leaves out the
wait for the stub (the same for both) and what other processes take from a
loaded host, so the suite's short run is not at the mercy of the machine's load.
"""

from __future__ import annotations

import argparse
import re
import statistics
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from escalate import Channel, Identity, OutboundMessage
from escalate.transports.twilio import TwilioSMS

ROOT = Path(__file__).resolve().parents[1]
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
FROM = "+14155550101"
TO = "+14155550100"
BODY = "Hi, this is Acme about case K7QP-3M. Reply STOP to opt out."


class RewritingClient(TwilioHttpClient):
    """The specs README's recipe: the SDK's own client, sent to the stub instead of twilio.com."""

    def __init__(self, base_url: str) -> None:
        super().__init__(timeout=10)
        self.base_url = base_url

    def request(self, method, url, *args, **kwargs):
        url = re.sub(r"^https://[A-Za-z0-9.-]+\.twilio\.com", self.base_url, url)
        return super().request(method, url, *args, **kwargs)


def measure(
    messages: int, url: str, clock: Callable[[], float] = time.perf_counter
) -> tuple[float, float]:
    """Median seconds per message for (raw SDK, adapter), interleaved one by one."""
    raw = Client(ACCOUNT_SID, "token", http_client=RewritingClient(url))
    adapter = TwilioSMS(
        ACCOUNT_SID,
        "token",
        from_=FROM,
        base_url=url,
        status_callback="https://hooks.example/twilio/status",
    )
    to = Identity.phone(TO)

    def send_raw(i: int) -> None:
        raw.messages.create(
            to=TO,
            from_=FROM,
            body=BODY,
            status_callback=f"https://hooks.example/twilio/status?escalate_id=ob_{i}",
        )

    def send_adapter(i: int) -> None:
        # Building the OutboundMessage is part of the adapter's cost: the engine does it.
        adapter.send(
            OutboundMessage(
                id=f"ob_{i}", idempotency_key=f"k{i}", channel=Channel.SMS, to=to, body=BODY
            )
        )

    for i in range(50):  # warm both connection pools and code paths
        send_raw(i)
        send_adapter(i)
    timings: dict[str, list[float]] = {"raw": [], "adapter": []}
    variants = [("raw", send_raw), ("adapter", send_adapter)]
    for i in range(messages):
        # Alternate which goes first, so neither always follows the other.
        for name, send in variants if i % 2 else variants[::-1]:
            started = clock()
            send(i)
            timings[name].append(clock() - started)
    adapter.close()
    return statistics.median(timings["raw"]), statistics.median(timings["adapter"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=2000)
    parser.add_argument("--cpu", action="store_true", help="time sends in thread CPU time")
    args = parser.parse_args()
    # The stub runs in its own process so its threads do not compete for our GIL.
    stub = subprocess.Popen(
        [sys.executable, "-m", "tests.transports.stub_server"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert stub.stdin is not None
    assert stub.stdout is not None
    try:
        clock = time.thread_time if args.cpu else time.perf_counter
        raw, adapter = measure(args.messages, stub.stdout.readline().strip(), clock)
    finally:
        stub.stdin.close()
        received = stub.stdout.readline().strip()
        stub.wait(timeout=10)
    print(f"messages per variant: {args.messages} (+50 warm-up each); stub requests: {received}")
    print(f"timed in: {'thread CPU time' if args.cpu else 'wall time'}")
    print(f"raw client.messages.create: median {raw * 1e3:.3f} ms/message")
    print(f"TwilioSMS.send:             median {adapter * 1e3:.3f} ms/message")
    print(f"ratio adapter/raw: {adapter / raw:.3f} (target <= 1.05)")


if __name__ == "__main__":
    main()
