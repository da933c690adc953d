"""Beyond the log records: reprs, exception texts, contacts' merges and the CLI's output.

``repr()`` and ``str()`` of public records end up in logs (``log.info("%r", x)``),
an exception in a traceback (``logger.exception``), a command's stdout in a CI or
cron log: none may show the person (see ``tests/pii.py`` for what counts).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from contextlib import closing
from pathlib import Path

import pytest

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentSource,
    EscalateError,
    Escalator,
    Identity,
    InboundMessage,
    InvalidWorkflowDefinition,
    Purpose,
    Thread,
    Workflow,
    extract_identities,
)
from escalate.cli import main
from escalate.store import SQLiteStore
from escalate.testing import FakeClock, MemoryTransport
from escalate.workflow import AgentReplied, effects
from tests.conftest import TEST_START
from tests.pii import BODY, EMAIL_RAW, HANDLE, NAME, PHONE_E164, PHONE_FORMS, capture_pii, leaks
from tests.pii import shown as traceback_of

PHONE = Identity.phone(PHONE_FORMS[0], region="US")
EMAIL = Identity.email(EMAIL_RAW)
CONSENT = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text me.", ip="203.0.113.7")


def the_thread(clock: FakeClock, thread_id: str = "1001") -> Thread:
    return Thread(
        platform="x",
        thread_id=thread_id,
        author=Identity.social("x", "42", HANDLE),
        text=f"{BODY} {PHONE_FORMS[1]} {EMAIL_RAW}",
        posted_at=clock.now(),
    )


def shown(value: object) -> str:
    return f"{value!r}\n{value!s}"


def test_a_published_reply_shows_only_the_length_of_its_text() -> None:
    """The public reply greets the author by handle (and a Meta private reply is private)."""
    clock = FakeClock(TEST_START)
    esc = Escalator("memory://", clock=clock, workflow=Workflow.default(brand="Acme"))
    esc.open(the_thread(clock))
    [reply] = esc.publisher.replies  # type: ignore[attr-defined]
    assert f"@{HANDLE}" in reply.text
    assert leaks(shown(reply)) == []
    assert reply.post_id in repr(reply)


def test_an_agents_message_as_a_workflow_input_shows_only_its_length() -> None:
    """``AgentReplied`` carries the agent's message to the customer: a message body."""
    event = AgentReplied(text=BODY)
    assert leaks(shown(event)) == []
    assert "agent_replied" in repr(event)


def test_public_records_of_a_whole_case_show_nothing_personal() -> None:
    """Handoff, Contact, Identity, ConsentRecord, Decision, OutboxItem, messages, events."""
    clock = FakeClock(TEST_START)
    sms = MemoryTransport([Channel.SMS, Channel.EMAIL])
    esc = Escalator("memory://", transports=[sms], clock=clock, workflow=Workflow.default())
    handoff = esc.open(the_thread(clock))
    handoff = esc.contact_provided(handoff.id, PHONE, consent=CONSENT)
    inbound = InboundMessage(
        channel=Channel.SMS, sender=PHONE, body=BODY, received_at=clock.now(), raw={"b": BODY}
    )
    esc.inbound(inbound)
    esc.send_message(handoff.id, BODY)
    contact = esc.contacts.resolve(PHONE)
    records: list[object] = [
        handoff,
        esc.handoffs.get(handoff.id),
        contact,
        contact and contact.links,
        PHONE,
        EMAIL,
        CONSENT,
        inbound,
        esc.consent.records(PHONE),
        esc.consent.decide(PHONE, Purpose.TRANSACTIONAL),
        esc.store.outbox(esc.tenant),
        sms.sent,
        esc.history(handoff.id),
        extract_identities(f"{BODY} {PHONE_FORMS[1]} {EMAIL_RAW}", region="US"),
    ]
    assert [leaks(shown(record)) for record in records] == [[]] * len(records)


def test_merging_unmerging_unlinking_and_verifying_log_and_show_nothing_personal() -> None:
    """The contact book's verbs, their records and their refusals keep the person out."""
    clock = FakeClock(TEST_START)
    errors: list[EscalateError] = []

    def refused(verb: Callable[[], object]) -> None:
        with pytest.raises(EscalateError) as raised:
            verb()
        errors.append(raised.value)

    with capture_pii() as captured:
        esc = Escalator("memory://", clock=clock)
        first = esc.contacts.create(PHONE, "customer_provided")
        second = esc.contacts.create(EMAIL, "crm_import")
        refused(lambda: esc.contacts.create(PHONE, "agent_entered"))
        refused(lambda: esc.contacts.link(second, PHONE, "agent_entered"))
        proposal = esc.contacts.propose(first, second, PHONE, "same person, says the agent")
        survivor, merge = esc.contacts.merge_with_record(first, second, "same person")
        restored = esc.contacts.unmerge(merge.id)
        refused(lambda: esc.contacts.unmerge(merge.id))
        unlinked = esc.contacts.unlink(restored[0], PHONE)
        challenge = esc.contacts.start_verification(restored[1], EMAIL)
        refused(lambda: esc.contacts.confirm_code(challenge.id, "000000"))
        made = [proposal, survivor, merge, restored, unlinked, challenge, esc.contacts.proposals()]
    assert len(errors) == 4
    assert [leaks(traceback_of(error)) for error in errors] == [[]] * len(errors)
    assert [leaks(shown(record)) for record in made] == [[]] * len(made)
    assert captured.leaked() == []


