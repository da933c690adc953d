"""SLA reporting from the audit log: figures, a table for people, a PNG histogram.

See ``docs/reporting.md``. ``Escalator.report()`` and ``escalate report`` are the
usual entry points; ``sla_report`` is the pure function under both.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from escalate._tenant import check_tenant
from escalate.reporting._histogram import write_histogram_png
from escalate.reporting._metrics import (
    RESOLUTION_WINDOW,
    DurationStats,
    SlaReport,
    check_window,
    sla_report,
)
from escalate.reporting._table import format_duration, report_table

if TYPE_CHECKING:
    from escalate.store._protocol import Store

__all__ = [
    "RESOLUTION_WINDOW",
    "DurationStats",
    "SlaReport",
    "format_duration",
    "report_table",
    "sla_report",
    "store_report",
    "write_histogram_png",
]


def store_report(
    store: Store,
    tenant: str,
    *,
    as_of: datetime,
    since: datetime | None = None,
    until: datetime | None = None,
) -> SlaReport:
    """The SLA report of a tenant's handoffs opened in ``[since, until)``, read from ``store``.

    Raises:
        InvalidInput: a bad bound (see ``sla_report``), or a ``tenant`` that is not a
            non-empty string.
        NaiveDatetimeError: a bound or ``as_of`` without a time zone.
    """
    as_of, since, until = check_window(as_of, since, until)  # before touching the store
    check_tenant(tenant)
    handoffs = store.handoffs_opened(tenant, since=since, until=until)
    events = [
        event for handoff in handoffs for event in store.events(tenant, handoff_id=handoff.id)
    ]
    return sla_report(handoffs, events, as_of=as_of, since=since, until=until, tenant=tenant)
