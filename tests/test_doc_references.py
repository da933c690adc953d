"""What the docs point at exists: links and #anchors, ``escalate.*`` names, repository files.

The code blocks are run by ``tests/test_examples.py``; this checks the prose around
them, where a renamed module, a moved file or a retitled section would otherwise
leave a reader at a dead end.
"""

from __future__ import annotations

import importlib
import re
from functools import cache
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PAGES = [
    ROOT / "README.md",
    ROOT / "CHANGELOG.md",
    ROOT / "examples" / "README.md",
    *sorted((ROOT / "docs").glob("*.md")),
]
#: The changelog's names are history (what a module was called then): links only.
CURRENT = [page for page in PAGES if page.name != "CHANGELOG.md"]
FENCE = re.compile(r"^```.*?^```", re.S | re.M)
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")
HEADING = re.compile(r"^#{1,6} +(.+?) *#*$", re.M)
CODE_SPAN = re.compile(r"`([^`\n]+)`")
DOTTED_NAME = re.compile(r"(?<![\w/@.])escalate(?:\.\w+)+")
REPO_PATH = re.compile(r"(?<![\w/:.-])[\w./-]*\w\.(?:py|md|toml|json)\b")
#: Dotted text in code spans that is a file or a domain, not a Python name.
NOT_NAMES = {"escalate.db", "escalate.invalid"}


def prose(text: str) -> str:
    """``text`` without its fenced code blocks, line numbers kept."""
    return FENCE.sub(lambda block: "\n" * block.group(0).count("\n"), text)


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lowercased, punctuation dropped, spaces to hyphens."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


@cache
def anchors(path: Path) -> frozenset[str]:
    """Every heading anchor of ``path``, a repeated one numbered as GitHub does (-1, -2...)."""
    seen: dict[str, int] = {}
    found = set()
    for heading in HEADING.findall(prose(path.read_text())):
        base = slug(heading)
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return frozenset(found)


def broken_links(page: Path) -> list[str]:
    """``line: target`` for each relative link of ``page`` to a missing file or anchor."""
    text = prose(page.read_text())
    broken = []
    for match in LINK.finditer(text):
        target = match.group(1)
        if re.match(r"[a-z][a-z0-9+.-]*:", target):  # https:, mailto:: not ours to check
            continue
        line = text.count("\n", 0, match.start()) + 1
        file, _, fragment = target.partition("#")
        dest = (page.parent / file).resolve() if file else page
        if not dest.exists():
            broken.append(f"{line}: {target} (no such file)")
        elif fragment and (dest.is_dir() or fragment not in anchors(dest)):
            broken.append(f"{line}: {target} (no such heading)")
    return broken


def code_spans(page: Path) -> list[tuple[int, str]]:
    text = prose(page.read_text())
    return [(text.count("\n", 0, m.start()) + 1, m.group(1)) for m in CODE_SPAN.finditer(text)]


def resolves(dotted: str) -> bool:
    """Whether ``escalate.a.b`` is a module, or an attribute reached from the longest module."""
    parts = dotted.split(".")
    for cut in range(len(parts), 0, -1):
        try:
            target: object = importlib.import_module(".".join(parts[:cut]))
        except ImportError:
            continue
        for name in parts[cut:]:
            if not hasattr(target, name):
                return False
            target = getattr(target, name)
        return True
    return False


@cache
def repo_files() -> tuple[str, ...]:
    skip = {".git", ".venv", "node_modules", "__pycache__"}
    return tuple(
        path.relative_to(ROOT).as_posix()
        for path in ROOT.rglob("*")
        if path.is_file() and not skip & set(path.relative_to(ROOT).parts)
    )


def in_repo(path: str) -> bool:
    """A path as the docs write it: from the root, or from a package or example directory."""
    path = path.removeprefix("./")
    return any(file == path or file.endswith("/" + path) for file in repo_files())


@pytest.mark.parametrize("page", PAGES, ids=lambda page: page.name)
def test_links_and_anchors_resolve(page: Path) -> None:
    """Every relative link names a file that exists and, after #, one of its headings."""
    assert broken_links(page) == []


@pytest.mark.parametrize("page", CURRENT, ids=lambda page: page.name)
def test_escalate_names_in_code_spans_exist(page: Path) -> None:
    """`escalate.x.y` in the prose is a module or an attribute escalate has."""
    missing = [
        f"{line}: {name}"
        for line, span in code_spans(page)
        for name in DOTTED_NAME.findall(span)
        if name not in NOT_NAMES and not resolves(name)
    ]
    assert missing == []


@pytest.mark.parametrize("page", CURRENT, ids=lambda page: page.name)
def test_repository_files_in_code_spans_exist(page: Path) -> None:
    """`tests/...py`, `bench/...py`, `store/_migrations.py`: each names a file in the repository."""
    missing = [
        f"{line}: {path}"
        for line, span in code_spans(page)
        if "://" not in span
        for path in REPO_PATH.findall(span)
        if not in_repo(path)
    ]
    assert missing == []


def test_the_checks_find_what_is_broken(tmp_path: Path) -> None:
    """The checker is not vacuous: a dead file, a dead anchor and a renamed name are found."""
    (tmp_path / "other.md").write_text("# Other page\n\n## Twice\n\n## Twice\n")
    page = tmp_path / "page.md"
    page.write_text(
        '# Unlinking: "this isn\'t me"\n\n'
        "[ok](#unlinking-this-isnt-me) [ok](other.md#twice-1) [ok](https://x.example/#y)\n"
        "[bad](missing.md) [bad](other.md#thrice) [bad](#nowhere)\n"
        "```\n[in code](ignored.md)\n```\n"
    )
    assert broken_links(page) == [
        "4: missing.md (no such file)",
        "4: other.md#thrice (no such heading)",
        "4: #nowhere (no such heading)",
    ]
    assert slug("Settings of `Workflow.default()`") == "settings-of-workflowdefault"
    assert resolves("escalate.consent.classify_reply")
    assert not resolves("escalate.consent.classify_replies")
    assert in_repo("store/_migrations.py")
    assert not in_repo("store/_migration.py")
