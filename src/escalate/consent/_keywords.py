"""What an inbound reply means for consent: keywords per locale and free-text revocation.

``classify_reply`` is pure. The rules, in order (the first that matches wins):

1. **Normalize**: Unicode NFKC, case-folded, accents kept; invisible format
   characters (a soft hyphen, a zero-width space) dropped; a word spelt out letter
   by letter ("S.T.O.P", "s-t-o-p") joined; surrounding whitespace, quotes and
   trailing punctuation or emoji are dropped, inner whitespace collapsed.
2. **Whole-message keywords** of the locale: opt-out (``STOP``, ``STOPALL``,
   ``UNSUBSCRIBE``, ``CANCEL``, ``END``, ``QUIT``, ``REVOKE``, ``OPTOUT``, ``OPT OUT``),
   opt-in (``START``, ``UNSTOP``), help (``HELP``, ``INFO``). Every locale also
   honours the English words: carriers do, a STOP must never be missed, and a
   customer answers "Reply YES" with YES whatever the language around it.
3. **Confirmation** (``YES``, ``Y``; ``SI`` in Spanish...) is ``opt_in`` only while a
   double opt-in is pending; otherwise it is an ordinary reply (``none``). With
   only thanks or politeness around it ("Yes please", "yes, thank you", "Sí, por
   favor") it confirms too, once the opt-out rules below have had their say
   ("yes stop" stays a STOP).
4. **Keyword with filler**: a message made only of opt-out keywords plus
   politeness or emphasis ("please stop", "STOP STOP", "unsubscribe me now",
   "cancel pls", "yes stop") is an opt-out: the FCC's 2025 order treats those
   words as a per se revocation when they are the reply.
5. **Keyword sentence**: a message one of whose sentences or lines is an opt-out
   keyword alone ("STOP. Wrong number", "STOP\n\nSent from my iPhone", "who is
   this? stop", "STOP - John") is an opt-out, unless a word in it retracts or
   negates ("Stop! Don't close the ticket yet", "Cancel - no wait, keep it").
   Commas do not part sentences ("Wait, stop, I made a mistake" is one).
6. **Free-text revocation** (English): a revocation verb aimed at *our messages*
   ("please stop texting me", "don't text me again", "take me off your list",
   "I want to opt out", "remove my number", "no more texts", "I revoke my
   consent"). A revocation word aimed at something else ("my order won't stop
   failing", "cancel my order", "the end of the month") matches no rule and is
   ``none``; a negated one ("don't stop texting me") is ``none`` too.

Anything else is ``none``. Rules 5 and 6 report ``free_text=True`` so a policy may
flag such messages for review instead of revoking; rule 4 is a per se revocation.

A reply that is not an opt-out as written is read once more with look-alike
letters from other scripts mapped to the Latin ones they imitate (a Greek ``Τ``,
a Cyrillic ``С``, small capitals, regional-indicator letters): "SΤOP" looks like
STOP on the phone, and a STOP must never be missed. Only an opt-out is taken
from that second reading; a look-alike "YES" or "START" grants nothing.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from escalate._enum import StrEnum
from escalate._exceptions import InvalidInput
from escalate._locale import language_of

__all__ = [
    "CONFIRMING_RULES",
    "DEFAULT_KEYWORDS",
    "Classification",
    "KeywordSet",
    "ReplyIntent",
    "classify",
    "classify_reply",
]


class ReplyIntent(StrEnum):
    """What a customer's reply asks for, as far as consent goes."""

    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    HELP = "help"
    NONE = "none"


#: Tried only where a run of them starts: from inside one, every later start
#: re-read the run to its end, and a reply of 40,000 "!" took 16 s.
_TRAILING = re.compile(r"(?<![\s\W_])[\s\W_]+$", re.UNICODE)
_LEADING = re.compile(r"^[\s\W_]+", re.UNICODE)
_SPACES = re.compile(r"\s+")
#: Three or more single letters joined by dots, hyphens or spaces, spelling a word.
_SPELT_OUT = re.compile(r"\b\w(?:[.\- ]\w\b){2,}\.?")
_LETTER_GAP = re.compile(r"[.\- ]")


