"""Reply classification: keywords per locale, YES only when pending, free-text revocation."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from escalate import InvalidInput
from escalate.consent import DEFAULT_KEYWORDS, KeywordSet, ReplyIntent, classify, classify_reply

#: Replies that revoke consent: keywords in every spelling, and free text (FCC 2025-04-11).
REVOKING = [
    "STOP", "stop", "Stop.", "STOP!!!", "  stop  ", "Stop 🛑", "STOPALL", "stop all",
    "UNSUBSCRIBE", "Unsubscribe.", "cancel", "CANCEL!", "End", "quit", "REVOKE", "OPTOUT",
    "Opt out", "OPT-OUT", "opt out!",
    "please stop", "stop please", "STOP STOP STOP", "pls stop", "stop it now", "cancel pls",
    "unsubscribe me", "Unsubscribe me please",
    "please stop texting me", "Stop texting me please", "stop sending me messages",
    "Please stop messaging this number", "Stop sending these alerts", "stop the texts",
    "quit texting me", "end these messages", "I want to opt out",
    "I'd like to opt out of these texts", "opt me out", "Don't text me again",
    "do not contact me anymore", "never message me again", "take me off your list",
    "Remove me from your mailing list", "remove my number", "Please remove me",
    "no more texts please", "leave me alone", "I revoke my consent to receive messages",
    "I withdraw my consent", "cancel my subscription", "how do I unsubscribe?",
    "Stop. Bothering. Me.", "stop contacting me",
    "STOP\n\nSent from my iPhone", "STOP. Wrong number", "who is this? stop", "STOP - John",
    "YES STOP", "stop stop stop stop stop stop stop", "Thanks. End",
    # Found by a review: abbreviations, a demonstrative, spelt out, a hidden soft hyphen.
    "stop msgs", "stop txt", "stop txts", "stop these", "No more msgs", "S.T.O.P",
    "s-t-o-p", "S T O P", "ST\u00adOP", "sto\u200bp please",
]  # fmt: skip

#: Replies that merely contain such a word in another sense, or are ordinary replies.
NOT_REVOKING = [
    "my order won't stop failing", "cancel my order please", "cancel the reservation for Friday",
    "the app keeps crashing, can't stop it", "The noise won't stop", "order 1234 never arrived",
    "thanks, that fixed it", "when does the sale end?", "The end of the month is fine",
    "I want to quit my job lol", "Can you help me with my refund?", "yes", "Yes please",
    "don't stop texting me, this is helpful", "I never said stop", "hello",
    "what's my tracking number", "my package stopped moving in Memphis",
    "the driver didn't stop at my house", "Stop by the store tomorrow?",
    "I can't end the call on your app", "ok", "STOPPED by the store, no luck", "",
    "   ", "The bus stop is where I left it", "Can I cancel and reorder?",
    "I can't stop. Please help", "Bus stop. Thanks", "Don't stop, it's fine", "No, don't stop",
    "Cancel? No!", "no, cancel that", "Wait, stop, I made a mistake in the form",
    "Nevermind, cancel that", "cancel that, I found it", "Stop!  Don't close the ticket yet",
    "End? No, it keeps going", "Cancel - no wait, keep it",
    "Stop (the old address). New one is 5 Main St", "I said stop it!! The alarm keeps going",
    "U.S.A. orders ship Monday?", "I.O.U. a thanks", "plan a b c didn't work",
]  # fmt: skip


def test_the_table_is_large_enough() -> None:
    """The free-text table holds at least 40 real-looking messages, in both directions."""
    assert len(REVOKING) + len(NOT_REVOKING) >= 40
    assert len(REVOKING) >= 20
    assert len(NOT_REVOKING) >= 20


@pytest.mark.parametrize("text", REVOKING)
def test_revoking_replies_are_opt_out(text: str) -> None:
    """Each keyword spelling and each free-text revocation classifies as opt_out."""
    assert classify_reply(text) is ReplyIntent.OPT_OUT


@pytest.mark.parametrize("text", NOT_REVOKING)
def test_other_senses_are_not_opt_out(text: str) -> None:
    """A revocation word in another sense, or an ordinary reply, is not an opt-out."""
    assert classify_reply(text) is not ReplyIntent.OPT_OUT


@pytest.mark.parametrize("text", ["START", "start", "Unstop", "UNSTOP!"])
def test_start_and_unstop_opt_in(text: str) -> None:
    """START and UNSTOP are opt-in keywords."""
    assert classify_reply(text) is ReplyIntent.OPT_IN


@pytest.mark.parametrize("text", ["HELP", "help?", "Info", "INFO."])
def test_help_and_info(text: str) -> None:
    """HELP and INFO ask for the help text."""
    assert classify_reply(text) is ReplyIntent.HELP


@pytest.mark.parametrize("text", ["YES", "yes", "Y", "Yes!"])
def test_yes_opts_in_only_when_pending(text: str) -> None:
    """YES is opt_in only as the answer to a pending double opt-in."""
    assert classify_reply(text, pending_opt_in=True) is ReplyIntent.OPT_IN
    assert classify_reply(text) is ReplyIntent.NONE


def test_keywords_are_whole_message() -> None:
    """A keyword inside a longer ordinary sentence is not a keyword."""
    assert classify_reply("I need help with my order") is ReplyIntent.NONE
    assert classify_reply("start the refund please") is ReplyIntent.NONE


def test_free_text_is_reported_as_such() -> None:
    """classify() says which rule decided and whether it read free text."""
    assert classify("STOP").rule == "keyword"
    assert not classify("STOP").free_text
    # Per se, as the FCC reads it: a policy that reviews free text still revokes these.
    assert (classify("stop please").rule, classify("stop please").free_text) == (
        "keyword_with_filler",
        False,
    )
    sentence = classify("STOP. Wrong number")
    assert (sentence.rule, sentence.free_text) == ("keyword_sentence", True)
    verdict = classify("please stop texting me")
    assert verdict.free_text
    assert verdict.rule == "stop_messaging"


@pytest.mark.parametrize(
    ("text", "locale", "intent"),
    [
        ("PARAR", "es", ReplyIntent.OPT_OUT),
        ("baja", "es-MX", ReplyIntent.OPT_OUT),
        ("STOP", "es", ReplyIntent.OPT_OUT),  # English opt-outs hold in every locale
        ("AYUDA", "es_US", ReplyIntent.HELP),
        ("COMENZAR", "es", ReplyIntent.OPT_IN),
        ("ARRÊT", "fr", ReplyIntent.OPT_OUT),
        ("aide", "fr-CA", ReplyIntent.HELP),
        ("por favor deja de escribirme", "es", ReplyIntent.NONE),  # free text is English-only
    ],
)
def test_locales(text: str, locale: str, intent: ReplyIntent) -> None:
    """Keyword sets are per locale; the English opt-out words count everywhere."""
    assert classify_reply(text, locale=locale) is intent


def test_si_confirms_a_pending_spanish_opt_in() -> None:
    """SÍ answers a pending double opt-in in Spanish."""
    assert classify_reply("Sí", locale="es", pending_opt_in=True) is ReplyIntent.OPT_IN


@pytest.mark.parametrize(
    ("text", "locale", "intent"),
    [
        ("OPT OUT\n\nSent from my iPhone", "es", ReplyIntent.OPT_OUT),
        ("opt out - Jean", "fr", ReplyIntent.OPT_OUT),
        ("No, el pedido no llegó. Fin.", "es", ReplyIntent.NONE),
        ("Alto, no funciona", "es", ReplyIntent.NONE),
    ],
)
def test_keyword_sentences_in_other_locales(text: str, locale: str, intent: ReplyIntent) -> None:
    """A multi-word keyword on its own line counts; a retracted one does not."""
    assert classify_reply(text, locale=locale) is intent


def test_a_bare_y_confirms_only_in_english() -> None:
    """In Spanish "y" is "and": only YES stands in for SÍ."""
    assert classify_reply("Y", locale="es", pending_opt_in=True) is ReplyIntent.NONE
    assert classify_reply("Y", pending_opt_in=True) is ReplyIntent.OPT_IN


@pytest.mark.parametrize(
    ("text", "intent"),
    [("YES", ReplyIntent.OPT_IN), ("HELP", ReplyIntent.HELP), ("START", ReplyIntent.OPT_IN)],
)
def test_every_locale_honours_the_english_words(text: str, intent: ReplyIntent) -> None:
    """Carriers answer HELP and START everywhere, and "Responde YES" is answered with YES."""
    for locale in ("es", "fr", "es-MX"):
        assert classify_reply(text, locale=locale, pending_opt_in=True) is intent


def test_keyword_sets_are_configurable() -> None:
    """A caller's own keyword set replaces the default for its locale."""
    custom = {
        **DEFAULT_KEYWORDS,
        "en": KeywordSet.of(opt_out=("STOP", "BASTA"), opt_in=("GO",), help=("SOS",)),
    }
    assert classify_reply("basta", keywords=custom) is ReplyIntent.OPT_OUT
    assert classify_reply("go", keywords=custom) is ReplyIntent.OPT_IN
    assert classify_reply("sos", keywords=custom) is ReplyIntent.HELP
    assert classify_reply("help", keywords=custom) is ReplyIntent.NONE


