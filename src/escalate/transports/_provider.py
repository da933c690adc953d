"""What every provider adapter shares: error tables, Retry-After, response bookkeeping.

Adapters map, they don't compute (anymail style): each provider module owns one
plain ``dict`` from a lookup key to an exception class, and ``error_for``
turns a provider failure into the most specific ``TransportError``. Keys are
tried most specific first, for example ``("21610", "400", "4xx")`` for a Twilio
error code 21610 on an HTTP 400. Network failures use the shared ``net:*`` keys,
so whether a request left the machine decides retry versus hold, the same way for
every provider.

``check_overrides`` holds a ``from_env``'s keyword overrides to the adapter's
``TypedDict`` of them (the constructor's arguments): a type checker reads the
same ``TypedDict`` at the user's call.
"""

from __future__ import annotations

import types
from collections.abc import Iterable, Mapping
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Union, get_args, get_origin, get_type_hints

from escalate._exceptions import (
    InvalidInput,
    RetryableTransportError,
    TransportError,
    UnknownOutcomeError,
)

__all__ = [
    "NETWORK_ERRORS",
    "ErrorTable",
    "check_overrides",
    "error_for",
    "http_keys",
    "retry_after_seconds",
]

#: A provider's error table: lookup key -> the exception class to raise.
ErrorTable = Mapping[str, type[TransportError]]

#: Network failures, by whether the request can have reached the provider.
NETWORK_ERRORS: dict[str, type[TransportError]] = {
    # Nothing left the machine: no connection, or none in time. Safe to retry.
    "net:refused": RetryableTransportError,
    "net:connect-timeout": RetryableTransportError,
    "net:dns": RetryableTransportError,
    "net:send-failed": RetryableTransportError,
    # The request was (or may have been) sent, and no answer came back whole.
    "net:read-timeout": UnknownOutcomeError,
    "net:aborted": UnknownOutcomeError,
}


def http_keys(status: int, code: object = None, *extra: str) -> tuple[str, ...]:
    """Lookup keys for an HTTP failure, most specific first."""
    keys = [*extra]
    if code is not None and str(code) != str(status):
        keys.append(str(code))
    keys += [str(status), f"{status // 100}xx"]
    return tuple(keys)


def retry_after_seconds(headers: Mapping[str, str] | None, now: datetime) -> float | None:
    """Seconds the provider asked us to wait, from Retry-After or X-RateLimit-Reset.

    ``Retry-After`` is either delta-seconds or an HTTP date (RFC 9110);
    ``X-RateLimit-Reset`` (SendGrid) is the epoch second the limit resets at.
    """
    if not headers:
        return None
    lowered = {name.lower(): value for name, value in headers.items()}
    value = lowered.get("retry-after")
    if value is not None:
        value = value.strip()
        if _is_delta_seconds(value):
            return float(value)
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            when = None
        if when is not None and when.tzinfo is not None:
            return max(0.0, (when - now).total_seconds())
    reset = lowered.get("x-ratelimit-reset")
    if reset is not None:
        # The stripped text, checked and converted: float() strips less than str.strip()
        # does ("0\x1f" is digits to one and a ValueError to the other).
        reset = reset.strip()
        if _is_delta_seconds(reset):
            return max(0.0, float(reset) - now.timestamp())
    return None


def _is_delta_seconds(value: str) -> bool:
    # RFC 9110 delta-seconds are ASCII digits; str.isdigit() also accepts "²".
    return value.isascii() and value.isdigit()


def error_for(
    table: ErrorTable,
    keys: Iterable[str],
    message: str,
    *,
    provider: str,
    code: str | None = None,
    raw: object = None,
    retry_after: float | None = None,
    default: type[TransportError] = UnknownOutcomeError,
) -> TransportError:
    """Build the exception the first matching key names (``default`` if none does).

    The default is "unknown outcome": a failure nobody classified must not be
    retried blindly, since the provider may have taken the message.
    """
    cls = next((table[key] for key in keys if key in table), default)
    if issubclass(cls, RetryableTransportError):
        return cls(message, provider=provider, code=code, raw=raw, retry_after=retry_after)
    return cls(message, provider=provider, code=code, raw=raw)


def check_overrides(owner: str, options: object, overrides: Mapping[str, object]) -> None:
    """Refuse a keyword ``options`` (a ``TypedDict``) does not name, or a value not of its type.

    Checked before anything is read or built, so a bad override changes nothing.
    Only the keyword and the value's type are named: a value may be a secret.

    Raises:
        InvalidInput: an unknown keyword, or a value of the wrong type.
    """
    hints = get_type_hints(options)
    for key, value in overrides.items():
        if key not in hints:
            raise InvalidInput(
                f"{owner}: unknown keyword {key!r}; it takes {', '.join(sorted(hints))}"
            )
        if not _fits(value, hints[key]):
            raise InvalidInput(
                f"{owner}: {key} must be {_describe(hints[key])}, not {type(value).__name__}"
            )


def _fits(value: object, hint: object) -> bool:
    if get_origin(hint) in (Union, types.UnionType):
        return any(_fits(value, arm) for arm in get_args(hint))
    if hint is type(None):
        return value is None
    if isinstance(value, bool) and hint is not bool:
        return False  # an int to Python, never a timeout or a port to anyone
    if hint is float:
        return isinstance(value, int | float)  # an int is a float to a type checker too
    return isinstance(hint, type) and isinstance(value, hint)


def _describe(hint: object) -> str:
    if get_origin(hint) in (Union, types.UnionType):
        return " | ".join(_describe(arm) for arm in get_args(hint))
    return "None" if hint is type(None) else getattr(hint, "__name__", str(hint))