@pytest.mark.parametrize(
    "bad",
    [
        lambda: Identity.phone(PHONE_FORMS[1]),  # no region
        lambda: Identity.phone(PHONE_FORMS[0] + "9999"),
        lambda: Identity.phone(f"{PHONE_FORMS[0]} {EMAIL_RAW}"),
        lambda: Identity.email(EMAIL_RAW.replace("@", "@@")),
        lambda: Identity.email(f"{NAME} <{EMAIL_RAW}>"),
        lambda: Identity.email(EMAIL_RAW.replace("+", " ")),
        lambda: Identity.email(EMAIL_RAW.removesuffix(".com")),
        lambda: Identity(kind="phone", value=PHONE_E164.removeprefix("+")),  # type: ignore[arg-type]
        lambda: Identity(kind="email", value=EMAIL_RAW),  # type: ignore[arg-type]
        lambda: Identity.social("x", HANDLE),
        lambda: Identity.social("x", "42", f"{NAME}!"),
        lambda: InboundMessage(channel="sms", sender=PHONE_E164, body=BODY, received_at=TEST_START),  # type: ignore[arg-type]
        lambda: Thread(platform="x", thread_id="1", author=PHONE, text=BODY, posted_at=TEST_START),
        lambda: ConsentEvidence(source="web_form", text=" ", ip=PHONE_E164),  # type: ignore[arg-type]
        lambda: extract_identities(BODY * 20_000, region="US"),
    ],
)
def test_bad_input_errors_do_not_echo_the_person(bad: Callable[[], object]) -> None:
    """An error for input the caller just passed says what is wrong, not what was passed."""
    with pytest.raises(EscalateError) as raised:
        bad()
    assert leaks(traceback_of(raised.value)) == []


def test_the_cli_prints_nothing_personal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`escalate demo` (its customer has this number) and `escalate report` on a real case."""
    with capture_pii() as captured:
        assert main(["demo"]) == 0
        demo = capsys.readouterr()
        path = tmp_path / "escalate.db"
        clock = FakeClock(TEST_START)
        with Escalator(SQLiteStore(path), clock=clock, transports=[MemoryTransport()]) as esc:
            handoff = esc.open(the_thread(clock))
            esc.contact_provided(handoff.id, PHONE, consent=CONSENT)
            esc.inbound(
                InboundMessage(
                    channel=Channel.SMS, sender=PHONE, body=BODY, received_at=clock.now()
                )
            )
        for extra in ([], ["--json"]):
            assert main(["report", "--store", f"sqlite:///{path}", *extra]) == 0
        report = capsys.readouterr()
    assert "Thanks! The order number is 4471" not in demo.out  # the demo customer's reply
    assert leaks(demo.out + demo.err) == []
    assert leaks(report.out + report.err) == []
    assert captured.leaked() == []


def test_a_workflow_action_setting_an_address_as_text_is_refused_without_echoing_it() -> None:
    """The refusal (and the pydantic error chained under it) names the type, not the value."""
    from tests.workflow.test_definition_mistakes import _decide

    with pytest.raises(InvalidWorkflowDefinition, match="cannot be set to a str") as raised:
        _decide(lambda handoff, event, ctx: effects(address=PHONE_E164))
    assert leaks(traceback_of(raised.value)) == []


@pytest.mark.parametrize(
    ("table", "column", "read"),
    [
        ("handoffs", "data", lambda esc, handoff_id: esc.handoffs.get(handoff_id)),
        ("contacts", "data", lambda esc, _: esc.contacts.resolve(PHONE)),
        ("consent_records", "data", lambda esc, _: esc.consent.records(PHONE)),
        ("outbox", "command", lambda esc, _: esc.store.outbox(esc.tenant)),
    ],
)
def test_a_stored_row_that_no_longer_reads_is_reported_without_its_content(
    tmp_path: Path, table: str, column: str, read: Callable[[Escalator, str], object]
) -> None:
    """A row edited outside escalate (its phone number no longer E.164) fails to read, and the
    error a worker logs says where, not the number (as ``CorruptRecord`` does for events)."""
    path = tmp_path / "escalate.db"
    clock = FakeClock(TEST_START)
    with Escalator(SQLiteStore(path), clock=clock, transports=[MemoryTransport()]) as esc:
        handoff = esc.open(the_thread(clock))
        esc.contact_provided(handoff.id, PHONE, consent=CONSENT)
    with closing(sqlite3.connect(path)) as db, db:
        edited = db.execute(
            f"UPDATE {table} SET {column} = replace({column}, ?, ?)",
            (f'"{PHONE_E164}"', f'"{PHONE_E164.removeprefix("+")}"'),
        ).rowcount
    assert edited >= 1
    with (
        Escalator(SQLiteStore(path), clock=clock) as esc,
        pytest.raises(ValueError, match=r"E\.164") as raised,
    ):
        read(esc, handoff.id)
    assert leaks(traceback_of(raised.value)) == []


def test_a_renamed_author_leaves_no_handle_in_the_audit_log_once_erased() -> None:
    """``contact.handle_changed`` says the handle changed, not to what: audit events outlive an
    erasure, which takes the handle off everything else (thread, contact, merge snapshots)."""
    clock = FakeClock(TEST_START)
    esc = Escalator("memory://", clock=clock, transports=[MemoryTransport()])
    first = esc.open(the_thread(clock))
    renamed = the_thread(clock, thread_id="1002").model_copy(
        update={"author": Identity.social("x", "42", "quintessa_renamed")}
    )
    second = esc.open(renamed)
    assert "contact.handle_changed" in [event.kind for event in esc.history(second.id)]
    assert first.contact_id is not None
    esc.consent.erase(first.contact_id)
    events = esc.store.events(esc.tenant)
    assert [leaks(f"{event.data} {event!r}") for event in events] == [[]] * len(events)
