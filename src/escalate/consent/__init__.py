"""Consent: an append-only ledger per address, and the decision drawn from it before every send."""

from __future__ import annotations

from escalate.consent._ledger import decide_from_records
from escalate.consent._ledger_service import ConsentLedger
from escalate.consent._records import (
    ConsentAction,
    ConsentEvidence,
    ConsentRecord,
    ConsentSource,
    Decision,
    Purpose,
    text_version,
)

__all__ = [
    "ConsentAction",
    "ConsentEvidence",
    "ConsentLedger",
    "ConsentRecord",
    "ConsentSource",
    "Decision",
    "Purpose",
    "decide_from_records",
    "text_version",
]
