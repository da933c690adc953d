"""escalate as a typed dependency: what ``mypy --strict`` tells a user's code.

mypy runs in-process on ``user_integration.py`` (and a few one-line probes), with
escalate found on ``sys.path`` as an installed package is: its ``py.typed`` must be
there, and errors inside escalate are not the user's. One mypy run (about ten
seconds, cold cache) serves every test of the module.
"""

from __future__ import annotations

import re
import runpy
import shutil
import sys
from pathlib import Path

import pytest

import escalate

mypy_api = pytest.importorskip("mypy.api")

HERE = Path(__file__).resolve().parent

# Names a user imports that do not exist: a type checker must say so, not hand back Any.
PROBE_UNKNOWN = """\
import escalate
import escalate.consent
import escalate.identity
from escalate import NoSuchName
from escalate.consent import NoSuchConsentName
from escalate.identity import NoSuchIdentityName

escalate.Escalatr
escalate.consent.ConsentLeger
escalate.identity.ContactBok
"""

# Values the docs pass as text where the runtime takes an enum member or its value.
PROBE_TEXT_VALUES = """\
from escalate import ConsentPolicy, Escalator, Identity
from escalate.consent import FreeTextPolicy

policy = ConsentPolicy(free_text="review")
reveal_type(policy.free_text)
assert policy.free_text is FreeTextPolicy.REVIEW
esc = Escalator("memory://", consent_policy=policy)
esc.consent.decide(Identity.phone("+14155550142"), "transactional", channel="whatsapp")
"""

# The Transport protocol, implemented the immutable ways a user writes one.
PROBE_TRANSPORTS = """\
from dataclasses import dataclass

from escalate import Channel, Escalator, OutboundMessage, SendResult, Transport


@dataclass(frozen=True)
class Relay:
    name: str = "relay"
    channels: frozenset[Channel] = frozenset({Channel.SMS})

    def send(self, message: OutboundMessage) -> SendResult:
        return SendResult(provider=self.name, provider_message_id="r-1")

    def close(self) -> None:
        return None


class Pager:
    @property
    def name(self) -> str:
        return "pager"

    @property
    def channels(self) -> frozenset[Channel]:
        return frozenset({Channel.EMAIL})

    def send(self, message: OutboundMessage) -> SendResult:
        return SendResult(provider=self.name, provider_message_id="p-1")

    def close(self) -> None:
        return None


transports: list[Transport] = [Relay(), Pager()]
Escalator("memory://", transports=transports).close()
"""

# Workflow.default(), the README's entry point, with a setting of the wrong type.
PROBE_WORKFLOW_DEFAULT = """\
from escalate import Workflow

Workflow.default(brand="Acme", sla=60)
Workflow.default(brand="Acme", business_hours="America/New_York")
"""

# docs/webhooks.md: a parsed email reply's recipient (str | None) to the signed address.
PROBE_REPLY_ADDRESS = """\
from escalate import InboundMessage, ReplyAddressing


def case_of(replies: ReplyAddressing, reply: InboundMessage) -> str | None:
    return replies.resolve(reply.recipient)
"""

# Pacer rates as a user builds them: inline, mixed, or a dict read from configuration.
PROBE_PACER = """\
from escalate import Pacer

Pacer({"twilio": 10, ("twilio", "+14155550100"): 1})
configured: dict[str, float] = {"twilio": 1.0, "email": 20.0}
Pacer(configured)
per_number = {("twilio", "+14155550100"): 1.0}
Pacer(per_number, margin=0.1)
Pacer()
Pacer({1: 2.0})
"""

# The webhook parsers' shared keywords, one misspelt and two of the wrong type.
PROBE_PARSERS = """\
from escalate.testing import FakeClock
from escalate.webhooks.sendgrid import SendGridInboundParse, SendGridWebhook
from escalate.webhooks.twilio import TwilioWebhook

TwilioWebhook("token", public_base_url="https://hooks.example.com", clock=FakeClock())
TwilioWebhook("token", publc_base_url="https://hooks.example.com")
SendGridWebhook("key", public_base_url=8080)
SendGridInboundParse("key", tenant=None)
"""

# Provider from_env overrides: two right, then a wrong type and a misspelt keyword each.
PROBE_FROM_ENV = """\
from escalate.transports.sendgrid import SendGridEmail
from escalate.transports.smtp import SMTPEmail
from escalate.transports.twilio import TwilioSMS

TwilioSMS.from_env({}, name="twilio-us", timeout=5, from_=None, messaging_service_sid="MG1")
SMTPEmail.from_env(port=465, ssl=True, ssl_context=None)
TwilioSMS.from_env(timeout="5")
TwilioSMS.from_env(from_number="+14155550100")
SendGridEmail.from_env(from_email=None)
SendGridEmail.from_env(api_token="SG.x")
SMTPEmail.from_env(port="587")
SMTPEmail.from_env(clock=None)
"""

