"""Several OS processes dispatch one SQLite file: is anything sent twice, or lost?

What `escalate` workers on one machine do. One process opens HANDOFFS cases and
records each customer's consent with dispatch_immediately=False, so every public
reply and intro text stays queued. Then WORKERS processes (multiprocessing,
spawn; CONCURRENCY dispatch threads each) run ``run_due()`` in a loop on the
same file, while an intake process opens ARRIVALS more cases (queued too) and a
desk process acts on the cases as a webhook handler and a helpdesk would:
customers reply (``esc.inbound``, not retried: a provider does not retry an
incoming message), agents write and resolve (verbs that dispatch at once; they
decide again themselves when a worker moved the case, and a ``ConcurrentUpdate``
that still reaches the desk is retried and counted). Reminders and
abandonments come due meanwhile. At random moments a worker is killed with
SIGKILL and started again (KILLS), or stopped with SIGSTOP for longer than a
lease and continued (PAUSES): its claims lapse under it.

The processes share a clock (``FileClock``: an int64 in a memory-mapped file,
advanced by the parent SPEED times faster than real time), so leases (2 min),
retries and timers come due during a run of seconds. Every provider call, post
and helpdesk notice is appended, as it happens, to a log file of the process
that made it (one ``write`` of a whole line, O_APPEND: a SIGKILL loses no line
already written). The fake provider accepts, refuses retryably (RETRY_RATE) or
times out after sending (UNKNOWN_RATE) at random. After the run the parent moves
the clock past every lease and retry until nothing is due or claimed.

Then ``multiprocess_check.check``: every outbox row is settled; a row sent
(``done``) was handed to its provider exactly once, a ``held`` one at most once
(and is listed by ``esc.outbox.held()``), any other row never; no idempotency
key went out twice; a thread got as many public replies as it has posted rows,
the helpdesk as many notices as notified rows (one repeated after a lapsed
claim is counted apart: docs/delivery.md); no reminder claimed after the
customer's reply had committed was sent; no error reached a worker or the
webhook (a ``database is locked`` above all); ``esc.verify_log()`` verifies.
Exit status 1 and the list of problems otherwise.

    PYTHONPATH=src .venv/bin/python bench/multiprocess_dispatch.py [--handoffs 2000]
        [--arrivals 1000] [--workers 4] [--concurrency 1] [--seconds 30] [--kills 2]
        [--pauses 1] [--speed 50] [--directory DIR (kept, with every log)]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import random
import signal
import sqlite3
import sys
import tempfile
import time
from collections import Counter
from dataclasses import asdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from multiprocess_check import Result, check
from multiprocess_roles import (
    LEASE,
    START,
    Config,
    FileClock,
    desk,
    intake,
    setup,
    worker,
    workflow,
)

from escalate import Escalator
from escalate.store import SQLiteStore
from escalate.store._sqlite_identity import ts


def run(config: Config) -> Result:
    """Set up, run the processes, kill and restart one, drain, and check."""
    result = Result(config=asdict(config))
    clock = FileClock.create(config.clock, START)
    started = time.monotonic()
    cases = setup(config)
    result.setup_seconds = time.monotonic() - started
    context = multiprocessing.get_context("spawn")
    processes: dict[str, multiprocessing.process.BaseProcess] = {}

    def start(name: str) -> None:
        target: Any = worker
        processes[name] = context.Process(target=target, args=(config, name), name=name)
        processes[name].start()

    incarnation: Counter[str] = Counter()
    for index in range(config.workers):
        start(f"w{index}-0")
    helpers = [
        context.Process(target=desk, args=(config, cases), name="desk"),
        context.Process(target=intake, args=(config,), name="intake"),
    ]
    for helper in helpers:
        helper.start()
    rng = random.Random(config.seed)
    # Faults at random moments of the run's middle 80%, kills and pauses mixed.
    faults = sorted(
        [(rng.uniform(0.1, 0.9) * config.seconds, "kill") for _ in range(config.kills)]
        + [(rng.uniform(0.1, 0.9) * config.seconds, "pause") for _ in range(config.pauses)]
    )
    paused: list[tuple[float, str]] = []
    # A pause outlasts a lease in real time: its claims lapse under it.
    pause_for = LEASE.total_seconds() / config.speed * 1.5
    started = last = time.monotonic()
    tick = 0.005
    while (elapsed := time.monotonic() - started) < config.seconds or paused:
        time.sleep(tick)
        # By the time that passed, not by the tick: on a loaded host a sleep
        # overruns, and the shared clock would fall behind (no reminder fell
        # due in a 6-second run at load 9).
        now = time.monotonic()
        clock.advance(timedelta(seconds=(now - last) * config.speed))
        last = now
        if paused and elapsed >= paused[0][0]:
            os.kill(processes[paused.pop(0)[1]].pid or 0, signal.SIGCONT)
        if not faults or elapsed < faults[0][0]:
            continue
        fault = faults.pop(0)[1]
        stopped = {name for _, name in paused}
        victim = rng.choice(
            sorted(n for n, p in processes.items() if p.is_alive() and n not in stopped)
        )
        if fault == "pause":
            os.kill(processes[victim].pid or 0, signal.SIGSTOP)
            paused.append((elapsed + pause_for, victim))
            result.counts["pauses"] = result.counts.get("pauses", 0) + 1
            continue
        os.kill(processes[victim].pid or 0, signal.SIGKILL)
        processes[victim].join()
        result.kills += 1
        base = victim.rsplit("-", 1)[0]
        incarnation[base] += 1
        start(f"{base}-{incarnation[base]}")
    result.run_seconds = time.monotonic() - started
    for helper in helpers:
        helper.join(timeout=60)
    started = time.monotonic()
    quiet = _drain(config, clock)
    result.drain_seconds = time.monotonic() - started
    Path(config.stop).touch()
    for process in processes.values():
        process.join(timeout=60)
        if process.is_alive():
            result.problems.append(f"{process.name} did not stop")
            process.kill()
    if not quiet:
        result.problems.append("the store never went quiet: rows or timers stayed due")
    esc = Escalator(SQLiteStore(config.db), clock=clock, workflow=workflow())
    pauses = result.counts.get("pauses", 0)
    check(config.directory, esc, result)
    esc.close()
    result.counts["cases"] = config.handoffs + config.arrivals
    result.counts["pauses"] = pauses
    return result


def _drain(config: Config, clock: FileClock, *, patience: float = 120.0) -> bool:
    """Move the clock past every lease and pending row until nothing is due or claimed."""
    db = sqlite3.connect(config.db, timeout=60)
    deadline = time.monotonic() + patience
    clock.advance(LEASE + timedelta(seconds=1))  # the killed workers' claims lapse
    calm = 0
    while time.monotonic() < deadline:
        now = ts(clock.now())
        (busy,) = db.execute(
            "SELECT (SELECT COUNT(*) FROM outbox WHERE status = 'claimed')"
            " + (SELECT COUNT(*) FROM timers WHERE status = 'pending' AND due_at <= ?)",
            (now,),
        ).fetchone()
        (upcoming,) = db.execute(
            "SELECT MIN(due_at) FROM outbox WHERE status = 'pending'"
        ).fetchone()
        if busy == 0 and upcoming is not None and upcoming > now:
            clock.set(datetime.fromisoformat(upcoming))  # a retry's or a follower's time
            calm = 0
        elif busy == 0 and upcoming is None:
            calm += 1
            if calm >= 5:
                db.close()
                return True
        else:
            calm = 0
        time.sleep(0.05)
    db.close()
    return False


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    defaults = Config()
    for name in (
        "handoffs",
        "arrivals",
        "workers",
        "kills",
        "pauses",
        "concurrency",
        "batch",
        "seed",
    ):
        parser.add_argument(f"--{name}", type=int, default=getattr(defaults, name))
    floats = ("seconds", "speed", "latency", "retry_rate", "unknown_rate", "replies")
    for name in (*floats, "agent_messages", "resolves"):
        parser.add_argument(
            f"--{name.replace('_', '-')}", type=float, default=getattr(defaults, name)
        )
    parser.add_argument("--directory", default="", help="keep the files here (default: a temp dir)")
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="escalate-mp-") as scratch:
        directory = args.directory or scratch
        os.makedirs(directory, exist_ok=True)
        values = {k: v for k, v in vars(args).items()}
        values["directory"] = directory
        result = run(Config(**values))
    summary = asdict(result)
    summary["problems"] = summary["problems"][:50] + (
        [f"... {len(result.problems) - 50} more"] if len(result.problems) > 50 else []
    )
    json.dump(summary, sys.stdout, indent=2, default=str)
    print()
    print("OK" if result.ok else f"FAILED: {len(result.problems)} problems")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
