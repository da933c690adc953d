"""Consent: an append-only ledger per address, and the decision drawn from it before every send.

See ``docs/consent.md`` for the rules. The pieces:

- ``ConsentRecord`` / ``ConsentEvidence``: one fact with its proof; ``ConsentLedger``
  (``esc.consent``) appends them and decides (``decide(address, purpose, at)``).
- ``classify_reply``: what an inbound reply means (keywords per locale, free text).
- ``QuietHours``: the sending window in the recipient's zone(s).
- ``ConsentPolicy``: one tenant's settings, per purpose.
- ``records_from_provider_event``: Twilio 21610, SendGrid unsubscribes, spam reports
  and bounces as records.
- ``consent_receipt`` / ``ConsentReceipt``: Kantara Consent Receipt v1.1.
"""

from __future__ import annotations

from escalate.consent._keywords import (
    DEFAULT_KEYWORDS,
    Classification,
    KeywordSet,
    ReplyIntent,
    classify,
    classify_reply,
)
from escalate.consent._ledger import decide_from_records
from escalate.consent._ledger_service import ConsentLedger
from escalate.consent._policy import ConsentPolicy, FreeTextPolicy
from escalate.consent._provider_events import (
    PROVIDER_CONSENT_EVENTS,
    records_from_provider_event,
)
from escalate.consent._quiet_hours import QuietHours, Window, ZoneSource, zones_for_number
from escalate.consent._receipts import ConsentReceipt, ReceiptController, consent_receipt
from escalate.consent._records import (
    ConsentAction,
    ConsentEvidence,
    ConsentProof,
    ConsentRecord,
    ConsentSource,
    Decision,
    Purpose,
    text_version,
)

__all__ = [
    "DEFAULT_KEYWORDS",
    "PROVIDER_CONSENT_EVENTS",
    "Classification",
    "ConsentAction",
    "ConsentEvidence",
    "ConsentLedger",
    "ConsentPolicy",
    "ConsentProof",
    "ConsentReceipt",
    "ConsentRecord",
    "ConsentSource",
    "Decision",
    "FreeTextPolicy",
    "KeywordSet",
    "Purpose",
    "QuietHours",
    "ReceiptController",
    "ReplyIntent",
    "Window",
    "ZoneSource",
    "classify",
    "classify_reply",
    "consent_receipt",
    "decide_from_records",
    "records_from_provider_event",
    "text_version",
    "zones_for_number",
]
