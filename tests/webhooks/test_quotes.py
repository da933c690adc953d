"""strip_quoted: the customer's words of an email reply, without the message it quotes."""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate.consent import ReplyIntent, classify_reply
from escalate.webhooks import strip_quoted

ADDRESS = "support+ho_0123456789abcdef.0123456789abcdef0123@acme.example"
EARLIER = "Hi,\n\nWe've shipped a replacement. Reply STOP to opt out of these emails.\n\nAcme"


# Plain-text replies as each client writes them (top-posted, the default everywhere).
def gmail(reply: str, earlier: str) -> str:
    # Gmail wraps a long attribution line, here before the address.
    quoted = "\n".join(f"> {line}" if line else ">" for line in earlier.split("\n"))
    return (
        f"{reply}\n\nOn Mon, Jan 5, 2026 at 10:02 AM Acme Support <\n{ADDRESS}> wrote:\n\n"
        f"{quoted}\n"
    )


def outlook(reply: str, earlier: str) -> str:
    return (
        f"{reply}\r\n\r\n________________________________\r\nFrom: Acme Support <{ADDRESS}>\r\n"
        "Sent: Monday, January 5, 2026 10:02 AM\r\nTo: Jane Doe <jane@example.com>\r\n"
        f"Subject: Your case K7QP-3M\r\n\r\n{earlier.replace(chr(10), chr(13) + chr(10))}\r\n"
    )


def outlook_classic(reply: str, earlier: str) -> str:
    return (
        f"{reply}\n\n-----Original Message-----\nFrom: Acme Support <{ADDRESS}>\n"
        f"Sent: Monday, January 5, 2026 10:02 AM\nSubject: Your case K7QP-3M\n\n{earlier}\n"
    )


def outlook_mac(reply: str, earlier: str) -> str:
    return (
        f"{reply}\n\nFrom: Acme Support <{ADDRESS}>\nDate: Monday, 5 January 2026 at 10:02\n"
        f"To: Jane Doe <jane@example.com>\nSubject: Your case K7QP-3M\n\n{earlier}\n"
    )


def apple_ios(reply: str, earlier: str) -> str:
    quoted = "\n".join(f"> {line}" for line in earlier.split("\n"))
    return (
        f"{reply}\n\nSent from my iPhone\n\n> On Jan 5, 2026, at 10:02 AM, Acme Support "
        f"<{ADDRESS}> wrote:\n> \n> \ufeff{quoted[2:]}\n"
    )


def apple_mac(reply: str, earlier: str) -> str:
    quoted = "\n".join(f"> {line}" for line in earlier.split("\n"))
    return f"{reply}\n\n> On 5 Jan 2026, at 10:02, Acme Support <{ADDRESS}> wrote:\n> \n{quoted}\n"


def _gmail_in(attribution: str) -> Callable[[str, str], str]:
    """Gmail in another language: its attribution, then the '>'-quoted message."""

    def client(reply: str, earlier: str) -> str:
        quoted = "\n".join(f"> {line}" if line else ">" for line in earlier.split("\n"))
        return f"{reply}\n\n{attribution.format(address=ADDRESS)}\n\n{quoted}\n"

    return client


def _outlook_in(sender: str, sent: str) -> Callable[[str, str], str]:
    """Outlook in another language: its header block, the message unquoted."""

    def client(reply: str, earlier: str) -> str:
        return (
            f"{reply}\n\n________________________________\n{sender} Acme Support <{ADDRESS}>\n"
            f"{sent} lunes, 5 de enero de 2026 10:02\nAsunto: K7QP-3M\n\n{earlier}\n"
        )

    return client


#: The same, with no '>' on the quoted lines (some clients, and forwards, do not mark them).
def _unmarked(attribution: str) -> Callable[[str, str], str]:
    def client(reply: str, earlier: str) -> str:
        # Our messages start no line with '>'; one that did would read as a marked quote.
        earlier = "\n".join(re.sub(r"^[\s>]+", "", line) for line in earlier.split("\n"))
        return f"{reply}\n\n{attribution.format(address=ADDRESS)}\n\n{earlier}\n"

    return client


