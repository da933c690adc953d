"""An inbound message's sender must be an address its channel carries."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import Channel, Identity, InboundMessage, InvalidInput

AT = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
PHONE = Identity.phone("+14155550100")
EMAIL = Identity.email("jane@example.com")
X_DM = Identity.social("x", "42", "jane_d")
FITS = {Channel.SMS: PHONE, Channel.WHATSAPP: PHONE, Channel.EMAIL: EMAIL}


@given(channel=st.sampled_from(list(Channel)), sender=st.sampled_from([PHONE, EMAIL, X_DM]))
def test_sender_kind_is_checked_against_the_channel(channel: Channel, sender: Identity) -> None:
    """SMS/WhatsApp take a phone, email an email, any channel a DM's social sender; else refused."""
    fits = sender == FITS[channel] or sender == X_DM
    if fits:
        assert (
            InboundMessage(channel=channel, sender=sender, body="hi", received_at=AT).sender
            == sender
        )
    else:
        with pytest.raises(InvalidInput, match=f"{channel.value} message's sender"):
            InboundMessage(channel=channel, sender=sender, body="hi", received_at=AT)


def test_refusal_does_not_echo_the_address() -> None:
    """The error names kinds only, never the phone number or email it was given."""
    with pytest.raises(InvalidInput) as caught:
        InboundMessage(channel=Channel.EMAIL, sender=PHONE, body="hi", received_at=AT)
    assert PHONE.value not in str(caught.value)
    assert "Identity.email" in str(caught.value)
