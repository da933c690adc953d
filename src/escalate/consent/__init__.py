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

from typing import TYPE_CHECKING

from escalate._lazy import lazy_exports

if TYPE_CHECKING:
    from escalate.consent._keywords import (
        DEFAULT_KEYWORDS,
        Classification,
        KeywordSet,
        ReplyIntent,
        classify,
        classify_reply,
    )
    from escalate.consent._ledger import (
        decide_from_records,
    )
    from escalate.consent._ledger_service import (
        ConsentLedger,
    )
    from escalate.consent._policy import (
        ConsentPolicy,
        FreeTextPolicy,
    )
    from escalate.consent._provider_events import (
        PROVIDER_CONSENT_EVENTS,
        records_from_provider_event,
    )
    from escalate.consent._quiet_hours import (
        QuietHours,
        Window,
        ZoneSource,
        zones_for_number,
    )
    from escalate.consent._receipts import (
        ConsentReceipt,
        ReceiptAddress,
        ReceiptController,
        consent_receipt,
    )
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

_LAZY: dict[str, str] = {
    "Classification": "escalate.consent._keywords",
    "ConsentAction": "escalate.consent._records",
    "ConsentEvidence": "escalate.consent._records",
    "ConsentLedger": "escalate.consent._ledger_service",
    "ConsentPolicy": "escalate.consent._policy",
    "ConsentProof": "escalate.consent._records",
    "ConsentReceipt": "escalate.consent._receipts",
    "ConsentRecord": "escalate.consent._records",
    "ConsentSource": "escalate.consent._records",
    "DEFAULT_KEYWORDS": "escalate.consent._keywords",
    "Decision": "escalate.consent._records",
    "FreeTextPolicy": "escalate.consent._policy",
    "KeywordSet": "escalate.consent._keywords",
    "PROVIDER_CONSENT_EVENTS": "escalate.consent._provider_events",
    "Purpose": "escalate.consent._records",
    "QuietHours": "escalate.consent._quiet_hours",
    "ReceiptAddress": "escalate.consent._receipts",
    "ReceiptController": "escalate.consent._receipts",
    "ReplyIntent": "escalate.consent._keywords",
    "Window": "escalate.consent._quiet_hours",
    "ZoneSource": "escalate.consent._quiet_hours",
    "classify": "escalate.consent._keywords",
    "classify_reply": "escalate.consent._keywords",
    "consent_receipt": "escalate.consent._receipts",
    "decide_from_records": "escalate.consent._ledger",
    "records_from_provider_event": "escalate.consent._provider_events",
    "text_version": "escalate.consent._records",
    "zones_for_number": "escalate.consent._quiet_hours",
}

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
    "ReceiptAddress",
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

# Hidden from type checkers: they would read a module __getattr__ as "every name
# exists, typed Any", so a misspelt import would pass; the TYPE_CHECKING imports
# above are what they see.
if not TYPE_CHECKING:
    __getattr__, __dir__ = lazy_exports(__name__, _LAZY, __all__)
