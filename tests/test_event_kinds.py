"""EVENT_KINDS is complete: no kind escalate writes is missing, none listed is stale.

Two proofs. Statically, every string in ``src/escalate`` shaped like a kind
(``word.word``) is a listed kind, a template name, or one of a few named
non-kinds, and no f-string builds a kind; so a new literal kind anywhere fails
here until it is listed. Dynamically, the main flows (keywords, reminders,
failures, quiet hours, contacts, erasure) write only listed kinds.
"""

from __future__ import annotations

import ast
import re
from datetime import UTC, datetime
from pathlib import Path

import pytest

from escalate import (
    Identity,
    InvalidRecipient,
    LinkSource,
    RetryableTransportError,
    UnknownOutcomeError,
    VerificationFailed,
    Workflow,
)
from escalate.consent._policy import (
    HELP_TEMPLATE,
    OPT_IN_CONFIRMATION_TEMPLATE,
    OPT_IN_REQUEST_TEMPLATE,
    OPT_OUT_CONFIRMATION_TEMPLATE,
)
from escalate.testing import EVENT_KINDS, Scenario
from escalate.workflow._default_templates import DEFAULT_VARIABLES
from escalate.workflow._report import REPORT_COUNTERS

SOURCE = Path(__file__).resolve().parents[1] / "src" / "escalate"
REGISTRY = SOURCE / "_event_kinds.py"
KIND_SHAPE = re.compile(r"[a-z][a-z_]*\.[a-z][a-z_]*")

TEMPLATES = {
    *DEFAULT_VARIABLES,
    HELP_TEMPLATE,
    OPT_IN_CONFIRMATION_TEMPLATE,
    OPT_IN_REQUEST_TEMPLATE,
    OPT_OUT_CONFIRMATION_TEMPLATE,
}
#: Kind-shaped strings that are neither kinds nor templates: module and file names.
NOT_KINDS = {"escalate.db", "rel.db", "python_http_client.client"}
#: 07:00 UTC, 23:00 the evening before in California: inside the default quiet hours.
NIGHT = datetime(2026, 3, 11, 7, 0, tzinfo=UTC)


def _source_trees() -> list[tuple[Path, ast.Module]]:
    return [
        (path, ast.parse(path.read_text(), str(path)))
        for path in sorted(SOURCE.rglob("*.py"))
        if path != REGISTRY
    ]


def _kind_shaped_literals() -> dict[str, list[str]]:
    found: dict[str, list[str]] = {}
    for path, tree in _source_trees():
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and KIND_SHAPE.fullmatch(node.value)
            ):
                where = f"{path.relative_to(SOURCE)}:{node.lineno}"
                found.setdefault(node.value, []).append(where)
    return found


def test_every_kind_shaped_literal_is_registered_or_named_otherwise() -> None:
    """A kind written as a literal anywhere in the source is in EVENT_KINDS."""
    unclassified = {
        text: where
        for text, where in _kind_shaped_literals().items()
        if text not in EVENT_KINDS
        and text not in TEMPLATES
        and text not in NOT_KINDS
        and not text.startswith("escalate.")  # module and logger names
    }
    assert unclassified == {}, "add these to escalate/_event_kinds.py (or to NOT_KINDS here)"


def test_no_registered_kind_is_stale() -> None:
    """Every kind listed is written somewhere in the source, and none is also a template name."""
    literals = _kind_shaped_literals()
    assert sorted(set(EVENT_KINDS) - set(literals)) == []
    assert sorted(set(EVENT_KINDS) & TEMPLATES) == []


def test_no_kind_is_built_with_an_f_string() -> None:
    """Kinds are literals, so the static check above sees them all: only templates are built."""
    prefixes = {kind.split(".")[0] + "." for kind in EVENT_KINDS}
    built = []
    for path, tree in _source_trees():
        rendered = {
            id(argument)
            for call in ast.walk(tree)
            if isinstance(call, ast.Call)
            and isinstance(call.func, ast.Attribute)
            and call.func.attr == "render"
            for argument in call.args[:1]
        }
        for node in ast.walk(tree):
            if not isinstance(node, ast.JoinedStr) or id(node) in rendered or not node.values:
                continue
            head = node.values[0]
            if isinstance(head, ast.Constant) and head.value in prefixes:
                built.append(f"{path.relative_to(SOURCE)}:{node.lineno}")
    assert built == []


