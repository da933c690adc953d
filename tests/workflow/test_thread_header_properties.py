"""Thread headers: well-formed, unique per email, bounded however long the case."""

from __future__ import annotations

from email import policy
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import InvalidInput
from escalate.workflow import thread_headers
from escalate.workflow._threading import root_headers

handoff_ids = st.from_regex(r"ho_[0-9a-f]{32}", fullmatch=True)
domains = st.sampled_from(["acme.example", "mail.acme.example", "xn--bcher-kva.example"])
#: RFC 5322 2.1.1: a line should be at most 78 characters, and must be at most 998.
LINE_LIMIT = 998


def parses_cleanly(name: str, value: str) -> bool:
    header = policy.default.header_factory(name, value)
    return str(header) == value and not header.defects


@given(handoff_ids, st.integers(1, 10**9), st.integers(0, 99), domains)
def test_every_header_is_a_well_formed_msg_id(
    handoff_id: str, version: int, index: int, domain: str
) -> None:
    """Message-ID, In-Reply-To and References each hold one msg-id the stdlib reads whole."""
    headers = {**thread_headers(handoff_id, version, index, domain)}
    for name, value in (*headers.items(), *root_headers(handoff_id, domain).items()):
        assert parses_cleanly(name, value), (name, value)
        assert len(f"{name}: {value}") <= LINE_LIMIT


@given(
    handoff_ids, domains, st.sets(st.tuples(st.integers(1, 500), st.integers(0, 3)), max_size=60)
)
def test_message_ids_are_unique_and_all_answer_the_root(
    handoff_id: str, domain: str, sends: set[tuple[int, int]]
) -> None:
    """However many emails a case sends, each has its own id and names only the root."""
    root = root_headers(handoff_id, domain)["Message-ID"]
    built = [thread_headers(handoff_id, version, index, domain) for version, index in sends]
    ids = [root, *(h["Message-ID"] for h in built)]
    assert len(set(ids)) == len(ids)
    for headers in built:
        assert headers["In-Reply-To"] == headers["References"] == root


@pytest.mark.parametrize(
    ("args", "named"),
    [
        (("ho_x", 1, 0, "Acme Mail"), "domain"),
        (("ho_x", 1, 0, "acme.example\r\nBcc: victim@evil.example"), "domain"),
        (("ho_x", 1, 0, ""), "domain"),
        (("ho x", 1, 0, "acme.example"), "handoff_id"),
        (("ho_x>", 1, 0, "acme.example"), "handoff_id"),
        (("", 1, 0, "acme.example"), "handoff_id"),
        (("ho_x", -1, 0, "acme.example"), "version"),
        (("ho_x", True, 0, "acme.example"), "version"),
        (("ho_x", 1, "0", "acme.example"), "index"),
    ],
)
def test_bad_input_is_refused_not_written_into_a_header(args: tuple[Any, ...], named: str) -> None:
    """A custom workflow's mistake is an error naming the argument, not a malformed Message-ID."""
    with pytest.raises(InvalidInput, match=named):
        thread_headers(*args)


def test_an_internationalized_domain_is_written_in_a_labels() -> None:
    """A Message-ID is ASCII: ``bücher.example`` is written ``xn--bcher-kva.example``."""
    headers = thread_headers("ho_x", 1, 0, "Bücher.example")
    assert headers["Message-ID"] == "<ho_x.1.0@xn--bcher-kva.example>"


@given(st.text(max_size=30), st.text(max_size=30), st.integers(-5, 10**6))
def test_any_input_is_refused_or_well_formed(handoff_id: str, domain: str, version: int) -> None:
    """Whatever a caller passes, the headers parse cleanly, or ``InvalidInput`` says why."""
    try:
        headers = thread_headers(handoff_id, version, 0, domain)
    except InvalidInput:
        return
    for name, value in headers.items():
        assert value.isascii()
        assert parses_cleanly(name, value), (name, value)