# Today's public names for held records and late replies: typed, and misuse an error.
PROBE_HOLDS = """\
from datetime import UTC, datetime
from escalate import Escalator
from escalate.store import Changes, Timer
from escalate.transports.sendgrid import SendGridOptions
from escalate.transports.smtp import SMTPOptions
from escalate.transports.twilio import TwilioOptions
from escalate.workflow import PostPublicReply

esc = Escalator("memory://")
now = datetime.now(UTC)
reveal_type(esc.timers.release("ho_1", "tm_1", actor="agent:7"))
reveal_type(Timer(id="tm_1", handoff_id="ho_1", name="remind", due_at=now).unreadable)
reveal_type(Changes(hold_timers=("tm_1",), release_timers=(("ho_1", "tm_1"),)).hold_timers)
reply = PostPublicReply(text="Back Monday. K7QP-3M", valid_until=now, later_text="K7QP-3M")
reveal_type(reply.text_at(now))
reveal_type(reply.later_text)
twilio: TwilioOptions = {"name": "twilio-us", "timeout": 5.0}
sendgrid: SendGridOptions = {"from_email": "help@example.com"}
smtp: SMTPOptions = {"port": 2525}
esc.timers.release("ho_1")
smtp_bad: SMTPOptions = {"port": "2525"}
"""


@pytest.fixture(scope="module")
def mypy_report(tmp_path_factory: pytest.TempPathFactory) -> str:
    """``mypy --strict`` output on the user module and the probes, as a user runs it."""
    package_root = str(Path(escalate.__file__).resolve().parent.parent)
    assert package_root in {str(Path(p).resolve()) for p in sys.path if p}, package_root
    work = tmp_path_factory.mktemp("user-project")
    shutil.copy(HERE / "user_integration.py", work / "user_integration.py")
    (work / "probe_unknown.py").write_text(PROBE_UNKNOWN)
    (work / "probe_text_values.py").write_text(PROBE_TEXT_VALUES)
    (work / "probe_transports.py").write_text(PROBE_TRANSPORTS)
    (work / "probe_workflow_default.py").write_text(PROBE_WORKFLOW_DEFAULT)
    (work / "probe_reply_address.py").write_text(PROBE_REPLY_ADDRESS)
    (work / "probe_pacer.py").write_text(PROBE_PACER)
    (work / "probe_parsers.py").write_text(PROBE_PARSERS)
    (work / "probe_from_env.py").write_text(PROBE_FROM_ENV)
    (work / "probe_holds.py").write_text(PROBE_HOLDS)
    stdout, stderr, _ = mypy_api.run(
        [
            "--strict",
            "--no-error-summary",
            "--show-error-codes",
            "--cache-dir",
            str(work / ".mypy_cache"),
            "--config-file",
            "",
            str(work / "user_integration.py"),
            str(work / "probe_unknown.py"),
            str(work / "probe_text_values.py"),
            str(work / "probe_transports.py"),
            str(work / "probe_workflow_default.py"),
            str(work / "probe_reply_address.py"),
            str(work / "probe_pacer.py"),
            str(work / "probe_parsers.py"),
            str(work / "probe_from_env.py"),
            str(work / "probe_holds.py"),
        ]
    )
    assert not stderr, stderr
    return stdout


def lines_of(report: str, filename: str) -> list[str]:
    return [line.split(filename, 1)[1] for line in report.splitlines() if filename in line]


def test_the_documented_integration_type_checks(mypy_report: str) -> None:
    """The user module, written from README, docs and examples, is clean under --strict."""
    errors = [line for line in lines_of(mypy_report, "user_integration.py") if "error:" in line]
    assert errors == []


def test_no_any_reaches_user_code(mypy_report: str) -> None:
    """Every ``reveal_type`` in the user module is a precise type: no ``Any`` leaks."""
    revealed = [
        line for line in lines_of(mypy_report, "user_integration.py") if "Revealed type" in line
    ]
    assert len(revealed) >= 30
    assert [line for line in revealed if re.search(r"\bAny\b", line)] == []


def test_unknown_names_are_errors_not_any(mypy_report: str) -> None:
    """A misspelt or missing public name is reported on every line that uses it.

    The packages load their names lazily (PEP 562 ``__getattr__``); a type
    checker must not read that hook as "any name exists, typed Any".
    """
    errors = [line for line in lines_of(mypy_report, "probe_unknown.py") if "error:" in line]
    assert [line.split(":")[1] for line in errors] == ["4", "5", "6", "8", "9", "10"], errors


def test_the_user_module_runs() -> None:
    """The integration is real code: it runs, so its calls are right, not only well typed."""
    runpy.run_path(str(HERE / "user_integration.py"), run_name="__main__")


