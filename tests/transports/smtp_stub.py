"""A scripted SMTP server on 127.0.0.1 for the SMTP adapter's fault tests.

It speaks just enough ESMTP (EHLO, AUTH PLAIN, MAIL, RCPT, DATA, QUIT) and lets a
test script one answer per stage: a reply code, ``"hang"`` (never answer) or
``"drop"`` (close the connection). ``messages`` holds every DATA it accepted,
``commands`` every command line as received (UTF-8 after ``SMTPUTF8``).
"""

from __future__ import annotations

import socketserver
import threading
from typing import Any

__all__ = ["SMTPStub"]


class _Handler(socketserver.StreamRequestHandler):
    server: _Server

    def reply(self, line: str) -> None:
        self.wfile.write(line.encode() + b"\r\n")
        self.wfile.flush()

    def scripted(self, stage: str, ok: str) -> bool:
        """Answer ``stage`` as scripted (or ``ok``); False when the connection is done."""
        action = self.server.stub.faults.pop(stage, None)
        if action == "hang":
            self.server.stub.stopping.wait(30)
            return False
        if action == "drop":
            return False
        self.reply(str(action) if action is not None else ok)
        return True

    def handle(self) -> None:
        stub = self.server.stub
        self.reply("220 stub ESMTP")
        while line := self.rfile.readline():
            command = line.decode().strip()
            verb = command.split(" ", 1)[0].upper()
            stub.log.append(verb)
            stub.commands.append(command)
            if verb in {"EHLO", "HELO"}:
                advertised = ["250-stub", "250-AUTH PLAIN"]
                if stub.advertise_starttls:
                    advertised.append("250-STARTTLS")
                if stub.advertise_smtputf8:
                    advertised.append("250-SMTPUTF8")
                self.wfile.write(("\r\n".join([*advertised, "250 8BITMIME"]) + "\r\n").encode())
                self.wfile.flush()
            elif verb == "AUTH":
                if not self.scripted("auth", "235 2.7.0 ok"):
                    return
            elif verb == "MAIL":
                if not self.scripted("mail", "250 ok"):
                    return
            elif verb == "RCPT":
                if not self.scripted("rcpt", "250 ok"):
                    return
            elif verb == "DATA":
                self.reply("354 go ahead")
                data = bytearray()
                while (chunk := self.rfile.readline()) not in (b".\r\n", b""):
                    data += chunk
                stub.messages.append(bytes(data))
                if not self.scripted("data", "250 2.0.0 Ok: queued as STUB1"):
                    return
            elif verb == "QUIT":
                self.reply("221 bye")
                return
            else:
                self.reply("502 not implemented")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True
    stub: SMTPStub


class SMTPStub:
    """Run with ``with SMTPStub() as smtp:``; connect to ``smtp.port`` on 127.0.0.1."""

    def __init__(
        self, *, advertise_starttls: bool = False, advertise_smtputf8: bool = False
    ) -> None:
        self.advertise_starttls = advertise_starttls
        self.advertise_smtputf8 = advertise_smtputf8
        self.faults: dict[str, Any] = {}
        self.messages: list[bytes] = []
        self.log: list[str] = []
        self.commands: list[str] = []
        self.stopping = threading.Event()
        self._server = _Server(("127.0.0.1", 0), _Handler)
        self._server.stub = self
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    def __enter__(self) -> SMTPStub:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stopping.set()
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
