"""The consent decision, as a pure function of an address's ledger records."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from escalate._clock import ensure_aware
from escalate.consent._records import ConsentAction, ConsentRecord, Decision, Purpose

__all__ = ["decide_from_records"]


def decide_from_records(
    records: Iterable[ConsentRecord], purpose: Purpose, at: datetime
) -> Decision:
    """Decide from the records of one address: the latest applicable record wins.

    A record applies when it is for ``purpose``, or is a revoke covering every
    purpose (a STOP). Records after ``at`` are ignored, so a decision can be
    replayed for any past instant.
    """
    at = ensure_aware(at, "at")
    purpose = Purpose(purpose)
    applicable = [
        record
        for record in records
        if record.at <= at
        and (
            record.purpose is purpose
            or (record.all_purposes and record.action is ConsentAction.REVOKE)
        )
    ]
    if not applicable:
        return Decision(allowed=False, reason="no_consent")
    latest = max(applicable, key=lambda record: (record.at, record.seq or 0))
    if latest.action is ConsentAction.REVOKE:
        return Decision(allowed=False, reason="revoked", records=(latest,))
    return Decision(allowed=True, reason="granted", records=(latest,))