def test_the_report_counters_and_the_registry_agree() -> None:
    """The dispatch report counts registered kinds only."""
    assert set(REPORT_COUNTERS) <= set(EVENT_KINDS)


def _all_kinds(s: Scenario) -> set[str]:
    return {event.kind for event in s.esc.store.events(s.esc.tenant)}


def test_the_main_flows_write_only_registered_kinds() -> None:
    """Keywords, reminders, failures, quiet hours, contacts and erasure: every kind is listed."""
    seen: set[str] = set()
    with Scenario(Workflow.default(brand="Acme"), strict=False) as s:
        s.post_publicly("call me on +1 415 555 0100 please")  # an address shared publicly
        s.customer_provides(phone="(415) 555-0142")
        s.customer_texts("HELP")
        s.advance(hours=25)  # the reminder
        s.customer_texts("thanks, still waiting")
        s.customer_emails("START", sender="jane@example.com")
        s.customer_texts("STOP")
        s.customer_texts("HELP")  # after a STOP: not answered
        s.customer_texts("START")
        s.post_publicly(thread_id="second")
        s.transport.fail_next(RetryableTransportError("503"))
        s.customer_provides(email="jane@example.com")
        s.advance(minutes=5)
        s.agent_resolves()
        s.post_publicly(thread_id="handle", handle="jane_renamed")  # same user, new handle
        s.agent_resolves()
        s.post_publicly(thread_id="third", user_id="99", handle="other")
        s.customer_provides(email="jane@example.com")  # Jane's address: a conflict, proposed
        (proposal,) = s.esc.contacts.proposals()
        s.esc.contacts.reject_proposal(proposal.id)
        s.agent_resolves()
        s.post_publicly(thread_id="landline", user_id="97", handle="landline")
        s.transport.fail_next(InvalidRecipient("landline", code="21614"))
        s.customer_provides(phone="(415) 555-0177")
        s.post_publicly(thread_id="unknown", user_id="96", handle="unknown")
        s.transport.fail_next(UnknownOutcomeError("timed out after sending"))
        s.customer_provides(phone="(415) 555-0166")
        (held,) = [row for row in s.outbox if row.status.value == "held"]
        s.esc.outbox.release(held.id)
        s.advance(minutes=1)
        s.post_publicly(thread_id="fourth", user_id="98", handle="quiet")
        s.customer_provides(phone="(415) 555-0188")
        s.advance(days=3)  # no reply: reminder, abandonment, the helpdesk told
        seen |= _all_kinds(s)
    with Scenario(strict=False, start=NIGHT) as s:  # quiet hours in California
        s.post_publicly()
        s.customer_provides(phone="(415) 555-0142")
        s.advance(hours=12)
        s.post_publicly(thread_id="cancelled", user_id="95", handle="late")
        s.customer_provides(phone="(415) 555-0155")  # deferred to the morning
        s.agent_resolves()
        seen |= _all_kinds(s)
    with Scenario(strict=False) as s:
        contacts = s.esc.contacts
        jane = contacts.create(Identity.email("jane@example.com"), LinkSource.CUSTOMER_PROVIDED)
        other = contacts.create(Identity.phone("+14155550123"), LinkSource.CUSTOMER_PROVIDED)
        challenge = contacts.start_verification(jane, Identity.email("jane@example.com"))
        with pytest.raises(VerificationFailed):
            contacts.confirm_code(challenge.id, "000000" if challenge.code != "000000" else "1")
        contacts.confirm_code(challenge.id, challenge.code)
        contacts.set_time_zone(jane.id, "America/New_York")
        _, record = contacts.merge_with_record(jane, other, "same person")
        contacts.unmerge(record.id)
        contacts.unlink(other.id, Identity.phone("+14155550123"))
        s.esc.consent.erase(jane.id)
        seen |= _all_kinds(s)
    assert sorted(seen - set(EVENT_KINDS)) == []
    # The flows above are broad enough to be worth something.
    assert len(seen) >= 30, sorted(seen)
