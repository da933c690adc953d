"""``ConsentLedger``: the consent API a caller holds as ``esc.consent``."""

from __future__ import annotations

import hashlib
import hmac
from datetime import datetime
from typing import TYPE_CHECKING, Any

from escalate._clock import Clock, aware_datetime
from escalate._exceptions import InvalidInput, NotFound
from escalate._identity import Identity
from escalate._models import Channel, channel_for
from escalate.consent._ledger import decide_from_records
from escalate.consent._making import (
    channel_reaching,
    check_address,
    consent_event,
    make_consent_record,
    parse_purpose,
)
from escalate.consent._policy import ConsentPolicy
from escalate.consent._provider_events import records_from_provider_event
from escalate.consent._receipts import ReceiptController, consent_receipt
from escalate.consent._records import (
    ConsentAction,
    ConsentEvidence,
    ConsentFact,
    ConsentProof,
    ConsentRecord,
    Decision,
    Purpose,
)
from escalate.store._changes import Changes

if TYPE_CHECKING:
    from escalate.identity._contact import Contact
    from escalate.store._protocol import Store

__all__ = ["ConsentLedger", "address_hash", "consent_facts", "known_zone"]


def address_hash(policy: ConsentPolicy, tenant: str, address: Identity) -> str:
    """The keyed hash that erased proofs keep instead of the address."""
    message = f"{tenant}\x00{address.kind.value}\x00{address.value}".encode()
    return hmac.new(policy.hash_key, message, hashlib.sha256).hexdigest()


def consent_facts(
    store: Store, tenant: str, address: Identity, policy: ConsentPolicy
) -> list[ConsentFact]:
    """What the ledger decides from for an address: its records, and erased stops.

    An erased grant is kept as proof that it was given, but authorises nothing:
    the person asked to be forgotten, so a number that comes back needs consent
    anew. An erased revoke or suppression keeps holding if it was still in force
    when erased, that is if no grant came after it (a STOP undone by START is
    not brought back by the erasure). An erasure that kept another person's
    records on a shared address (``_sharing``) keeps the revokes that came
    after one of them too: the person's later grant is gone, and without the
    STOP the older grant would authorise again.
    """
    proofs, records = store.consent_history(tenant, address, address_hash(policy, tenant, address))
    grants = [p for p in proofs if p.action is ConsentAction.GRANT]
    last_grant = max(((p.at, p.seq or 0) for p in grants), default=None)
    first_record = min(((r.at, r.seq or 0) for r in records), default=None)
    holding = [
        p
        for p in proofs
        if p.action is not ConsentAction.GRANT
        and (
            last_grant is None
            or (p.at, p.seq or 0) > last_grant
            or (first_record is not None and (p.at, p.seq or 0) > first_record)
        )
    ]
    return [*holding, *records]


def known_zone(store: Store, tenant: str, address: Identity) -> str | None:
    """The time zone recorded on the address's contact, if any."""
    contact = store.resolve_identity(tenant, address)
    return contact.time_zone if contact is not None else None