ATTRIBUTIONS = {
    "es": "El lun, 5 ene 2026 a las 10:02, Acme Support (<{address}>) escribió:",
    "fr": "Le lun. 5 janv. 2026 à 10:02, Acme Support <{address}> a écrit :",
    "de": "Am Mo., 5. Jan. 2026 um 10:02 Uhr schrieb Acme Support <\n{address}>:",
    "pt": "Em seg., 5 de jan. de 2026 às 10:02, Acme Support <{address}> escreveu:",
    "it": "Il giorno lun 5 gen 2026 alle ore 10:02 Acme Support <{address}> ha\nscritto:",
    "nl": "Op ma 5 jan 2026 om 10:02 schreef Acme Support <{address}>:",
}
HEADER_BLOCKS = {
    "es": ("De:", "Enviado:"),
    "fr": ("De :", "Envoyé :"),
    "de": ("Von:", "Gesendet:"),
    "pt": ("De:", "Enviada:"),
    "it": ("Da:", "Inviato:"),
    "nl": ("Van:", "Verzonden:"),
}
CLIENTS: dict[str, Callable[[str, str], str]] = {
    "gmail": gmail,
    "outlook": outlook,
    "outlook_classic": outlook_classic,
    "outlook_mac": outlook_mac,
    "apple_ios": apple_ios,
    "apple_mac": apple_mac,
}
CLIENTS |= {f"gmail_{lang}": _gmail_in(line) for lang, line in ATTRIBUTIONS.items()}
CLIENTS |= {f"unmarked_{lang}": _unmarked(line) for lang, line in ATTRIBUTIONS.items()}
CLIENTS |= {f"outlook_{lang}": _outlook_in(*block) for lang, block in HEADER_BLOCKS.items()}
#: What the client adds to the customer's own words, above the quote.
FOOTERS = {"apple_ios": "\n\nSent from my iPhone"}


def _plain(line: str) -> bool:
    """A line the rule leaves alone: no quote mark, attribution, separator or header block."""
    text = line.strip()
    return not (
        text.startswith((">", "On ", "El ", "Le ", "Am ", "Em ", "Il ", "Op ", "--", "__"))
        or text.lower().replace(" :", ":").startswith(("from:", "de:", "von:", "da:", "van:"))
    )


LINE = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40
).filter(_plain)
REPLY = st.lists(LINE, min_size=1, max_size=5).map("\n".join).filter(lambda r: r.strip())
EARLIER_TEXT = st.lists(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\r\n"), max_size=40),
    max_size=6,
).map("\n".join)


@pytest.mark.parametrize("client", sorted(CLIENTS))
@given(reply=REPLY, earlier=EARLIER_TEXT)
def test_each_client_quote_is_cut_whatever_the_texts(client: str, reply: str, earlier: str) -> None:
    """Whatever the customer wrote above and whatever we wrote before, only their words stay."""
    expected = (reply + FOOTERS.get(client, "")).strip()
    assert strip_quoted(CLIENTS[client](reply, earlier)) == expected


@pytest.mark.parametrize("client", sorted(CLIENTS))
def test_our_quoted_stop_instruction_does_not_revoke(client: str) -> None:
    """'Reply STOP to opt out' in our quoted message is no opt-out; a STOP above it is."""
    assert classify_reply(CLIENTS[client]("", EARLIER)) is ReplyIntent.OPT_OUT  # untrimmed
    assert classify_reply(strip_quoted(CLIENTS[client]("Thanks, got it!", EARLIER))) in (
        ReplyIntent.NONE
    )
    assert classify_reply(strip_quoted(CLIENTS[client]("STOP", EARLIER))) is ReplyIntent.OPT_OUT


def test_a_bottom_posted_or_interleaved_answer_stays() -> None:
    """An answer under a '>'-quoted block (or between its lines) is kept."""
    quoted = EARLIER.replace("\n", "\n> ")
    bottom = f"On Mon, Jan 5, 2026 at 10:02 AM Acme <{ADDRESS}> wrote:\n> {quoted}\n\nSTOP\n"
    assert strip_quoted(bottom) == "STOP"
    interleaved = "> Is the replacement working?\nYes, thanks.\n> Anything else?\nNo."
    assert strip_quoted(interleaved) == "Yes, thanks.\nNo."


def test_an_unmarked_quote_after_an_attribution_is_cut() -> None:
    """A client that does not mark quoted lines: everything from the attribution on goes."""
    text = f"Thanks!\n\nOn Monday, January 5, 2026, Acme <{ADDRESS}> wrote:\n\n{EARLIER}\n"
    assert strip_quoted(text) == "Thanks!"


def test_a_customer_sentence_shaped_like_an_attribution_is_kept() -> None:
    """No date, no attribution: "El técnico me escribió:" and what follows are theirs."""
    text = "El técnico me escribió:\nque no hay solución.\nNo me escriban más."
    assert strip_quoted(text) == text


def test_the_signature_is_cut() -> None:
    """Below the RFC 3676 delimiter is a signature, trailing space stripped or not."""
    assert strip_quoted("STOP\n-- \nJane Doe\nReply STOP to opt out") == "STOP"
    assert strip_quoted("Fine now.\n--\nJane") == "Fine now."


@given(st.text())
def test_never_raises_and_only_drops_lines(text: str) -> None:
    """Any text gives a subsequence of its own lines, none of them quoted."""
    result = strip_quoted(text)
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    remaining = iter(line.strip() for line in lines)
    assert all(line.strip() in remaining for line in result.split("\n") if result)
    assert not any(line.lstrip().startswith(">") for line in result.split("\n"))
