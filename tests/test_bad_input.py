"""Bad input to every public constructor and verb gives a typed error and writes nothing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentPolicy,
    EscalateError,
    Escalator,
    Identity,
    InboundMessage,
    InvalidIdentity,
    InvalidInput,
    NaiveDatetimeError,
    NotFound,
    Thread,
    TransitionNotAllowed,
)
from escalate.audit import BeforeHashing, ChainHead
from escalate.consent import ReceiptController
from escalate.testing import FakeClock, Scenario
from escalate.workflow import consent_page_link, x_dm_link
from tests.conftest import WEB_FORM_CONSENT, make_thread

NAIVE = datetime(2026, 1, 5, 15, 0)  # naive on purpose
AWARE = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")
AUTHOR = Identity.social("x", "42", "jane_d")


def thread_args(**overrides: Any) -> dict[str, Any]:
    return {
        "platform": "x",
        "thread_id": "1001",
        "author": AUTHOR,
        "text": "help",
        "posted_at": AWARE,
        **overrides,
    }


# -- constructors -----------------------------------------------------------------

CONSTRUCTORS: dict[str, tuple[Callable[[], object], type[EscalateError]]] = {
    "phone: letters": (lambda: Identity.phone("call me maybe"), InvalidIdentity),
    "phone: bad region": (lambda: Identity.phone("4155550100", region="XX"), InvalidIdentity),
    "phone: region not a str": (lambda: Identity.phone("4155550100", region=1), InvalidIdentity),  # type: ignore[arg-type]
    "phone: not a str": (lambda: Identity.phone(4155550100), InvalidIdentity),  # type: ignore[arg-type]
    "email: no domain": (lambda: Identity.email("jane@"), InvalidIdentity),
    "email: not a str": (lambda: Identity.email(None), InvalidIdentity),  # type: ignore[arg-type]
    "social: handle as id": (lambda: Identity.social("x", "@jane"), InvalidIdentity),
    "social: unknown platform": (lambda: Identity.social("myspace", "1"), InvalidIdentity),
    "identity: by hand": (lambda: Identity(kind="phone", value="555"), InvalidIdentity),
    "thread: bad platform": (lambda: Thread(**thread_args(platform="myspace")), InvalidInput),
    "thread: naive datetime": (lambda: Thread(**thread_args(posted_at=NAIVE)), NaiveDatetimeError),
    "thread: phone author": (lambda: Thread(**thread_args(author=PHONE)), InvalidInput),
    "thread: author on another platform": (
        lambda: Thread(**thread_args(author=Identity.social("instagram", "42"))),
        InvalidInput,
    ),
    "thread: author is a str": (lambda: Thread(**thread_args(author="@jane")), InvalidInput),
    "thread: empty id": (lambda: Thread(**thread_args(thread_id="")), InvalidInput),
    "thread: missing text": (
        lambda: Thread(platform="x", thread_id="1", author=AUTHOR, posted_at=AWARE),  # type: ignore[call-arg]
        InvalidInput,
    ),
    "evidence: unknown source": (lambda: ConsentEvidence(source="rumour"), InvalidInput),
    "evidence: blank text": (
        lambda: ConsentEvidence(source="web_form", text="   "),
        InvalidInput,
    ),
    "evidence: empty text": (lambda: ConsentEvidence(source="web_form", text=""), InvalidInput),
    "inbound: naive datetime": (
        lambda: InboundMessage(channel=Channel.SMS, sender=PHONE, body="hi", received_at=NAIVE),
        NaiveDatetimeError,
    ),
    "inbound: unknown channel": (
        lambda: InboundMessage(channel="pigeon", sender=PHONE, body="hi", received_at=AWARE),
        InvalidInput,
    ),
    "inbound: sender_authenticated a string": (
        lambda: _inbound(channel=Channel.EMAIL, sender=EMAIL, sender_authenticated="no"),
        InvalidInput,
    ),
    "inbound: sender_authenticated a number": (
        lambda: _inbound(channel=Channel.EMAIL, sender=EMAIL, sender_authenticated=1),
        InvalidInput,
    ),
    "clock: naive start": (lambda: FakeClock(NAIVE), NaiveDatetimeError),
    "clock: backwards": (lambda: FakeClock().advance(seconds=-1), InvalidInput),
    "escalator: unknown store url": (lambda: Escalator(store="nonsense://"), InvalidInput),
    "escalator: postgres not yet": (lambda: Escalator(store="postgresql://h/db"), InvalidInput),
    "escalator: sqlite url without path": (lambda: Escalator(store="sqlite://"), InvalidInput),
    "escalator: store not a store": (lambda: Escalator(store=42), InvalidInput),  # type: ignore[arg-type]
    "escalator: empty tenant": (lambda: Escalator("memory://", tenant=""), InvalidInput),
    "escalator: blank tenant": (lambda: Escalator("memory://", tenant="  "), InvalidInput),
    "escalator: workflow not a workflow": (
        lambda: Escalator("memory://", workflow="default"),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "escalator: a transport that is none": (
        lambda: Escalator("memory://", transports=[object()]),  # type: ignore[list-item]
        InvalidInput,
    ),
    "x_dm_link: recipient not numeric": (lambda: x_dm_link("acme", "hi"), InvalidInput),
    "x_dm_link: recipient not a string": (lambda: x_dm_link(42, "hi"), InvalidInput),  # type: ignore[arg-type]
    "consent_page_link: javascript": (
        lambda: consent_page_link("javascript:alert(1)", "K7QP-3M"),
        InvalidInput,
    ),
    "consent_page_link: no host": (lambda: consent_page_link("not a url", "K7QP-3M"), InvalidInput),
    "receipt controller: empty name": (
        lambda: ReceiptController(
            piiController="",
            contact="DPO",
            address="1 Main St",
            email="d@acme.example",
            phone="555",
        ),
        InvalidInput,
    ),
    "consent policy: reply_window a number": (
        lambda: ConsentPolicy(reply_window=5),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "consent policy: default_zone None": (
        lambda: ConsentPolicy(default_zone=None),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "scenario: advance by a string": (lambda: Scenario().advance("1h"), InvalidInput),  # type: ignore[arg-type]
    "scenario: advance by nan": (lambda: Scenario().advance(minutes=float("nan")), InvalidInput),
    "scenario: advance past any clock": (lambda: Scenario().advance(days=10**9), InvalidInput),
    "before hashing: seq not a number": (
        lambda: BeforeHashing(tenant="default", last_seq="many"),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "chain head: length not a number": (
        lambda: ChainHead(tenant="default", chain="tenant", hash="h", event_id="e", length="x"),  # type: ignore[arg-type]
        InvalidInput,
    ),
}


@pytest.mark.parametrize("case", sorted(CONSTRUCTORS))
def test_constructors_raise_typed_errors(case: str) -> None:
    """Each bad constructor call raises its escalate error, never a pydantic or builtin one."""
    build, expected = CONSTRUCTORS[case]
    with pytest.raises(expected):
        build()


def test_input_errors_are_value_errors_and_do_not_echo_personal_data() -> None:
    """InvalidInput is a ValueError, and its message does not repeat the text it refused."""
    with pytest.raises(ValueError, match="Thread") as caught:
        Thread(**thread_args(text="call me on 415 555 0100" * 10_000))
    assert isinstance(caught.value, InvalidInput)
    assert "555" not in str(caught.value)
    assert caught.value.__cause__ is None


def test_a_bad_escalator_argument_creates_no_database(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refused Escalator argument is refused before the default SQLite file is created."""
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InvalidInput):
        Escalator(tenant="")
    with pytest.raises(InvalidInput):
        Escalator(workflow="default")  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []


