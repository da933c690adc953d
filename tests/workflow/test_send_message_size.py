"""An SMS ``SendMessage`` carries its segments and encoding, whoever builds it."""

from __future__ import annotations

from escalate import Channel, Identity
from escalate.workflow import SendMessage

PHONE = Identity.phone("+14155550100")


def test_an_sms_built_by_hand_says_what_it_costs() -> None:
    """A custom step's SMS is sized from its body, as the default steps' are."""
    message = SendMessage(channel=Channel.SMS, to=PHONE, body="Case K7QP-3M 🙂 " + "x" * 60)
    assert (message.segments, message.encoding) == (2, "UCS-2")


def test_a_size_given_is_kept_and_other_channels_get_none() -> None:
    """An explicit figure is the builder's; WhatsApp and email are not segmented."""
    given = SendMessage(channel=Channel.SMS, to=PHONE, body="hi", segments=3, encoding="GSM-7")
    assert (given.segments, given.encoding) == (3, "GSM-7")
    email = Identity.email("a@example.com")
    for channel, to in ((Channel.WHATSAPP, PHONE), (Channel.EMAIL, email)):
        message = SendMessage(channel=channel, to=to, body="hi")
        assert (message.segments, message.encoding) == (None, None)


def test_a_stored_row_without_a_size_reads_with_one() -> None:
    """A row written before the size was filled in gets it when read back."""
    stored = SendMessage(channel=Channel.WHATSAPP, to=PHONE, body="{curly}").model_dump(mode="json")
    read = SendMessage.model_validate({**stored, "channel": "sms"})
    assert (read.segments, read.encoding) == (1, "GSM-7")