def test_consent_policy_free_text_takes_its_text(mypy_report: str) -> None:
    """``ConsentPolicy(free_text="review")``, as docs/consent.md writes it, type-checks."""
    errors = [line for line in lines_of(mypy_report, "probe_text_values.py") if "error:" in line]
    assert [line for line in errors if line.startswith(":4:")] == []


def test_decide_takes_a_channel_as_text(mypy_report: str) -> None:
    """``decide(..., channel="whatsapp")`` type-checks, as ``grant``'s ``channel`` does."""
    errors = [line for line in lines_of(mypy_report, "probe_text_values.py") if "error:" in line]
    assert [line for line in errors if line.startswith(":8:")] == []


def test_the_text_value_probe_runs() -> None:
    """The text values are accepted at run time too, and become the members."""
    exec(compile(PROBE_TEXT_VALUES.replace("reveal_type", "print"), "probe", "exec"), {})


def test_an_immutable_transport_satisfies_the_protocol(mypy_report: str) -> None:
    """A frozen dataclass or a class of properties is a ``Transport`` to mypy, as at run time."""
    assert [line for line in lines_of(mypy_report, "probe_transports.py") if "error:" in line] == []


def test_the_immutable_transports_run() -> None:
    """Escalator accepts both at run time (its isinstance check agrees with mypy)."""
    exec(compile(PROBE_TRANSPORTS, "probe_transports", "exec"), {})


def test_workflow_default_settings_are_typed(mypy_report: str) -> None:
    """``Workflow.default(sla=60)`` is a type error, as ``default_workflow(sla=60)`` is.

    It raises ``InvalidInput`` at run time either way; a ``**settings: Any``
    signature let mypy pass both lines.
    """
    errors = [
        line for line in lines_of(mypy_report, "probe_workflow_default.py") if "error:" in line
    ]
    assert [line.split(":")[1] for line in errors] == ["3", "4"], errors


def test_reply_addressing_resolves_a_parsed_recipient(mypy_report: str) -> None:
    """``replies.resolve(reply.recipient)``, as docs/webhooks.md writes it, type-checks.

    ``InboundMessage.recipient`` is ``str | None``; ``resolve`` answers ``None``
    for anything that is not a signed address of ours, ``None`` included.
    """
    assert [
        line for line in lines_of(mypy_report, "probe_reply_address.py") if "error:" in line
    ] == []


def test_reply_addressing_resolves_none_to_none() -> None:
    """A message without a recipient is no case of ours, at run time as in the signature."""
    from escalate import ReplyAddressing

    assert ReplyAddressing("support@acme.example", b"a-secret-of-16-bytes").resolve(None) is None


def test_pacer_takes_rates_built_elsewhere(mypy_report: str) -> None:
    """A ``dict[str, float]`` of rates from configuration is a Pacer's ``rates``.

    ``Mapping`` is invariant in its keys, so a parameter typed only
    ``Mapping[str | PacingKey, float]`` refused it; a key that is neither a name
    nor a ``(name, sender)`` pair is still an error (line 9).
    """
    errors = [line for line in lines_of(mypy_report, "probe_pacer.py") if "error:" in line]
    assert [line.split(":")[1] for line in errors] == ["9"], errors


def test_webhook_parser_keywords_are_typed(mypy_report: str) -> None:
    """``public_base_url``, ``clock``, ``tenant``, ``insecure`` are checked at the call.

    They went through ``**options: Any``, so a misspelt ``publc_base_url=`` (a
    ``TypeError`` at start-up) or a port number passed mypy.
    """
    errors = [line for line in lines_of(mypy_report, "probe_parsers.py") if "error:" in line]
    assert [line.split(":")[1] for line in errors] == ["6", "7", "8"], errors


def test_from_env_overrides_are_typed(mypy_report: str) -> None:
    """A provider's ``from_env`` keyword of the wrong type, or misspelt, is a type error.

    They went through ``**overrides: Any``, so ``timeout="5"`` or ``from_number=``
    passed mypy; the overrides are the constructor's arguments (lines 5 and 6 pass).
    """
    errors = [line for line in lines_of(mypy_report, "probe_from_env.py") if "error:" in line]
    assert [line.split(":")[1] for line in errors] == ["7", "8", "9", "10", "11", "12"], errors


def test_held_timers_and_late_replies_are_typed(mypy_report: str) -> None:
    """``esc.timers.release``, ``Timer.unreadable``, the hold ``Changes``, a reply's
    ``text_at`` and the ``from_env`` option dicts are precise types; misuse is an error."""
    lines = lines_of(mypy_report, "probe_holds.py")
    revealed = [line.split('type is "')[1].rstrip('"') for line in lines if "note:" in line]
    assert revealed == [
        "None",
        "str | None",
        "typing.Sequence[str]",
        "str",
        "str | None",
    ], lines
    errors = [line for line in lines if "error:" in line]
    assert [line.split(":")[1] for line in errors] == ["20", "21"], errors
