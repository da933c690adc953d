"""Without its SDK a provider module says which extra to install; escalate itself still imports."""

from __future__ import annotations

import subprocess
import sys

import pytest


def _run(blocked: str, module: str) -> subprocess.CompletedProcess[str]:
    code = (
        "import sys\n"
        f"sys.modules[{blocked!r}] = None\n"  # what `import` sees for an uninstalled package
        "import escalate, escalate.transports\n"
        "from escalate import MissingDependencyError\n"
        "try:\n"
        f"    import {module}\n"
        "except MissingDependencyError as exc:\n"
        "    print('missing:', exc, isinstance(exc, ImportError))\n"
    )
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)


@pytest.mark.parametrize(
    ("blocked", "module", "extra"),
    [
        ("twilio", "escalate.transports.twilio", "twilio"),
        ("sendgrid", "escalate.transports.sendgrid", "sendgrid"),
        ("python_http_client", "escalate.transports.sendgrid", "sendgrid"),
    ],
)
def test_missing_sdk_names_the_pip_install(blocked: str, module: str, extra: str) -> None:
    """Importing an adapter without its SDK raises MissingDependencyError naming the extra."""
    out = _run(blocked, module).stdout
    assert f"pip install 'escalate[{extra}]'" in out
    assert out.strip().endswith("True")  # still an ImportError for existing handlers
