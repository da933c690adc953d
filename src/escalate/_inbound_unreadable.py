"""An opt-out whose reply met a record that no longer reads: the revoke is recorded anyway.

``Escalator.inbound`` reads the sender's contact, the address's consent ledger
and the cases on it before it records what the reply means. A row among them
edited outside escalate raises ``CorruptRecord`` there, and a STOP was dropped
with it: the webhook answered 500, Twilio does not retry an inbound message,
and the number stayed granted. The sends to it were held until the row was
restored (``workflow/_unreadable``); released then, they went to someone who
had said STOP. The revoke needs none of those reads (it is the address's, on
no case), so it is written on its own here; the caller still gets the
``CorruptRecord``, as what else the reply would have done (declining its case)
did not happen.

Only the ``except`` path reaches this module: a reply that reads pays nothing.
"""

from __future__ import annotations

import logging
from datetime import datetime

from escalate._exceptions import CorruptRecord
from escalate._facade import EscalatorParts
from escalate._identity import IdentityKind
from escalate._messages import InboundMessage
from escalate._redact import redact_address
from escalate.consent._inbound import plan_reply
from escalate.consent._ledger_service import consent_facts
from escalate.consent._records import ConsentFact
from escalate.consent._unverified import opt_out_unverified
from escalate.store._protocol import Changes

__all__ = ["record_opt_out_regardless"]

log = logging.getLogger("escalate")


def record_opt_out_regardless(
    esc: EscalatorParts, message: InboundMessage, unreadable: CorruptRecord, now: datetime
) -> bool:
    """Record the revoke ``message`` stands for, if it is an opt-out; whether one was.

    Its confirmation is queued only when the ledger reads (so that a second
    STOP sends none); its dispatch then meets the unreadable record as any send
    does (held until restored). An email opt-out held for a person (an
    unauthenticated sender) is not honoured here either: nobody can be told of it.
    """
    if message.sender.kind is IdentityKind.SOCIAL:
        return False
    store, policy, tenant = esc.store, esc.engine.consent, esc.tenant
    brand = str(esc.workflow.settings.get("brand", "Support"))
    facts: list[ConsentFact] | None
    try:
        facts = consent_facts(store, tenant, message.sender, policy)
    except CorruptRecord:
        facts = None
    plan = plan_reply(
        message, facts or [], tenant=tenant, handoff=None, policy=policy, brand=brand, now=now
    )
    if not plan.revoked or opt_out_unverified(message, policy, signed=None):
        return False
    outbox = plan.outbox if facts is not None else ()
    store.commit(Changes(consent=plan.records, events=plan.events, outbox=outbox))
    log.warning(
        "opt-out from %s recorded; the rest of the reply waits: %s",
        redact_address(message.sender.kind.value, message.sender.value),
        unreadable,
    )
    return True
