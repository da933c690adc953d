"""Without its SDK a webhook module names the extra to install; the shared part still imports."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    ("blocked", "module", "extra"),
    [
        ("twilio", "escalate.webhooks.twilio", "twilio"),
        ("sendgrid", "escalate.webhooks.sendgrid", "sendgrid"),
    ],
)
def test_missing_sdk_names_the_pip_install(blocked: str, module: str, extra: str) -> None:
    """Importing a webhook parser without its SDK raises MissingDependencyError naming the extra."""
    code = (
        "import sys\n"
        f"sys.modules[{blocked!r}] = None\n"
        "import escalate.webhooks\n"
        "from escalate import MissingDependencyError\n"
        "try:\n"
        f"    import {module}\n"
        "except MissingDependencyError as exc:\n"
        "    print('missing:', exc, isinstance(exc, ImportError))\n"
    )
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert f"pip install 'escalate[{extra}]'" in run.stdout
    assert run.stdout.strip().endswith("True")