#: Letters that render like a Latin letter but are not one: Greek and Cyrillic
#: capitals and small letters, Latin small capitals (which NFKC keeps), and the
#: regional indicators that "fancy text" keyboards offer. Case is kept, so a
#: Greek capital Nu (N) and its small letter (v) map apart.
_LOOKALIKES = str.maketrans(
    {
        **dict(zip("ΑΒΕΖΗΙΚΜΝΟΡΤΥΧαικνορυ", "ABEZHIKMNOPTYXaikvopu", strict=True)),
        **dict(zip("АВЕКМНОРСТХУІЈЅԚԜ", "ABEKMHOPCTXYIJSQW", strict=True)),
        **dict(zip("аеорсухіјѕԁһԛԝт", "aeopcyxijsdhqwt", strict=True)),
        **dict(zip("ᴀʙᴄᴅᴇꜰɢʜɪᴊᴋʟᴍɴᴏᴘʀꜱᴛᴜᴠᴡʏᴢ", "abcdefghijklmnoprstuvwyz", strict=True)),
        **{chr(0x1F1E6 + offset): chr(ord("A") + offset) for offset in range(26)},
    }
)


def _normalize(text: str) -> str:
    text = unicodedata.normalize("NFKC", text).casefold().replace("\u2019", "'")
    # Invisible format characters (a soft hyphen, a zero-width space) would hide
    # a keyword from every rule: "ST\u00adOP" reads as STOP on the phone.
    if not text.isascii():  # most replies are; they hold no such character
        text = "".join(char for char in text if unicodedata.category(char) != "Cf")
    # A word spelt out letter by letter ("S.T.O.P", "s-t-o-p") is that word.
    text = _SPELT_OUT.sub(lambda match: _LETTER_GAP.sub("", match.group()), text)
    text = _LEADING.sub("", _TRAILING.sub("", text))
    return _SPACES.sub(" ", text)


def _words(items: Iterable[str]) -> frozenset[str]:
    return frozenset(_normalize(item) for item in items)


@dataclass(frozen=True)
class KeywordSet:
    """The whole-message keywords of one locale (matched after normalization)."""

    opt_out: frozenset[str]
    opt_in: frozenset[str]
    help: frozenset[str]
    confirm: frozenset[str] = field(default_factory=frozenset)

    @classmethod
    def of(
        cls,
        *,
        opt_out: Iterable[str],
        opt_in: Iterable[str],
        help: Iterable[str],
        confirm: Iterable[str] = (),
    ) -> KeywordSet:
        """Build a set from words as typed (any case, any spacing)."""
        return cls(_words(opt_out), _words(opt_in), _words(help), _words(confirm))


ENGLISH = KeywordSet.of(
    opt_out=(
        "STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT",
        "OPT-OUT", "STOP ALL",
    ),
    opt_in=("START", "UNSTOP"),
    help=("HELP", "INFO"),
    confirm=("YES", "Y"),
)  # fmt: skip

#: Keyword sets by locale; pass your own mapping to ``classify_reply(keywords=...)``.
DEFAULT_KEYWORDS: Mapping[str, KeywordSet] = {
    "en": ENGLISH,
    "es": KeywordSet.of(
        opt_out=("PARAR", "ALTO", "BAJA", "CANCELAR", "DETENER", "FIN", "ELIMINAR"),
        opt_in=("COMENZAR", "INICIAR", "ALTA"),
        help=("AYUDA", "INFORMACION", "INFORMACIÓN"),
        confirm=("SI", "SÍ"),
    ),
    "fr": KeywordSet.of(
        opt_out=("ARRET", "ARRÊT", "STOP", "DESABONNER", "DÉSABONNER", "FIN"),
        opt_in=("DEMARRER", "DÉMARRER"),
        help=("AIDE",),
        confirm=("OUI",),
    ),
}

# -- free text (English) --------------------------------------------------------

