"""Start and stop Prism (the OpenAPI mock server) on 127.0.0.1 for the contract tests.

Prism is installed by ``npm ci`` in ``tests/contract/`` (see ``.ci/run``); the
providers' specs live in ``../shared/specs/`` beside the repository.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections import deque
from pathlib import Path

__all__ = ["CONTRACT_DIR", "SPECS", "Prism", "missing"]

ROOT = Path(__file__).resolve().parents[2]
CONTRACT_DIR = ROOT / "tests" / "contract"
SPECS = ROOT.parent / "shared" / "specs"
PRISM_BIN = CONTRACT_DIR / "node_modules" / ".bin" / "prism"


def missing(spec: str) -> str | None:
    """Why Prism cannot run against ``spec`` here, or ``None`` if it can."""
    if shutil.which("npx") is None:
        return "npx (node) is not installed"
    if not PRISM_BIN.exists():
        return f"Prism is not installed: run `npm ci` in {CONTRACT_DIR.relative_to(ROOT)}"
    if not (SPECS / spec).exists():
        return f"spec {spec} not found in {SPECS}"
    return None


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Prism:
    """One ``prism mock`` process; ``url`` is its origin once ``start`` returns."""

    def __init__(self, spec: str) -> None:
        self.spec = SPECS / spec
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.output: deque[str] = deque(maxlen=200)
        self._listening = threading.Event()
        self._process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 60.0) -> Prism:
        command = ["npx", "--no", "--", "@stoplight/prism-cli", "mock"]
        command += ["-h", "127.0.0.1", "-p", str(self.port), str(self.spec)]
        self._process = subprocess.Popen(
            command,
            cwd=CONTRACT_DIR,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            text=True,
            start_new_session=True,  # its own process group, so stop() ends node too
        )
        threading.Thread(target=self._drain, daemon=True).start()
        deadline = time.monotonic() + timeout
        while not self._listening.wait(0.1):
            if self._process.poll() is not None or time.monotonic() > deadline:
                self.stop()
                tail = "\n".join(list(self.output)[-20:])
                raise RuntimeError(f"Prism did not start on {self.spec.name}:\n{tail}")
        return self

    def _drain(self) -> None:
        assert self._process is not None
        assert self._process.stdout is not None
        for line in self._process.stdout:
            self.output.append(line.rstrip())
            if "Prism is listening" in line:
                self._listening.set()

    def stop(self) -> None:
        if self._process is None or self._process.poll() is not None:
            return
        os.killpg(self._process.pid, signal.SIGTERM)
        try:
            self._process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=10)
