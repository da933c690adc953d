"""Identity normalization: idempotent, formatting-insensitive, typed errors, redacted reprs."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, datetime

import phonenumbers
import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

from escalate import (
    Channel,
    Contact,
    EscalateError,
    Identity,
    IdentityKind,
    InvalidIdentity,
    Link,
    LinkSource,
    OutboundMessage,
    Thread,
)
from escalate.workflow import SendMessage

PNF = phonenumbers.PhoneNumberFormat
REGIONS = sorted(phonenumbers.SUPPORTED_REGIONS)
NUMBER_TYPES = (
    phonenumbers.PhoneNumberType.FIXED_LINE,
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.TOLL_FREE,
)


def _example_numbers() -> list[tuple[str, phonenumbers.PhoneNumber]]:
    found = []
    for region in REGIONS:
        for number_type in NUMBER_TYPES:
            number = phonenumbers.example_number_for_type(region, number_type)
            if number is not None and phonenumbers.is_valid_number(number):
                found.append((region, number))
    return found


EXAMPLES = _example_numbers()
SEPARATORS = st.sampled_from(["", "", " ", "-", ".", "  ", " - ", "/"])
WHITESPACE = st.text(alphabet=" \t\n\u00a0", max_size=3)
ANY_UNICODE = st.text(st.characters(exclude_categories=()), max_size=60)
NON_STRINGS = st.one_of(
    st.none(),
    st.integers(),
    st.floats(allow_nan=True),
    st.binary(max_size=20),
    st.lists(st.text(max_size=5), max_size=3),
    st.builds(object),
)


def _outcome(
    constructor: Callable[..., Identity], *args: object, **kwargs: object
) -> Identity | InvalidIdentity:
    """The identity built, or the InvalidIdentity raised; any other exception propagates."""
    try:
        return constructor(*args, **kwargs)
    except InvalidIdentity as exc:
        return exc


def test_example_numbers_cover_many_regions() -> None:
    """The formatting property below draws from example numbers of over 200 regions."""
    assert len({region for region, _ in EXAMPLES}) > 200


@st.composite
def formatted_numbers(draw: st.DrawFn) -> tuple[str, str | None, str]:
    """A valid number written as a person might: some format, random separators and spacing."""
    region, number = draw(st.sampled_from(EXAMPLES))
    e164 = phonenumbers.format_number(number, PNF.E164)
    style = draw(st.sampled_from([PNF.E164, PNF.INTERNATIONAL, PNF.NATIONAL, PNF.RFC3966]))
    text = phonenumbers.format_number(number, style)
    if style is not PNF.RFC3966:
        # Separators between digits only, as people type them ("415 555-01 00").
        text = re.sub(r"(?<=\d)(?=\d)", lambda _: draw(SEPARATORS), text)
    text = draw(WHITESPACE) + text + draw(WHITESPACE)
    if style is PNF.NATIONAL:
        given_region: str | None = draw(st.sampled_from([region, region.lower()]))
    else:
        given_region = draw(st.one_of(st.none(), st.sampled_from(REGIONS)))
    return text, given_region, e164


# -- phone --------------------------------------------------------------------


@settings(max_examples=300)
@given(formatted_numbers())
def test_phone_is_formatting_insensitive(case: tuple[str, str | None, str]) -> None:
    """Any common written form of a valid number normalizes to the same E.164 value."""
    text, region, e164 = case
    identity = Identity.phone(text, region=region)
    assert identity.kind is IdentityKind.PHONE
    assert identity.value == e164


@settings(max_examples=150)
@given(st.sampled_from(EXAMPLES), st.one_of(st.none(), st.sampled_from(REGIONS)))
def test_phone_is_idempotent(
    example_number: tuple[str, phonenumbers.PhoneNumber], region: str | None
) -> None:
    """Normalizing an already normalized number gives the same value, whatever region is given."""
    first = Identity.phone(phonenumbers.format_number(example_number[1], PNF.INTERNATIONAL))
    again = Identity.phone(first.value, region=region)
    assert again.value == first.value
    assert again == first


@settings(max_examples=200)
@given(ANY_UNICODE, st.one_of(st.none(), st.sampled_from(REGIONS), st.text(max_size=4)))
@example("\x00", None)
@example("+1 415 555 0100\udcff", None)
@example("1" * 100_000, "US")
@example("+" + "9" * 5_000, None)
@example("+1 415 555 0100", "")
@example("+1 415 555 0100", "001")
def test_phone_any_text_normalizes_or_raises_invalid_identity(raw: str, region: str | None) -> None:
    """Arbitrary text either normalizes to E.164 (a fixed point) or raises InvalidIdentity."""
    identity = _outcome(Identity.phone, raw, region=region)
    if isinstance(identity, InvalidIdentity):
        assert identity.kind == "phone"
        return
    assert re.fullmatch(r"\+[1-9][0-9]{6,14}", identity.value)
    assert Identity.phone(identity.value).value == identity.value


@settings(max_examples=100)
@given(st.text(alphabet=st.characters(exclude_categories=("Nd", "No", "Nl")), max_size=40))
def test_phone_without_digits_is_refused(raw: str) -> None:
    """Text with no digit at all is never a phone number."""
    with pytest.raises(InvalidIdentity):
        Identity.phone(raw, region="US")


@settings(max_examples=50)
@given(NON_STRINGS)
def test_phone_non_string_raises_invalid_identity(raw: object) -> None:
    """A non-string phone raises InvalidIdentity, not TypeError or AttributeError."""
    with pytest.raises(InvalidIdentity):
        Identity.phone(raw)  # type: ignore[arg-type]


@settings(max_examples=50)
@given(st.one_of(NON_STRINGS.filter(lambda value: value is not None), st.text(max_size=6)))
def test_phone_bad_region_raises_invalid_identity(region: object) -> None:
    """A region that is not a known ISO code (or not a string) raises InvalidIdentity."""
    if isinstance(region, str) and region.upper() in phonenumbers.SUPPORTED_REGIONS:
        return
    with pytest.raises(InvalidIdentity):
        Identity.phone("415 555 0100", region=region)  # type: ignore[arg-type]


def test_phone_error_does_not_echo_the_number() -> None:
    """The error message of a refused number does not repeat the number (it is personal data)."""
    with pytest.raises(InvalidIdentity) as caught:
        Identity.phone("+1 999 555 0100 12345 6789")
    assert "999" not in str(caught.value)


# -- email --------------------------------------------------------------------

_LOCAL_ATOM = st.text(alphabet="abcdefghijklmnopqrstuvwxyz0123456789_+-", min_size=1, max_size=10)
# No "--" (IDNA reserves it in positions 3-4) and ordinary TLDs (not special-use ones).
_LABEL = st.from_regex(r"[a-z0-9]{1,6}(-[a-z0-9]{1,6})?", fullmatch=True)
_TLD = st.sampled_from(["com", "org", "net", "io", "de", "co", "uk", "shop"])


@st.composite
def plain_emails(draw: st.DrawFn) -> str:
    """A lowercase ASCII address of the kind people actually have."""
    local = ".".join(draw(st.lists(_LOCAL_ATOM, min_size=1, max_size=3)))
    labels = draw(st.lists(_LABEL, min_size=1, max_size=3))
    tld = draw(_TLD)
    return f"{local}@{'.'.join([*labels, tld])}"


def _random_case(draw: st.DrawFn, text: str) -> str:
    flips = draw(st.lists(st.booleans(), min_size=len(text), max_size=len(text)))
    return "".join(c.upper() if flip else c for c, flip in zip(text, flips, strict=True))


@st.composite
def mixed_case_emails(draw: st.DrawFn) -> tuple[str, str]:
    address = draw(plain_emails())
    return address, draw(WHITESPACE) + _random_case(draw, address) + draw(WHITESPACE)


@settings(max_examples=200)
@given(mixed_case_emails())
def test_email_is_case_and_whitespace_insensitive(case: tuple[str, str]) -> None:
    """Any case of the local part and domain, and surrounding whitespace, give one identity."""
    lower, typed = case
    identity = Identity.email(typed)
    assert identity.kind is IdentityKind.EMAIL
    assert identity.value == lower
    assert identity == Identity.email(lower)


@settings(max_examples=200)
@given(st.one_of(st.emails(), plain_emails(), ANY_UNICODE))
@example("İ@example.com")
@example("JOSÉ@Exämple.COM")
@example("ǅ@example.com")
def test_email_is_idempotent(raw: str) -> None:
    """An accepted address is a fixed point: normalizing its value again changes nothing."""
    try:
        identity = Identity.email(raw)
    except InvalidIdentity:
        return
    assert Identity.email(identity.value).value == identity.value
    assert identity.value == identity.value.lower()


@settings(max_examples=200)
@given(ANY_UNICODE)
@example("a" * 1_000_000 + "@example.com")
@example("jane@" + "a" * 100_000 + ".com")
@example("jane@example")
@example("a@[127.0.0.1]")
@example("\udcff@example.com")
def test_email_any_text_normalizes_or_raises_invalid_identity(raw: str) -> None:
    """Arbitrary text either normalizes or raises InvalidIdentity, never anything else."""
    identity = _outcome(Identity.email, raw)
    if isinstance(identity, InvalidIdentity):
        assert identity.kind == "email"
        return
    assert "@" in identity.value


@settings(max_examples=100)
@given(st.text(alphabet=st.characters(exclude_characters="@\uff20\ufe6b"), max_size=50))
def test_email_without_at_sign_is_refused(raw: str) -> None:
    """Text without an @ is never an email address."""
    with pytest.raises(InvalidIdentity):
        Identity.email(raw)


@settings(max_examples=50)
@given(NON_STRINGS)
def test_email_non_string_raises_invalid_identity(raw: object) -> None:
    """A non-string email raises InvalidIdentity."""
    with pytest.raises(InvalidIdentity):
        Identity.email(raw)  # type: ignore[arg-type]


# -- social -------------------------------------------------------------------

PLATFORM_SPELLINGS = {
    "x": "x",
    "X": "x",
    " twitter ": "x",
    "Twitter": "x",
    "facebook": "facebook",
    "FB": "facebook",
    "messenger": "facebook",
    "instagram": "instagram",
    "IG": "instagram",
}
USER_IDS = st.from_regex(r"[0-9]{1,20}", fullmatch=True)
HANDLES = st.from_regex(r"[A-Za-z0-9_.]{1,15}", fullmatch=True)


@settings(max_examples=100)
@given(st.sampled_from(sorted(PLATFORM_SPELLINGS)), USER_IDS, st.none() | HANDLES, WHITESPACE)
def test_social_is_spelling_insensitive_and_idempotent(
    platform: str, user_id: str, handle: str | None, pad: str
) -> None:
    """Platform aliases, case and padding give one identity, and re-normalizing changes nothing."""
    typed_handle = None if handle is None else f"{pad}@{handle}"
    identity = Identity.social(platform, pad + user_id + pad, typed_handle)
    canonical = PLATFORM_SPELLINGS[platform]
    assert identity.value == f"{canonical}:{user_id}"
    assert identity.handle == handle
    assert (identity.platform, identity.user_id) == (canonical, user_id)
    assert identity.platform is not None
    assert identity.user_id is not None
    again = Identity.social(identity.platform, identity.user_id, identity.handle)
    assert again.value == identity.value
    assert again.handle == identity.handle


@settings(max_examples=150)
@given(
    st.one_of(ANY_UNICODE, NON_STRINGS),
    st.one_of(ANY_UNICODE, NON_STRINGS),
    st.one_of(st.none(), ANY_UNICODE, NON_STRINGS),
)
@example("x", "12\n", None)
@example("x", "12", "a\nb")
@example("x", "١٢٣", None)
@example("myspace", "12", None)
@example("x", "@jane", None)
@example("x", "1" * 10_000, None)
def test_social_bad_input_raises_invalid_identity(
    platform: object, user_id: object, handle: object
) -> None:
    """Arbitrary platforms, ids and handles either normalize or raise InvalidIdentity."""
    identity = _outcome(Identity.social, platform, user_id, handle)
    if isinstance(identity, InvalidIdentity):
        assert identity.kind == "social"
        return
    assert re.fullmatch(r"(x|facebook|instagram):[0-9]{1,32}", identity.value)
    assert identity.handle is None or re.fullmatch(r"[\w.\-]{1,100}", identity.handle)


def test_social_user_id_must_not_be_a_handle() -> None:
    """Passing a handle where the numeric user id belongs is refused."""
    with pytest.raises(InvalidIdentity, match="numeric id"):
        Identity.social("x", "jane_doe")


# -- direct construction ------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("phone", "+14155550100\n"),
        ("phone", "4155550100"),
        ("email", "Jane@Example.com"),
        ("email", "no-at-sign"),
        ("social", "x:jane"),
        ("social", "myspace:12"),
        ("social", "x:12\n"),
        ("fax", "+14155550100"),
    ],
)
def test_direct_construction_refuses_unnormalized_values(kind: str, value: str) -> None:
    """Building an Identity by hand cannot smuggle in an unnormalized value."""
    with pytest.raises(InvalidIdentity):
        Identity(kind=kind, value=value)


# -- value semantics ----------------------------------------------------------


def test_equality_and_hash_ignore_the_handle() -> None:
    """Two identities are equal, and hash alike, by (kind, value); the display handle is ignored."""
    old = Identity.social("twitter", "42", "jane_d")
    renamed = Identity.social("x", "42", "jane_doe")
    assert old == renamed
    assert hash(old) == hash(renamed)
    assert len({old, renamed}) == 1
    assert old != Identity.social("x", "43", "jane_d")
    assert Identity.phone("+14155550100") != Identity.email("jane@example.com")
    assert Identity.phone("+14155550100") != "+14155550100"


def test_kind_and_value_are_public_attributes() -> None:
    """`.kind` and `.value` expose the normalized address; the identity is frozen."""
    phone = Identity.phone("(415) 555-0100", region="US")
    assert (phone.kind, phone.value) == (IdentityKind.PHONE, "+14155550100")
    assert phone.kind == "phone"
    email = Identity.email("Jane.Doe@Example.COM")
    assert (email.kind, email.value) == (IdentityKind.EMAIL, "jane.doe@example.com")
    with pytest.raises(ValueError, match="frozen"):
        phone.value = "+14155550101"  # type: ignore[misc]


def test_invalid_identity_is_an_escalate_error_and_a_value_error() -> None:
    """InvalidIdentity can be caught as EscalateError or as ValueError."""
    with pytest.raises(EscalateError):
        Identity.phone("nope")
    with pytest.raises(ValueError, match="invalid email identity"):
        Identity.email("nope")


# -- redaction ----------------------------------------------------------------

PHONE_DIGITS = "4155550123"
PHONE = Identity.phone(f"+1 {PHONE_DIGITS}")
EMAIL = Identity.email("jane.doe@example.com")
SECRET_BODY = "my card number is 4111"


def _assert_redacted(text: str) -> None:
    assert PHONE.value not in text
    assert PHONE_DIGITS not in text
    assert PHONE_DIGITS[:7] not in text
    assert EMAIL.value not in text
    assert "jane.doe" not in text
    assert SECRET_BODY not in text


def test_identity_repr_and_str_are_redacted() -> None:
    """repr() and str() of a phone or email identity do not contain the address."""
    for identity in (PHONE, EMAIL):
        _assert_redacted(repr(identity))
        _assert_redacted(str(identity))
        _assert_redacted(f"{identity}")
    assert "+1" in repr(PHONE)
    assert "example.com" in repr(EMAIL)


def test_records_holding_addresses_are_redacted() -> None:
    """repr() and str() of Thread, Contact, OutboundMessage, SendMessage hide addresses, bodies."""
    now = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
    records: list[object] = [
        Thread(
            platform="x",
            thread_id="1",
            author=Identity.social("x", "42", "jane_d"),
            text=SECRET_BODY,
            posted_at=now,
        ),
        Contact(
            id="ct_1",
            links=(
                Link(identity=PHONE, source=LinkSource.CUSTOMER_PROVIDED, at=now),
                Link(identity=EMAIL, source=LinkSource.CUSTOMER_PROVIDED, at=now),
            ),
            created_at=now,
        ),
        OutboundMessage(
            id="ob_1", idempotency_key="k", channel=Channel.SMS, to=PHONE, body=SECRET_BODY
        ),
        OutboundMessage(
            id="ob_2", idempotency_key="k2", channel=Channel.EMAIL, to=EMAIL, body=SECRET_BODY
        ),
        SendMessage(channel=Channel.SMS, to=PHONE, body=SECRET_BODY),
        SendMessage(channel=Channel.EMAIL, to=EMAIL, body=SECRET_BODY),
    ]
    for record in records:
        _assert_redacted(repr(record))
        _assert_redacted(str(record))