#: Words that may surround a bare opt-out keyword without changing what it means.
#: Politeness, which changes neither an opt-out nor a confirmation.
_POLITE = frozenset({"please", "pls", "plz", "thanks", "thank", "you", "thx", "ok", "okay"})
_FILLER = _POLITE | frozenset(
    {
        "now", "it", "this", "that", "all", "me", "already", "just", "asap", "immediately",
        "right", "away", "and", "so", "i", "said", "yes", "these", "them",
    }
)  # fmt: skip
#: The rules by which a reply confirms a pending double opt-in (rule 3).
CONFIRMING_RULES = frozenset({"confirm", "confirm_with_filler"})
#: Words that may surround a confirmation without changing it (rule 3): a customer
#: answers "Reply YES" with "Yes please" or "yes, thank you" as often as with YES.
_CONFIRM_FILLER = _POLITE | frozenset({"sure", "por", "favor", "gracias", "merci", "svp"})
_TOKEN = re.compile(r"[\w'-]+")
#: Where a message's sentences or lines part (rule 5); read on the text as sent,
#: before normalizing joins its lines.
_SENTENCES = re.compile(r"[.!?\n\r]+|\s[-\u2013\u2014]+\s")
#: Words that retract or negate what a keyword sentence would say ("Stop! Don't
#: close the ticket", "Cancel - no wait, keep it", "No, el pedido no llegó. Fin."):
#: a message holding one is not read as a STOP by its sentences (rule 5).
_RETRACTING = frozenset(
    {
        "no", "not", "don't", "dont", "do", "wait", "nevermind", "never", "keep", "mistake",
        "sorry", "oops", "actually", "but", "until", "yet", "won't", "can't", "didn't",
    }
)  # fmt: skip
_OBJECT = (
    r"(?:text(?:ing|s)?|txts?|messag(?:e|es|ing)|msgs?|sms|email(?:s|ing)?|e-?mails?|"
    r"contact(?:ing)?|"
    r"call(?:ing|s)?|send(?:ing)?|spam(?:ming)?|notifications?|alerts?|updates?)"
)
_NEGATION = r"(?:don't|do not|dont|won't|will not|can't|cannot|doesn't|didn't|never|not)"
_REVOKE_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        # "please stop texting me", "stop sending me messages", "stop the texts"
        (
            "stop_messaging",
            rf"\b(?:stop|quit|cease|end)\b(?: \w+){{0,2}} {_OBJECT}\b",
        ),
        # "don't text me again", "do not contact me", "never message me"
        (
            "do_not_contact",
            r"\b(?:don't|do not|dont|never|no longer)\b (?:\w+ )?"
            r"(?:text|message|contact|email|sms|call|send)\b(?: \w+)? (?:me|us|this number)\b",
        ),
        # "unsubscribe me", "I want to unsubscribe", "how do I unsubscribe"
        ("unsubscribe", r"\bunsubscrib(?:e|ing)\b"),
        # "I want to opt out", "opt me out", "opting out"
        ("opt_out", r"\bopt(?:ing)?[- ]?(?:me )?out\b"),
        # "take me off your list", "remove me from the list", "remove my number"
        (
            "remove_me",
            r"\b(?:take|remove|delete|drop|get)\b (?:me|my (?:number|phone|email|name|details))"
            r"(?: \w+){0,2} (?:off|from)\b|\bremove (?:me|my (?:number|phone|email))\b",
        ),
        # "no more texts", "no more messages please"
        ("no_more", rf"\bno more {_OBJECT}\b"),
        # "I revoke my consent", "I withdraw consent", "I do not consent"
        (
            "revoke_consent",
            r"\b(?:revoke|withdraw|withdrawing|revoking|cancel)\b (?:\w+ )?(?:consent|permission)\b"
            r"|\bdo not consent\b|\bdon't consent\b",
        ),
        # "cancel my subscription", "cancel these texts", "end these messages"
        (
            "cancel_messages",
            rf"\b(?:cancel|end|quit)\b (?:my |these |the |this |all )?(?:subscription|{_OBJECT})\b",
        ),
        # "leave me alone", "stop bothering me"
        ("leave_me_alone", r"\bleave me alone\b|\bstop (?:bothering|harassing|pestering) me\b"),
    )
)
_NEGATED_STOP = re.compile(rf"\b{_NEGATION} (?:\w+ )?(?:stop|quit|cancel|end|unsubscribe)\b")


@dataclass(frozen=True)
class Classification:
    """``classify``'s full answer: the intent, the rule that decided, and whether it was free text.

    Attributes:
        intent: what the reply asks for.
        rule: ``keyword``, ``confirm``, ``confirm_with_filler``, ``keyword_with_filler``,
            a free-text rule name (``stop_messaging``, ``unsubscribe``...), or ``none``.
        free_text: True when the revocation was read from words, not a keyword.
    """

    intent: ReplyIntent
    rule: str
    free_text: bool = False


def _keywords_for(locale: str, keywords: Mapping[str, KeywordSet] | None) -> KeywordSet:
    if not isinstance(locale, str):
        raise InvalidInput("locale must be a string such as 'en'")
    table = DEFAULT_KEYWORDS if keywords is None else keywords
    language = language_of(locale)
    found = table.get(locale) or table.get(language)
    if found is None:
        raise InvalidInput(f"no keywords for locale {locale!r}; known: {sorted(table)}")
    return found


