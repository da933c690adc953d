"""Signed reply-to addresses read back from recipient headers as they arrive."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import Channel, Identity, InboundMessage, InvalidInput, ReplyAddressing
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import REPLIES, make_thread
from tests.workflow.conftest import MakeEsc
from tests.workflow.test_fallback_threading import EMAIL, EMAIL_CONSENT

handoff_ids = st.from_regex(r"ho_[0-9a-f]{32}", fullmatch=True)
others = st.sampled_from(["", "jane@example.com", "Bob <bob@example.org>", "support@acme.example"])


def quoted(address: str) -> str:
    local, _, domain = address.rpartition("@")
    return f'"{local}"@{domain}'


# How a To or Cc header may carry the address: what mail clients and servers write.
FORMS = [
    "{a}",
    "<{a}>",
    "Acme Support <{a}>",
    '"Acme, Support" <{a}>',
    "=?utf-8?q?Acme_S=C3=BCpport?= <{a}>",
    "{a} (Acme Support)",
    "Acme\r\n <{a}>",
    "{other}, {a}",
    "{a}, {other}",
    "Jane <jane@example.com>,\r\n\tAcme <{a}>",
    "{q}",
    "Acme <{q}>",
]


@given(handoff_ids, st.sampled_from(FORMS), others, st.booleans())
def test_a_signed_address_is_found_in_any_recipient_header(
    handoff_id: str, form: str, other: str, upper: bool
) -> None:
    """Display names, encoded words, comments, folding, quoting and other recipients around it."""
    address = REPLIES.address_for(handoff_id)
    header = form.format(a=address, q=quoted(address), other=other or "jane@example.com")
    assert REPLIES.resolve(header.upper() if upper else header) == handoff_id


@given(st.one_of(st.text(), st.binary(), st.none(), st.integers(), st.lists(st.text())))
def test_junk_is_no_address_and_never_raises(junk: object) -> None:
    """Whatever a webhook hands over, resolve answers None rather than raising."""
    assert REPLIES.resolve(junk) is None  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "nested", ["(" * 1_000, "a:" * 1_000, "Jane <jane@example.com>, " + "(" * 5_000]
)
def test_a_header_nested_past_the_parsers_depth_is_no_address(nested: str) -> None:
    """getaddresses recurses once per "(" or group: resolve raised RecursionError."""
    assert REPLIES.resolve(nested) is None


@given(handoff_ids, st.text(max_size=20), st.text(max_size=20))
def test_junk_around_a_signed_address_never_raises(
    handoff_id: str, before: str, after: str
) -> None:
    """Text glued around a real address gives that handoff or None, never an error."""
    found = REPLIES.resolve(before + REPLIES.address_for(handoff_id) + after)
    assert found in (None, handoff_id)


def test_a_reply_to_all_from_another_address_reaches_the_case(
    make_esc: MakeEsc, clock: FakeClock
) -> None:
    """The webhook passed the whole To header: the signed address among others still routes."""
    esc = make_esc(reply_to=REPLIES)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, EMAIL, consent=EMAIL_CONSENT)
    to = f'"Jane Doe" <jane@example.com>,\r\n Acme Support <{REPLIES.address_for(handoff.id)}>'
    message = InboundMessage(
        channel=Channel.EMAIL,
        sender=Identity.email("jane.work@example.org"),  # linked to nobody
        body="photos attached",
        received_at=clock.now(),
        recipient=to,
    )
    matched = esc.inbound(message)
    assert matched is not None
    assert matched.id == handoff.id
    assert esc.handoff_for_reply_address(None) is None  # type: ignore[arg-type]


OLD_KEY, NEW_KEY = b"0123456789abcdef-secret", b"fedcba9876543210-rotated"


@given(handoff_ids)
def test_a_rotated_key_still_reads_the_addresses_the_old_one_signed(handoff_id: str) -> None:
    """With the old key kept in previous_secrets, mail signed before the rotation routes."""
    before = ReplyAddressing("support@acme.example", OLD_KEY).address_for(handoff_id)
    rotated = ReplyAddressing("support@acme.example", NEW_KEY, previous_secrets=(OLD_KEY,))
    assert rotated.resolve(before) == handoff_id
    assert rotated.resolve(rotated.address_for(handoff_id)) == handoff_id
    assert rotated.address_for(handoff_id) != before  # new mail is signed with the new key
    assert ReplyAddressing("support@acme.example", NEW_KEY).resolve(before) is None


def test_previous_secrets_are_checked_and_hidden() -> None:
    """A short or non-bytes previous key is refused; none of the keys shows in repr."""
    for bad in ((b"short",), ("text-is-not-bytes-key",), [OLD_KEY]):
        with pytest.raises(InvalidInput):
            ReplyAddressing("support@acme.example", NEW_KEY, previous_secrets=bad)  # type: ignore[arg-type]
    shown = repr(ReplyAddressing("support@acme.example", NEW_KEY, previous_secrets=(OLD_KEY,)))
    assert "secret" not in shown.replace("previous_secrets=<1 hidden>", "").replace(
        "secret=<hidden>", ""
    )
    assert "0123" not in shown
    assert "fedc" not in shown


def test_replies_to_mail_sent_before_a_key_rotation_reach_their_case(
    make_esc: MakeEsc, clock: FakeClock, sms: MemoryTransport
) -> None:
    """The deployment rotated its key mid-conversation: the customer's reply still routes."""
    old = ReplyAddressing("support@acme.example", OLD_KEY)
    esc = make_esc(reply_to=old)
    handoff = esc.open(make_thread(clock))
    esc.contact_provided(handoff.id, EMAIL, consent=EMAIL_CONSENT)
    (intro,) = sms.sent
    rotated = ReplyAddressing("support@acme.example", NEW_KEY, previous_secrets=(OLD_KEY,))
    esc = make_esc(reply_to=rotated)
    message = InboundMessage(
        channel=Channel.EMAIL,
        sender=Identity.email("jane.work@example.org"),
        body="photos attached",
        received_at=clock.now(),
        recipient=intro.headers["Reply-To"],
    )
    matched = esc.inbound(message)
    assert matched is not None
    assert matched.id == handoff.id
