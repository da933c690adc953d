"""The project's promises about itself: README commands, CI, public names."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from pathlib import Path

import escalate

ROOT = Path(__file__).resolve().parent.parent


def readme_commands() -> list[str]:
    block = re.search(r"```sh\n(.*?)```", (ROOT / "README.md").read_text(), re.S)
    assert block is not None, "README.md must open with a ```sh block"
    return [line for line in block.group(1).splitlines() if line.strip()]


def test_readme_opens_with_two_setup_commands() -> None:
    """The README's first code block holds exactly the demo and the test command."""
    demo, tests = readme_commands()
    assert demo.endswith("escalate demo")
    assert "pytest" in tests


def test_ci_runs_the_readme_test_command() -> None:
    """.ci/run calls the README's test command verbatim, so the two cannot drift."""
    assert readme_commands()[1] in (ROOT / ".ci" / "run").read_text()


def test_all_is_sorted_and_complete() -> None:
    """escalate.__all__ is sorted and every name in it exists."""
    names = [name for name in escalate.__all__ if name != "__version__"]
    assert names == sorted(names)
    for name in escalate.__all__:
        assert hasattr(escalate, name), name


def test_lazy_names_are_the_modules_own_objects() -> None:
    """Every lazily imported public name resolves to the object its module defines."""
    import importlib

    for name, module in escalate._LAZY.items():
        assert getattr(escalate, name) is getattr(importlib.import_module(module), name)
    assert set(escalate._LAZY) <= set(escalate.__all__)
    assert sorted(dir(escalate)) == sorted(escalate.__all__)


def test_every_public_module_imports_first() -> None:
    """Each public module imports in a fresh process state, whatever is imported before it."""
    root = ROOT / "src" / "escalate"
    public = sorted(
        "escalate." + ".".join(path.relative_to(root).with_suffix("").parts)
        for path in root.rglob("*.py")
        if not any(part.startswith("_") for part in path.relative_to(root).parts[:-1])
        and (path.name == "__init__.py" or not path.name.startswith("_"))
    )
    modules = ["escalate", *(name.removesuffix(".__init__") for name in public)]
    code = (
        "import importlib, sys\n"
        f"for name in {modules!r}:\n"
        "    for loaded in [m for m in sys.modules if m.split('.')[0] == 'escalate']:\n"
        "        del sys.modules[loaded]\n"
        "    importlib.import_module(name)\n"
        "print('ok')\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True)
    assert out.stdout.strip() == "ok", out.stderr[-2000:]


def test_no_module_imports_another_modules_private_name() -> None:
    """A helper two modules share has a public name: none imports another's ``_name``."""
    root = ROOT / "src" / "escalate"
    private = sorted(
        f"{path.relative_to(root)}: {node.module}.{alias.name}"
        for path in root.rglob("*.py")
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("escalate")
        for alias in node.names
        if alias.name.startswith("_") and not alias.name.startswith("__")
    )
    assert private == []


def test_help_imports_no_model_code() -> None:
    """`escalate --help` loads neither pydantic nor phonenumbers (it stays fast)."""
    code = (
        "import sys; from escalate.cli import build_parser; build_parser().format_help();"
        "heavy = ('pydantic', 'phonenumbers', 'email_validator');"
        "print(sorted(m for m in heavy if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_import_pulls_in_no_provider_sdk_or_driver() -> None:
    """`import escalate` imports no provider SDK and no database driver."""
    code = (
        "import sys, escalate, escalate.store, escalate.transports, escalate.workflow;"
        "banned = ('twilio', 'sendgrid', 'python_http_client', 'psycopg', 'smtplib', 'pytest');"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in banned))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
