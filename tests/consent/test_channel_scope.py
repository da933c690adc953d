"""A grant counts on the channel it was given for; a revoke holds on every channel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import Channel, Escalator, Identity, InvalidInput
from escalate.consent import (
    ConsentAction,
    ConsentEvidence,
    ConsentRecord,
    ConsentSource,
    Purpose,
    decide_from_records,
)
from escalate.consent._making import make_consent_record
from escalate.store import MemoryStore
from escalate.testing import FakeClock

PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")
T0 = datetime(2026, 1, 5, 18, 0, tzinfo=UTC)  # 10:00 in Los Angeles
FORM = ConsentEvidence(
    source=ConsentSource.WEB_FORM, text="Message me about my case", thread_id="t1"
)
GRANT, REVOKE = ConsentAction.GRANT, ConsentAction.REVOKE
PHONE_CHANNELS = (Channel.SMS, Channel.WHATSAPP)


def rec(
    action: ConsentAction, channel: Channel, minute: int, *, every: bool = False
) -> ConsentRecord:
    record = make_consent_record(
        tenant="default",
        address=PHONE,
        purpose=Purpose.TRANSACTIONAL,
        action=action,
        evidence=FORM,
        at=T0 + timedelta(minutes=minute),
        channel=channel,
        all_purposes=every,
    )
    return record.model_copy(update={"seq": minute + 1})


def decide(records: list[ConsentRecord], channel: Channel | None):  # type: ignore[no-untyped-def]
    return decide_from_records(
        records, Purpose.TRANSACTIONAL, T0 + timedelta(hours=1), address=PHONE, channel=channel
    )


def test_an_sms_grant_is_no_whatsapp_opt_in() -> None:
    records = [rec(GRANT, Channel.SMS, 0)]
    assert decide(records, Channel.SMS).allowed
    refused = decide(records, Channel.WHATSAPP)
    assert (refused.allowed, refused.reason) == (False, "no_consent")


def test_a_whatsapp_grant_is_no_sms_opt_in() -> None:
    records = [rec(GRANT, Channel.WHATSAPP, 0)]
    assert decide(records, Channel.WHATSAPP).allowed
    assert decide(records, Channel.SMS).reason == "no_consent"


def test_a_stop_on_one_channel_holds_on_the_other() -> None:
    records = [rec(GRANT, Channel.SMS, 0), rec(GRANT, Channel.WHATSAPP, 1)]
    stopped = [*records, rec(REVOKE, Channel.WHATSAPP, 2, every=True)]
    assert decide(stopped, Channel.SMS).reason == "revoked"
    assert decide(stopped, Channel.WHATSAPP).reason == "revoked"


def test_a_new_grant_after_a_stop_opens_its_own_channel_only() -> None:
    records = [
        rec(GRANT, Channel.SMS, 0),
        rec(REVOKE, Channel.SMS, 1, every=True),
        rec(GRANT, Channel.WHATSAPP, 2),
    ]
    assert decide(records, Channel.WHATSAPP).allowed
    assert decide(records, Channel.SMS).reason == "revoked"


def test_without_a_channel_any_grant_counts() -> None:
    """The pure function asked about no channel keeps its earlier meaning."""
    assert decide([rec(GRANT, Channel.WHATSAPP, 0)], None).allowed


@given(
    st.lists(
        st.tuples(st.sampled_from([GRANT, REVOKE]), st.sampled_from(PHONE_CHANNELS)), max_size=8
    ),
    st.sampled_from(PHONE_CHANNELS),
)
def test_allowed_only_on_a_grant_for_that_channel_since_the_last_revoke(
    steps: list[tuple[ConsentAction, Channel]], channel: Channel
) -> None:
    """Oracle: allowed exactly when a grant for ``channel`` follows every revoke, on any channel."""
    records = [rec(action, on, minute) for minute, (action, on) in enumerate(steps)]
    last_revoke = max((i for i, (action, _) in enumerate(steps) if action is REVOKE), default=-1)
    expected = any(action is GRANT and on is channel for action, on in steps[last_revoke + 1 :])
    assert decide(records, channel).allowed is expected


def ledger() -> Escalator:
    return Escalator(MemoryStore(), clock=FakeClock(T0))


def test_the_ledger_records_a_whatsapp_grant() -> None:
    esc = ledger()
    record = esc.consent.grant(PHONE, FORM, channel="whatsapp")
    assert record.channel is Channel.WHATSAPP
    assert esc.consent.decide(PHONE, "transactional", channel=Channel.WHATSAPP).allowed
    assert esc.consent.decide(PHONE, "transactional").reason == "no_consent"  # SMS by default


def test_the_ledger_defaults_to_the_address_channel() -> None:
    esc = ledger()
    assert esc.consent.grant(PHONE, FORM).channel is Channel.SMS
    assert esc.consent.grant(EMAIL, FORM).channel is Channel.EMAIL
    revoke = esc.consent.revoke(PHONE, FORM, channel=Channel.WHATSAPP)
    assert revoke.channel is Channel.WHATSAPP
    assert esc.consent.decide(PHONE, "transactional").reason == "revoked"


@pytest.mark.parametrize(
    ("address", "channel"),
    [(PHONE, "email"), (EMAIL, "sms"), (EMAIL, "whatsapp"), (PHONE, "fax"), (PHONE, "")],
)
def test_a_channel_that_cannot_reach_the_address_is_refused(
    address: Identity, channel: str
) -> None:
    esc = ledger()
    with pytest.raises(InvalidInput):
        esc.consent.grant(address, FORM, channel=channel)
    assert esc.consent.records(address) == []


def test_the_audit_event_says_which_channel() -> None:
    esc = ledger()
    esc.consent.grant(PHONE, FORM, channel="whatsapp")
    (event,) = [e for e in esc.store.events(esc.tenant) if e.kind == "consent.recorded"]
    assert event.data["channel"] == "whatsapp"
