"""A ConsentPolicy is checked whole when it is made, so no STOP or 2 a.m. text depends on it.

Found by a review: a confirmation text with an unknown placeholder was accepted,
and the STOP it answered then raised ``KeyError`` before its revoke was kept (the
number stayed granted); quiet hours set for marketing alone left transactional
texts free to go at 02:00.
"""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest

from escalate import (
    Channel,
    ConsentEvidence,
    ConsentPolicy,
    ConsentSource,
    Escalator,
    Identity,
    InboundMessage,
    InvalidInput,
    Purpose,
    Workflow,
)
from escalate.consent import QuietHours
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT, make_thread

PHONE = Identity.phone("+14155550142")  # Los Angeles
TWO_AM_IN_LA = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
#: A grant tied to the customer's public thread (a transactional grant answers a request).
TIED = ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text me about my case", thread_id="t1")


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("opt_out_confirmation", "{brand}: you're unsubscribed, {first_name}."),
        ("opt_in_confirmation", "{brand}: welcome back {name}."),
        ("help_text", "{brand}: help at {url}. Reply STOP to opt out. Msg & data rates may apply."),
        ("opt_out_confirmation", "{brand}: bye {0}"),
    ],
)
def test_a_policy_text_with_an_unknown_placeholder_is_refused_when_made(
    name: str, text: str
) -> None:
    with pytest.raises(InvalidInput, match=name):
        ConsentPolicy(**{name: text})  # type: ignore[arg-type]


def test_a_stop_is_kept_with_every_policy_text_that_is_accepted() -> None:
    clock = FakeClock(datetime(2026, 3, 10, 18, 0, tzinfo=UTC))
    policy = ConsentPolicy(opt_out_confirmation="{brand}: unsubscribed. START to come back.")
    esc = Escalator(
        "memory://",
        transports=[MemoryTransport()],
        clock=clock,
        workflow=Workflow.default(brand="Acme"),
        consent_policy=policy,
    )
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, PHONE, consent=WEB_FORM_CONSENT)
    esc.inbound(
        InboundMessage(channel=Channel.SMS, sender=PHONE, body="STOP", received_at=clock.now())
    )
    assert esc.consent.decide(PHONE, "transactional").reason == "revoked"


def test_a_purpose_left_out_of_quiet_hours_keeps_the_default_hours() -> None:
    policy = ConsentPolicy(quiet_hours={Purpose.MARKETING: QuietHours(time(10), time(20))})
    assert policy.quiet_hours[Purpose.TRANSACTIONAL] == QuietHours()
    esc = Escalator("memory://", clock=FakeClock(TWO_AM_IN_LA), consent_policy=policy)
    esc.consent.grant(PHONE, TIED)
    night = esc.consent.decide(PHONE, "transactional")
    assert (night.allowed, night.reason) == (False, "quiet_hours")


def test_only_an_explicit_none_means_any_hour() -> None:
    policy = ConsentPolicy(quiet_hours={Purpose.TRANSACTIONAL: None})
    esc = Escalator("memory://", clock=FakeClock(TWO_AM_IN_LA), consent_policy=policy)
    esc.consent.grant(PHONE, TIED)
    assert esc.consent.decide(PHONE, "transactional").allowed


def test_quiet_hours_that_are_no_quiet_hours_are_refused() -> None:
    with pytest.raises(InvalidInput, match="QuietHours or None"):
        ConsentPolicy(quiet_hours={Purpose.MARKETING: (time(10), time(20))})  # type: ignore[dict-item]
