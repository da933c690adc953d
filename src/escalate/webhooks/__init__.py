"""Inbound webhooks: verify a provider's signature, parse its payload, apply it.

Framework-agnostic: a parser takes the URL the provider called (or its path,
with ``public_base_url``), the headers and the raw body bytes, and returns
frozen records. One module per provider, each importing its SDK:

- ``escalate.webhooks.twilio.TwilioWebhook`` (``escalate[twilio]``)
- ``escalate.webhooks.sendgrid.SendGridWebhook`` and ``SendGridInboundParse``
  (``escalate[sendgrid]``)

``strip_quoted`` is the rule that cuts the quoted earlier message from an
email reply's text (for your own inbound email parser, too).

``esc.handle_webhook(records)`` (or ``apply_webhook``) feeds them to the
escalator, harmlessly when they are duplicates or arrive out of order. See
``docs/webhooks.md``.
"""

from __future__ import annotations

from escalate.webhooks._apply import (
    Applied,
    MemorySeen,
    Seen,
    WebhookRecord,
    apply_delivery_report,
    apply_many,
    apply_provider_event,
    apply_webhook,
)
from escalate.webhooks._base import (
    DeliveryReport,
    InsecureWebhookWarning,
    ProviderEvent,
    WebhookParser,
    content_key,
)
from escalate.webhooks._quotes import strip_quoted

__all__ = [
    "Applied",
    "DeliveryReport",
    "InsecureWebhookWarning",
    "MemorySeen",
    "ProviderEvent",
    "Seen",
    "WebhookParser",
    "WebhookRecord",
    "apply_delivery_report",
    "apply_many",
    "apply_provider_event",
    "apply_webhook",
    "content_key",
    "strip_quoted",
]
