"""The examples and the docs' code blocks run as written."""

from __future__ import annotations

import ast
import base64
import re
import runpy
from datetime import UTC, datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = sorted((ROOT / "examples").glob("*.py"))
DOCS = [*sorted((ROOT / "docs").glob("*.md")), ROOT / "README.md"]


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda path: path.name)
def test_example_runs(path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Each example script runs to completion."""
    runpy.run_path(str(path), run_name="__main__")
    assert capsys.readouterr().out


@pytest.mark.parametrize("path", DOCS, ids=lambda path: path.name)
def test_doc_python_blocks_run(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```python block in the docs runs (one namespace per page); ```py sketches compile.

    ```py marks a sketch that needs credentials or a live service (a provider's
    constructor, say): it compiles here, and ``test_doc_sketches_run`` runs it
    with stand-ins for what it leaves out.
    """
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, object] = {"__name__": f"docs.{path.stem}"}
    text = path.read_text()
    for sketch in re.findall(r"```py\n(.*?)```", text, re.S):
        compile(sketch, str(path), "exec")
    for block in re.findall(r"```python\n(.*?)```", text, re.S):
        exec(compile(block, str(path), "exec"), namespace)


SKETCHED = [
    page
    for page in [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
    if "```py\n" in page.read_text()
]


def sketch_namespace(monkeypatch: pytest.MonkeyPatch) -> dict[str, object]:
    """What a ```py sketch leaves to the reader: credentials, a thread, consent, transports.

    The providers' sends are replaced by a recording stub: a sketch runs end to
    end with no network, so its names, arguments and calls are checked for real.
    """
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from escalate import Channel, ConsentEvidence, ConsentSource, Identity, Thread
    from escalate.testing import MemoryTransport
    from escalate.transports import SendResult
    from escalate.transports.sendgrid import SendGridEmail
    from escalate.transports.twilio import TwilioSMS

    key = ec.generate_private_key(ec.SECP256R1()).public_key()
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    public_key = base64.b64encode(der).decode()
    for name, value in {
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "test-token",
        "TWILIO_FROM_NUMBER": "+14155550101",
        "SENDGRID_API_KEY": "SG.test",
        "SENDGRID_FROM_EMAIL": "help@acme.example",
        "SENDGRID_WEBHOOK_PUBLIC_KEY": public_key,
        "SENDGRID_PARSE_PUBLIC_KEY": public_key,
    }.items():
        monkeypatch.setenv(name, value)
    sent: list[object] = []

    def accept(transport: object, message: object) -> SendResult:
        sent.append(message)
        return SendResult(provider=getattr(transport, "name", "stub"), provider_message_id="m1")

    monkeypatch.setattr(TwilioSMS, "send", accept)
    monkeypatch.setattr(SendGridEmail, "send", accept)
    return {
        "__name__": "sketch",
        "sent": sent,
        "account_sid": "AC" + "0" * 32,
        "auth_token": "test-token",
        "api_key": "SG.test",
        "thread": Thread(
            platform="x",
            thread_id="1897001122334455",
            author=Identity.social("x", "2244994945", handle="jane_d"),
            text="@acme my order never arrived",
            posted_at=datetime(2026, 3, 10, 16, 0, tzinfo=UTC),
        ),
        "evidence": ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text me about my case."),
        "sendgrid": MemoryTransport([Channel.EMAIL], name="sendgrid"),
        "smtp": MemoryTransport([Channel.EMAIL], name="smtp"),
    }


@pytest.mark.parametrize("page", SKETCHED, ids=lambda page: page.name)
def test_doc_sketches_run(page: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Every ```py sketch runs (one namespace per page), given what it leaves out.

    The providers' sends are stubbed. The escalate imports of every sketch are
    checked first, so a page whose framework is not installed (Starlette) is
    skipped only after its own names were found.
    """
    monkeypatch.chdir(tmp_path)
    sketches = re.findall(r"```py\n(.*?)```", page.read_text(), re.S)
    imports = [
        node
        for sketch in sketches
        for node in ast.parse(sketch).body
        if isinstance(node, ast.Import | ast.ImportFrom)
    ]
    for node in imports:
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("escalate"):
            exec(compile(ast.Module([node], []), str(page), "exec"), {})  # our own docs
    for node in imports:
        module = node.module if isinstance(node, ast.ImportFrom) else node.names[0].name
        pytest.importorskip((module or "").split(".")[0])
    namespace = sketch_namespace(monkeypatch)
    try:
        for sketch in sketches:
            exec(compile(sketch, str(page), "exec"), namespace)  # our own docs
    finally:
        for value in list(namespace.values()):
            if type(value).__name__ == "Escalator":
                value.close()  # type: ignore[attr-defined]