# -- verbs ------------------------------------------------------------------------


def contents(esc: Escalator) -> tuple[object, ...]:
    """Everything the escalator's store holds for its tenant that the verbs could write."""
    store, tenant = esc.store, esc.tenant
    events = store.events(tenant)
    handoff_ids = sorted({e.handoff_id for e in events if e.handoff_id})
    return (
        [e.id for e in events],
        [store.get_handoff(tenant, hid) for hid in handoff_ids],
        [(i.id, i.status, i.attempts) for i in store.outbox(tenant)],
        [r.id for address in (PHONE, EMAIL) for r in store.consent_records(tenant, address)],
        [store.resolve_identity(tenant, identity) for identity in (PHONE, EMAIL, AUTHOR)],
        store.due_timers(datetime(2100, 1, 1, tzinfo=UTC), tenant=tenant),
    )


def _inbound(**overrides: Any) -> InboundMessage:
    return InboundMessage(
        **{"channel": Channel.SMS, "sender": PHONE, "body": "hi", "received_at": AWARE, **overrides}
    )


VERBS: dict[str, tuple[Callable[[Escalator, str], object], type[EscalateError]]] = {
    "open: not a thread": (lambda esc, _: esc.open("1001"), InvalidInput),  # type: ignore[arg-type]
    "contact_provided: social identity": (
        lambda esc, hid: esc.contact_provided(hid, AUTHOR),
        InvalidInput,
    ),
    "contact_provided: raw string": (
        lambda esc, hid: esc.contact_provided(hid, "+14155550100"),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "contact_provided: consent not evidence": (
        lambda esc, hid: esc.contact_provided(hid, PHONE, consent={"source": "web_form"}),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "contact_provided: unknown handoff": (
        lambda esc, _: esc.contact_provided("ho_nope", PHONE, consent=WEB_FORM_CONSENT),
        NotFound,
    ),
    "resolve: unknown handoff": (lambda esc, _: esc.resolve("ho_nope"), NotFound),
    "history: unknown handoff": (lambda esc, _: esc.history("ho_nope"), NotFound),
    "inbound: not a message": (
        lambda esc, _: esc.inbound({"body": "STOP"}),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "consent.decide: unknown purpose": (
        lambda esc, _: esc.consent.decide(PHONE, "spam"),
        InvalidInput,
    ),
    "consent.decide: naive datetime": (
        lambda esc, _: esc.consent.decide(PHONE, "transactional", NAIVE),
        NaiveDatetimeError,
    ),
    "consent.decide: at not a datetime": (
        lambda esc, _: esc.consent.decide(PHONE, "transactional", "2026-01-05"),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "consent.decide: address a str": (
        lambda esc, _: esc.consent.decide("+14155550100", "transactional"),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "consent.grant: social address": (
        lambda esc, _: esc.consent.grant(AUTHOR, WEB_FORM_CONSENT),
        InvalidInput,
    ),
    "consent.grant: address a str": (
        lambda esc, _: esc.consent.grant("+14155550100", WEB_FORM_CONSENT),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "consent.grant: no evidence": (
        lambda esc, _: esc.consent.grant(PHONE, None),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "consent.revoke: unknown purpose": (
        lambda esc, _: esc.consent.revoke(PHONE, WEB_FORM_CONSENT, purpose="spam"),
        InvalidInput,
    ),
    "consent.record: unknown action": (
        lambda esc, _: esc.consent.record(
            PHONE, purpose="transactional", action="maybe", evidence=WEB_FORM_CONSENT
        ),
        InvalidInput,
    ),
    "contacts.resolve: not an identity": (
        lambda esc, _: esc.contacts.resolve("+14155550100"),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "run_due: limit zero": (lambda esc, _: esc.run_due(limit=0), InvalidInput),
    "consent.revoke: empty purpose": (
        lambda esc, _: esc.consent.revoke(PHONE, WEB_FORM_CONSENT, purpose=""),
        InvalidInput,
    ),
    "consent.decide: unknown channel": (
        lambda esc, _: esc.consent.decide(PHONE, "transactional", channel="fax"),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "consent.decide: a channel that cannot reach the address": (
        lambda esc, _: esc.consent.decide(PHONE, "transactional", channel=Channel.EMAIL),
        InvalidInput,
    ),
    "contacts.proposals: unknown status": (
        lambda esc, _: esc.contacts.proposals("bogus"),
        InvalidInput,
    ),
    "contacts.set_time_zone: not a name": (
        lambda esc, hid: esc.contacts.set_time_zone(esc.handoffs.get(hid).contact_id or "", 5),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "consent.record_provider_event: at a string": (
        lambda esc, _: esc.consent.record_provider_event("sendgrid", "bounce", EMAIL, at="now"),  # type: ignore[arg-type]
        InvalidInput,
    ),
    "handle_webhook: None": (lambda esc, _: esc.handle_webhook(None), InvalidInput),  # type: ignore[arg-type]
    "handle_webhook: a batch with one bad item": (
        lambda esc, _: esc.handle_webhook([_inbound(body="STOP"), {"body": "STOP"}]),  # type: ignore[list-item]
        InvalidInput,
    ),
}


@pytest.mark.parametrize("case", sorted(VERBS))
def test_verbs_raise_typed_errors_and_write_nothing(
    esc: Escalator, clock: FakeClock, case: str
) -> None:
    """Each bad verb call raises its escalate error and leaves the store exactly as it was."""
    handoff = esc.open(make_thread(clock))
    clock.advance(minutes=1)
    before = contents(esc)
    call, expected = VERBS[case]
    with pytest.raises(expected):
        call(esc, handoff.id)
    assert contents(esc) == before


def test_contact_for_a_closed_handoff_is_refused_and_writes_nothing(
    esc: Escalator, clock: FakeClock
) -> None:
    """Contact for a resolved handoff raises TransitionNotAllowed; no link, consent or send."""
    handoff = esc.open(make_thread(clock))
    esc.resolve(handoff.id)
    before = contents(esc)
    with pytest.raises(TransitionNotAllowed):
        esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    assert contents(esc) == before
    assert esc.consent.records(PHONE) == []


def test_inbound_for_another_tenant_is_refused(esc: Escalator, clock: FakeClock) -> None:
    """A message labelled with another tenant raises CrossTenantError and changes nothing."""
    from escalate import Channel, CrossTenantError, Identity, InboundMessage

    message = InboundMessage(
        channel=Channel.SMS,
        sender=Identity.phone("+14155550100"),
        body="STOP",
        received_at=clock.now(),
        tenant="someone-else",
    )
    before = esc.store.events(esc.tenant)
    with pytest.raises(CrossTenantError):
        esc.inbound(message)
    assert esc.store.events(esc.tenant) == before


def test_a_merge_without_an_actor_and_a_receipt_for_a_dict_are_refused(
    esc: Escalator, clock: FakeClock
) -> None:
    """Found by a review: pydantic's ValidationError and an AttributeError escaped."""
    first = esc.contacts.create(PHONE, "crm_import")
    second = esc.contacts.create(EMAIL, "crm_import")
    grant = esc.consent.grant(PHONE, WEB_FORM_CONSENT)
    before = len(esc.store.events(esc.tenant))
    with pytest.raises(InvalidInput, match="actor"):
        esc.contacts.merge(first, second, "same person", actor=None)  # type: ignore[arg-type]
    with pytest.raises(InvalidInput, match="ReceiptController"):
        esc.consent.receipt(
            grant, controller={"piiController": "Acme"}, policy_url="https://a.example"
        )  # type: ignore[arg-type]
    assert len(esc.store.events(esc.tenant)) == before
