"""One security suite every webhook parser passes; each provider's test class is a few lines.

A subclass says how to build its parser and a valid signed request; the suite
proves that only that request gets through and that a refused one records nothing.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from typing import Any

import pytest

from escalate import Escalator, InvalidInput, WebhookSignatureError
from escalate.webhooks import InsecureWebhookWarning, WebhookParser

Request = tuple[str, dict[str, str], bytes]


class WebhookSecurityContract:
    """Shared cases; subclasses set ``signature_header`` and implement the hooks below."""

    signature_header: str

    def parser(self, secret: str | None = "default", **options: Any) -> WebhookParser:
        raise NotImplementedError

    def wrong_secret(self) -> str:
        raise NotImplementedError

    def signed(self) -> Request:
        """A valid request carrying one consent-relevant record (an opt-out)."""
        raise NotImplementedError

    def parse(
        self, parser: WebhookParser, url: str, headers: Mapping[str, str], body: bytes
    ) -> Any:
        return parser.parse(url, headers, body)  # type: ignore[attr-defined]

    # -- the cases ----------------------------------------------------------

    def refused(self, esc: Escalator, parser: WebhookParser, request: Request) -> None:
        before = (esc.store.events(esc.tenant), list(esc.store.outbox(esc.tenant)))
        with pytest.raises(WebhookSignatureError):
            esc.handle_webhook(self.parse(parser, *request))
        assert (esc.store.events(esc.tenant), list(esc.store.outbox(esc.tenant))) == before

    def test_valid_signature_is_accepted(self, esc: Escalator) -> None:
        """A request signed with the configured secret parses and applies."""
        records = self.parse(self.parser(), *self.signed())
        assert esc.handle_webhook(records)

    def test_tampered_body_is_refused(self, esc: Escalator) -> None:
        """One changed byte in the body fails verification and records nothing."""
        url, headers, body = self.signed()
        tampered = body.replace(b"o", b"0", 1)
        assert tampered != body
        self.refused(esc, self.parser(), (url, headers, tampered))

    def test_wrong_secret_is_refused(self, esc: Escalator) -> None:
        """A parser holding another secret refuses the request."""
        self.refused(esc, self.parser(self.wrong_secret()), self.signed())

    def test_missing_signature_header_is_refused(self, esc: Escalator) -> None:
        """Without the signature header nothing is recorded."""
        url, headers, body = self.signed()
        headers = {k: v for k, v in headers.items() if k.lower() != self.signature_header.lower()}
        self.refused(esc, self.parser(), (url, headers, body))

    def test_garbage_signature_is_refused(self, esc: Escalator) -> None:
        """A signature that is not even base64 is a signature error, not a crash."""
        url, headers, body = self.signed()
        headers = {**headers, self.signature_header: "%%% not base64 %%%"}
        self.refused(esc, self.parser(), (url, headers, body))

    def test_header_names_match_in_any_case(self) -> None:
        """Lower-cased header names (ASGI) verify like the provider's own case."""
        url, headers, body = self.signed()
        assert self.parse(self.parser(), url, {k.lower(): v for k, v in headers.items()}, body)

    def test_no_secret_needs_insecure_and_warns(self) -> None:
        """No secret is refused unless insecure=True, which warns loudly and skips checks."""
        with pytest.raises(InvalidInput, match="insecure=True"):
            self.parser(None)
        with pytest.warns(InsecureWebhookWarning, match="NOT verified"):
            parser = self.parser(None, insecure=True)
        url, _, body = self.signed()
        assert parser.insecure
        assert self.parse(parser, url, {}, body)

    def test_a_secret_builds_silently(self) -> None:
        """A parser with its secret emits no warning."""
        with warnings.catch_warnings():
            warnings.simplefilter("error")
            assert not self.parser().insecure