class ConsentLedger:
    """Append-only consent facts per address, and the decision drawn from them.

    Args:
        store: where records live.
        tenant: the tenant every record belongs to.
        clock: the time source.
        policy: the tenant's consent policy (quiet hours, keywords, texts).
    """

    def __init__(
        self,
        store: Store,
        *,
        tenant: str,
        clock: Clock,
        policy: ConsentPolicy | None = None,
    ) -> None:
        self._store = store
        self._tenant = tenant
        self._clock = clock
        self.policy = policy or ConsentPolicy()

    def records(self, address: Identity) -> list[ConsentRecord]:
        """Every record held for ``address``, oldest first."""
        return self._store.consent_records(self._tenant, check_address(address))

    def decide(
        self,
        address: Identity,
        purpose: Purpose | str,
        at: datetime | None = None,
        *,
        channel: Channel | str | None = None,
    ) -> Decision:
        """May we message ``address`` for ``purpose`` at ``at`` (default: now)?

        Applies every rule of ``escalate.consent._ledger`` for ``channel`` (a
        ``Channel`` or its value, ``"whatsapp"``, as ``grant`` takes it; default:
        the address's own): only grants given for it count, and its quiet hours.

        Raises:
            InvalidInput: unknown purpose, a naive ``at``, not an Identity.
        """
        check_address(address)
        reached = channel_for(address) if channel is None else channel_reaching(address, channel)
        when = aware_datetime(at, "at") if at is not None else self._clock.now()
        return decide_from_records(
            consent_facts(self._store, self._tenant, address, self.policy),
            parse_purpose(purpose),
            when,
            address=address,
            channel=reached,
            policy=self.policy,
            known_zone=known_zone(self._store, self._tenant, address),
        )

    def record(
        self,
        address: Identity,
        *,
        purpose: Purpose | str,
        action: ConsentAction | str,
        evidence: ConsentEvidence,
        actor: str = "api",
        all_purposes: bool = False,
        handoff_id: str | None = None,
        channel: Channel | str | None = None,
    ) -> ConsentRecord:
        """Append one consent fact, with its audit event, in one transaction.

        ``channel``: what the customer agreed to be reached on (default: SMS for a
        phone, email for an email). A grant counts for its channel only; a revoke
        holds on every channel of the address.

        Raises:
            InvalidInput: unknown purpose, action or channel, a channel that does
                not reach the address, not a phone or email, bad evidence.
        """
        record = make_consent_record(
            tenant=self._tenant,
            address=address,
            purpose=purpose,
            action=action,
            evidence=evidence,
            channel=None if channel is None else channel_reaching(address, channel),
            at=self._clock.now(),
            actor=actor,
            all_purposes=all_purposes,
            handoff_id=handoff_id,
        )
        self._store.commit(Changes(consent=(record,), events=(consent_event(record),)))
        return record

    def grant(
        self,
        address: Identity,
        evidence: ConsentEvidence,
        *,
        purpose: Purpose | str = Purpose.TRANSACTIONAL,
        actor: str = "api",
        handoff_id: str | None = None,
        channel: Channel | str | None = None,
    ) -> ConsentRecord:
        """Record a grant for ``purpose`` on ``channel`` (default: the address's own).

        A transactional grant counts only when tied to the customer's request:
        give ``handoff_id``, or a ``thread_id`` in the evidence. A phone's grant
        for SMS does not cover WhatsApp, nor the other way round.
        """
        return self.record(
            address,
            purpose=purpose,
            action=ConsentAction.GRANT,
            evidence=evidence,
            actor=actor,
            handoff_id=handoff_id,
            channel=channel,
        )

    def revoke(
        self,
        address: Identity,
        evidence: ConsentEvidence,
        *,
        purpose: Purpose | str | None = None,
        actor: str = "api",
        channel: Channel | str | None = None,
    ) -> ConsentRecord:
        """Record a revoke for ``purpose``, or for every purpose when it is ``None``.

        It holds on every channel of the address; ``channel`` records where it was
        given (default: the address's own).
        """
        return self.record(
            address,
            # Only None means every purpose: "" is a purpose misspelt, refused below.
            purpose=Purpose.TRANSACTIONAL if purpose is None else purpose,
            action=ConsentAction.REVOKE,
            evidence=evidence,
            actor=actor,
            all_purposes=purpose is None,
            channel=channel,
        )

    def record_provider_event(
        self,
        provider: str,
        event: str,
        address: Identity,
        *,
        at: datetime | None = None,
        provider_message_id: str | None = None,
        handoff_id: str | None = None,
    ) -> tuple[ConsentRecord, ...]:
        """Record what a provider event means for consent (Twilio 21610, SendGrid
        unsubscribe, group_unsubscribe, spamreport, bounce); other events record nothing.

        Returns:
            the records written (empty when the event is not a consent fact).

        Raises:
            InvalidInput: unknown provider, wrong address kind, naive ``at``.
        """
        records = records_from_provider_event(
            tenant=self._tenant,
            provider=provider,
            event=event,
            address=address,
            at=self._no_later_than_now(at),
            provider_message_id=provider_message_id,
            handoff_id=handoff_id,
        )
        if records:
            self._store.commit(
                Changes(consent=records, events=tuple(consent_event(r) for r in records))
            )
        return records

    def _no_later_than_now(self, at: datetime | None) -> datetime:
        # A provider's clock may run ahead of ours. Dated in our future, the fact
        # would count only from then (a decision reads the records up to now),
        # and an email could go out after a verified unsubscribe.
        now = self._clock.now()
        return now if at is None else min(aware_datetime(at, "at"), now)

    # -- data subject rights ----------------------------------------------------

    def receipt(
        self,
        record: ConsentRecord,
        *,
        controller: ReceiptController,
        policy_url: str,
        jurisdiction: str = "US",
    ) -> dict[str, Any]:
        """The Kantara Consent Receipt v1.1 JSON of one record."""
        return consent_receipt(
            record, controller=controller, policy_url=policy_url, jurisdiction=jurisdiction
        )

    def _contact(self, contact: Contact | str) -> Contact:
        contact_id = contact if isinstance(contact, str) else getattr(contact, "id", None)
        if not isinstance(contact_id, str):
            raise InvalidInput("export()/erase() take a Contact or a contact id")
        from escalate.identity._merge import survivor_of  # noqa: PLC0415 - cycle

        found = self._store.get_contact(self._tenant, contact_id)
        if found is None:
            raise NotFound(f"no contact {contact_id!r} in tenant {self._tenant!r}")
        # A contact merged into another is that person now: the id a caller kept
        # from before the merge would otherwise export and erase an empty tombstone.
        live = survivor_of(self._store, found)
        if live is None:
            raise NotFound(f"contact {contact_id!r} was merged into a contact that is gone")
        return live

    def export(self, contact: Contact | str) -> dict[str, Any]:
        """Everything held on a person: identities, consent records, handoffs,
        messages, audit events and verification challenges, as JSON-ready data.
        A contact merged into another stands for the one it was merged into.

        Raises:
            NotFound: no such contact.
        """
        from escalate.consent._export import export_contact  # noqa: PLC0415 - cycle

        return export_contact(self._store, self._contact(contact), self.policy)

    def erase(self, contact: Contact | str, *, actor: str = "api") -> list[ConsentProof]:
        """Remove a person's personal data, keeping a hashed address and the minimum
        proof of each consent and revocation (so a revoke still holds if the number
        comes back). Returns the proofs kept. A contact merged into another
        stands for the one it was merged into: the person is erased whole.

        Raises:
            NotFound: no such contact.
            ConcurrentUpdate: a worker is sending one of the person's messages;
                call again once it has settled (a lease at most).
        """
        from escalate.consent._erasure import erase_contact  # noqa: PLC0415 - cycle

        return erase_contact(
            self._store, self._contact(contact), self.policy, self._clock.now(), actor
        )