def classify(
    text: str,
    *,
    locale: str = "en",
    pending_opt_in: bool = False,
    keywords: Mapping[str, KeywordSet] | None = None,
) -> Classification:
    """Classify a reply and say which rule decided (see the module docstring).

    Raises:
        InvalidInput: ``text`` is not a string, or the locale has no keyword set.
    """
    if not isinstance(text, str):
        raise InvalidInput("a reply's text must be a string")
    words = _keywords_for(locale, keywords)
    found = _classify(text, locale, pending_opt_in, keywords, words)
    if found.intent is not ReplyIntent.OPT_OUT and not text.isascii():
        lookalike = text.translate(_LOOKALIKES)
        if lookalike != text:
            # Only a STOP is taken from the Latin reading: consent is granted
            # by what the customer wrote, never by what it resembles.
            read_as_latin = _classify(lookalike, locale, pending_opt_in, keywords, words)
            if read_as_latin.intent is ReplyIntent.OPT_OUT:
                return read_as_latin
    return found


def _classify(
    text: str,
    locale: str,
    pending_opt_in: bool,
    keywords: Mapping[str, KeywordSet] | None,
    words: KeywordSet,
) -> Classification:
    # English as the table has it (a caller may have replaced it), beside the
    # locale's own words; the default English opt-outs always, whatever the table.
    english = (DEFAULT_KEYWORDS if keywords is None else keywords).get("en", ENGLISH)
    opt_out = words.opt_out | english.opt_out | ENGLISH.opt_out
    message = _normalize(text)
    if not message:
        return Classification(ReplyIntent.NONE, "none")
    if message in opt_out:
        return Classification(ReplyIntent.OPT_OUT, "keyword")
    if message in words.opt_in | english.opt_in:
        return Classification(ReplyIntent.OPT_IN, "keyword")
    if message in words.help | english.help:
        return Classification(ReplyIntent.HELP, "keyword")
    confirm = words.confirm | (english.confirm if words is english else english.confirm - {"y"})
    if message in confirm:
        if pending_opt_in:
            return Classification(ReplyIntent.OPT_IN, "confirm")
        return Classification(ReplyIntent.NONE, "confirm_without_pending_opt_in")
    tokens = _TOKEN.findall(message)
    # Most replies hold no keyword at all: the rules below are skipped for them.
    # A keyword of two words ("opt out") is no single token: it is looked for whole.
    if any(token in opt_out for token in tokens) or any(
        " " in keyword and keyword in message for keyword in opt_out
    ):
        if _keyword_with_filler(tokens, opt_out):
            return Classification(ReplyIntent.OPT_OUT, "keyword_with_filler")
        if not any(token in _RETRACTING for token in tokens):
            for part in _SENTENCES.split(text):
                if _normalize(part) in opt_out:  # the keyword alone, nothing around it
                    return Classification(ReplyIntent.OPT_OUT, "keyword_sentence", free_text=True)
    if pending_opt_in and _confirm_with_filler(tokens, confirm):
        return Classification(ReplyIntent.OPT_IN, "confirm_with_filler")
    if language_of(locale) != "en":
        # Free-text rules are written for English; other locales get keywords only.
        return Classification(ReplyIntent.NONE, "none")
    plain = " ".join(tokens)
    negated = _NEGATED_STOP.search(plain)
    for name, pattern in _REVOKE_PATTERNS:
        match = pattern.search(plain)
        if match is None:
            continue
        if negated is not None and name in ("stop_messaging", "cancel_messages", "unsubscribe"):
            continue  # "don't stop texting me", "i didn't unsubscribe"
        return Classification(ReplyIntent.OPT_OUT, name, free_text=True)
    return Classification(ReplyIntent.NONE, "none")


def _keyword_with_filler(tokens: list[str], opt_out: frozenset[str]) -> bool:
    """Opt-out keywords, with at most a few words of politeness or emphasis around them."""
    if not tokens or not any(token in opt_out for token in tokens):
        return False
    if all(token in opt_out for token in tokens):
        return True  # "stop stop stop stop stop stop stop": as per se as one
    return len(tokens) <= 6 and all(token in opt_out or token in _FILLER for token in tokens)


def _confirm_with_filler(tokens: list[str], confirm: frozenset[str]) -> bool:
    """A confirmation word with only thanks or politeness around it ("yes please", "Oui merci")."""
    return (
        len(tokens) <= 5
        and any(token in confirm for token in tokens)
        and all(token in confirm or token in _CONFIRM_FILLER for token in tokens)
    )


def classify_reply(
    text: str,
    *,
    locale: str = "en",
    pending_opt_in: bool = False,
    keywords: Mapping[str, KeywordSet] | None = None,
) -> ReplyIntent:
    """What a customer's reply means for consent.

    Free-text revocation ("please stop texting me") is ``opt_out``; ``YES`` is
    ``opt_in`` only when ``pending_opt_in`` is True.

    Raises:
        InvalidInput: ``text`` is not a string, or the locale has no keyword set.
    """
    return classify(text, locale=locale, pending_opt_in=pending_opt_in, keywords=keywords).intent