@pytest.mark.parametrize("bad", [None, 42, b"STOP"])
def test_non_string_text_is_refused(bad: object) -> None:
    """A reply that is not a string raises InvalidInput (a ValueError)."""
    with pytest.raises(InvalidInput):
        classify_reply(bad)  # type: ignore[arg-type]


def test_unknown_locale_is_refused() -> None:
    """A locale with no keyword set raises InvalidInput rather than guessing."""
    with pytest.raises(InvalidInput, match="no keywords"):
        classify_reply("STOP", locale="xx")


@given(st.text(max_size=200), st.booleans())
def test_classifier_is_total(text: str, pending: bool) -> None:
    """Any string classifies to one of the intents without raising."""
    assert classify_reply(text, pending_opt_in=pending) in set(ReplyIntent)


@given(
    st.sampled_from(
        ["STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"]
    ),
    st.sampled_from(["", " ", "  ", "\t"]),
    st.sampled_from(["", ".", "!", "!!", "?", " .", "..."]),
    st.booleans(),
)
def test_opt_out_keywords_survive_case_space_and_punctuation(
    word: str, pad: str, tail: str, lower: bool
) -> None:
    """Every opt-out keyword is recognized trimmed, in any case, with trailing punctuation."""
    text = pad + (word.lower() if lower else word) + tail + pad
    assert classify_reply(text) is ReplyIntent.OPT_OUT


@given(
    st.sampled_from(["STOP", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE"]),
    st.lists(st.sampled_from(["\u00ad", "\u200b", "\u200d", "\u2060", "\ufeff"]), max_size=3),
    st.data(),
)
def test_invisible_characters_never_hide_an_opt_out(
    word: str, hidden: list[str], data: st.DataObject
) -> None:
    """A soft hyphen or zero-width character anywhere in a keyword: still an opt-out."""
    letters = list(word)
    for char in hidden:
        letters.insert(data.draw(st.integers(0, len(letters))), char)
    assert classify_reply("".join(letters)) is ReplyIntent.OPT_OUT


@given(
    st.sampled_from(["STOP", "QUIT", "END", "CANCEL"]),
    st.sampled_from([".", "-", " "]),
    st.booleans(),
)
def test_a_keyword_spelt_out_letter_by_letter_is_an_opt_out(
    word: str, gap: str, trailing: bool
) -> None:
    text = gap.join(word) + ("." if trailing and gap == "." else "")
    assert classify_reply(text) is ReplyIntent.OPT_OUT


#: Look-alikes of each Latin letter, as a phone renders them, from the scripts a
#: keyboard or a "fancy text" app offers (Greek, Cyrillic, small capitals, regional
#: indicators); the classifier's table must map every one of them.
LOOKALIKES = {
    "A": "ΑА\U0001f1e6", "B": "ΒВ", "C": "С\U0001f1e8", "E": "ΕЕ\U0001f1ea", "H": "ΗН",
    "I": "ΙІ", "K": "ΚК", "M": "ΜМ", "N": "Ν\U0001f1f3", "O": "ΟО\U0001f1f4",
    "P": "ΡР\U0001f1f5", "Q": "Ԛ", "S": "Ѕ\U0001f1f8", "T": "ΤТ\U0001f1f9", "U": "\U0001f1fa",
    "X": "ΧХ", "Y": "ΥУ\U0001f1fe", "a": "αаᴀ", "c": "сᴄ", "e": "еᴇ", "i": "ιіɪ", "k": "κᴋ",
    "n": "ɴ", "o": "οоᴏ", "p": "ρрᴘ", "q": "ԛ", "r": "ʀ", "s": "ѕꜱ", "t": "тᴛ", "u": "υᴜ",
    "v": "νᴠ", "y": "уʏ",
}  # fmt: skip


def _disguise(word: str, data: st.DataObject, *, letters_only: bool = False) -> str:
    """``word`` with at least one letter, and maybe more, swapped for a look-alike.

    ``letters_only`` leaves out the regional indicators: they are symbols, which
    the classifier drops around a reply like any emoji ("Y" + a flag is a Y).
    """

    def lookalikes(letter: str) -> list[str]:
        return [c for c in LOOKALIKES.get(letter, "") if not letters_only or c.isalpha()]

    swappable = [index for index, letter in enumerate(word) if lookalikes(letter)]
    chosen = data.draw(st.sets(st.sampled_from(swappable), min_size=1))
    return "".join(
        data.draw(st.sampled_from(lookalikes(letter))) if index in chosen else letter
        for index, letter in enumerate(word)
    )


@given(
    st.sampled_from(["STOP", "stop", "Stop", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "STOPALL"]),
    st.sampled_from(["", "please ", "STOP "]),
    st.data(),
)
def test_look_alike_letters_never_hide_an_opt_out(
    word: str, before: str, data: st.DataObject
) -> None:
    """A Greek Tau, a Cyrillic Es, a small capital in a keyword: still an opt-out."""
    assert classify_reply(before + _disguise(word, data)) is ReplyIntent.OPT_OUT


@pytest.mark.parametrize(
    "text",
    ["S\u03a4OP", "\u0405\u0422\u041e\u0420", "\ua731\u1d1b\u1d0f\u1d18",
     "\U0001f1f8\U0001f1f9\U0001f1f4\U0001f1f5", "please st\u03bfp texting me"],
)  # fmt: skip
def test_look_alike_stops(text: str) -> None:
    assert classify_reply(text) is ReplyIntent.OPT_OUT


@given(st.sampled_from(["YES", "Yes", "START", "UNSTOP", "HELP", "INFO", "SI", "OUI"]), st.data())
def test_look_alike_letters_grant_nothing(word: str, data: st.DataObject) -> None:
    """Consent is read from what the customer wrote: a look-alike YES or START is no answer.

    (A disguise may still leave an opt-out: "UNЅTOP" is read as a STOP, the safe way.)
    """
    text = _disguise(word, data, letters_only=True)
    for locale in ("en", "es"):
        intent = classify_reply(text, locale=locale, pending_opt_in=True)
        assert intent not in (ReplyIntent.OPT_IN, ReplyIntent.HELP)


@pytest.mark.parametrize("text", ["СТОП", "Τέλος", "спасибо", "Ευχαριστώ", "ОК"])
def test_words_of_other_scripts_are_not_opt_outs(text: str) -> None:
    """Folding applies to whole replies, yet ordinary Greek and Cyrillic words stay words."""
    assert classify_reply(text) is ReplyIntent.NONE


@pytest.mark.parametrize(
    ("text", "locale"),
    [("Yes please", "en"), ("yes, thank you!", "en"), ("y pls", "en"), ("Sí, por favor", "es"),
     ("oui merci", "fr"), ("YES YES", "en")],
)  # fmt: skip
def test_a_confirmation_with_thanks_confirms_only_when_pending(text: str, locale: str) -> None:
    assert classify(text, locale=locale, pending_opt_in=True).rule == "confirm_with_filler"
    assert classify_reply(text, locale=locale) is ReplyIntent.NONE


@pytest.mark.parametrize(
    ("text", "intent"),
    [("yes stop", ReplyIntent.OPT_OUT), ("yes please stop texting me", ReplyIntent.OPT_OUT),
     ("yes but not now", ReplyIntent.NONE), ("ok", ReplyIntent.NONE),
     ("yes please call me instead", ReplyIntent.NONE), ("y por favor", ReplyIntent.NONE)],
)  # fmt: skip
def test_what_is_more_than_thanks_does_not_confirm(text: str, intent: ReplyIntent) -> None:
    locale = "es" if "favor" in text else "en"
    assert classify_reply(text, locale=locale, pending_opt_in=True) is intent


@pytest.mark.parametrize("text", ["!" * 40_000 + "x", "a" + " !" * 40_000 + "x"])
def test_long_punctuation_runs_are_read_in_linear_time(text: str) -> None:
    """The trailing-punctuation rule re-read a run from each of its characters: a
    reply of 40,000 "!" (an email's text may hold 100,000 characters) took 16 s."""
    start = time.process_time()
    assert classify_reply(text) is ReplyIntent.NONE
    assert time.process_time() - start < 2
