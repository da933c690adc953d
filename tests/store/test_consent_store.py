"""Store contract for consent erasure and handoff-less outbox rows (runs on every store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from escalate import Channel, Identity
from escalate.consent import (
    ConsentAction,
    ConsentEvidence,
    ConsentProof,
    ConsentRecord,
    ConsentSource,
    Purpose,
)
from escalate.consent._making import make_consent_record
from escalate.store import Changes, OutboxItem, OutboxStatus, Store
from escalate.workflow import Notify, PostPublicReply, SendMessage

AT = datetime(2026, 1, 5, 18, tzinfo=UTC)
PHONE = Identity.phone("+14155550100")
OTHER = Identity.phone("+12125550100")


def grant(address: Identity) -> ConsentRecord:
    return make_consent_record(
        tenant="default", address=address, purpose=Purpose.TRANSACTIONAL,
        action=ConsentAction.GRANT, at=AT,
        evidence=ConsentEvidence(source=ConsentSource.WEB_FORM, text="ok", ip="203.0.113.7"),
    )  # fmt: skip


def row(to: Identity, key: str, handoff_id: str | None = None) -> OutboxItem:
    command = SendMessage(channel=Channel.SMS, to=to, body="hello there", template="consent.help")
    return OutboxItem(id=f"ob_{key}", handoff_id=handoff_id, idempotency_key=key,
                      command=command, due_at=AT, created_at=AT)  # fmt: skip


def test_outbox_row_without_handoff_round_trips(store: Store) -> None:
    """An outbox row tied to no handoff is stored, claimed and settled like any other."""
    store.commit(Changes(outbox=(row(PHONE, "k1"),)))
    (claimed,) = store.claim_outbox(AT, worker="w", lease=timedelta(minutes=1))
    assert claimed.handoff_id is None
    assert claimed.status is OutboxStatus.CLAIMED
    assert store.outbox("default")[0].handoff_id is None


def test_erase_address_keeps_proofs_and_drops_personal_rows(store: Store) -> None:
    """erase_address swaps an address's records for proofs and deletes its unclaimed outbox rows."""
    mine, theirs = grant(PHONE), grant(OTHER)
    store.commit(Changes(consent=(mine, theirs), outbox=(row(PHONE, "a"), row(OTHER, "b"))))
    stored = store.consent_records("default", PHONE)[0]
    proof = ConsentProof.of(stored, "hash-1")
    store.erase_address("default", PHONE, [proof])
    assert store.consent_records("default", PHONE) == []
    assert store.consent_records("default", OTHER) != []
    assert store.consent_proofs("default", "hash-1") == [proof]
    assert store.consent_proofs("default", "hash-2") == []
    assert store.consent_history("default", OTHER, "hash-1") == (
        [proof],
        store.consent_records("default", OTHER),
    )
    assert [item.idempotency_key for item in store.outbox("default")] == ["b"]


def test_erase_messages_drops_a_handoffs_texts_whatever_their_address(store: Store) -> None:
    """erase_messages deletes the handoffs' private messages, to any address, and public
    replies (they greet the author by handle); the rest stay: another handoff's, one a
    worker holds, and the helpdesk's notices (no personal data)."""
    notice = OutboxItem(id="ob_n", handoff_id="ho_1", idempotency_key="n",
                        command=Notify(topic="failed", text="Case K7QP-3M: closed"),
                        due_at=AT, created_at=AT)  # fmt: skip
    greeting = OutboxItem(id="ob_p", handoff_id="ho_1", idempotency_key="p",
                          command=PostPublicReply(text="@jane_d sorry! DM us: K7QP-3M"),
                          due_at=AT, created_at=AT)  # fmt: skip
    store.commit(
        Changes(
            outbox=(
                row(PHONE, "a", "ho_1"),
                row(OTHER, "b", "ho_1"),
                row(PHONE, "c", "ho_2"),
                row(OTHER, "d", "ho_1"),
                notice,
                greeting,
            )
        )
    )
    [held] = store.claim_outbox(AT, worker="w", lease=timedelta(minutes=1), limit=1)
    assert held.idempotency_key == "a"  # in flight: its worker settles it
    store.erase_messages("default", ["ho_1"])
    store.erase_messages("other", ["ho_2"])  # another tenant's erasure: not this row
    assert [item.idempotency_key for item in store.outbox("default")] == ["a", "c", "n"]


def test_a_handoffs_rows_read_or_claimed_by_handoff_leave_out_erased_ones(store: Store) -> None:
    """``outbox(handoff_id=...)`` and a claim of one handoff see what erasure left, no more."""
    store.commit(
        Changes(
            outbox=(
                row(PHONE, "a", "ho_1"),
                row(OTHER, "b", "ho_1"),
                row(PHONE, "c", "ho_2"),
                row(OTHER, "d", "ho_3"),
            )
        )
    )
    store.erase_address("default", PHONE, ())
    store.erase_messages("default", ["ho_3"])
    assert [item.idempotency_key for item in store.outbox("default", handoff_id="ho_1")] == ["b"]
    assert store.outbox("default", handoff_id="ho_2") == []
    assert store.outbox("default", handoff_id="ho_3") == []
    claimed = store.claim_outbox(AT, worker="w", lease=timedelta(minutes=1), handoff_id="ho_1")
    assert [item.idempotency_key for item in claimed] == ["b"]
    assert store.claim_outbox(AT, worker="w", lease=timedelta(minutes=1), handoff_id="ho_2") == []
    assert [item.idempotency_key for item in store.outbox("default")] == ["b"]


def test_erase_address_keeps_the_records_and_rows_of_the_handoffs_it_is_told_to_keep(
    store: Store,
) -> None:
    """Another person's cases on a shared number keep their consent records and rows;
    the rest of the address goes, in every store alike."""
    mine, theirs = grant(PHONE), grant(PHONE).model_copy(update={"handoff_id": "ho_b"})
    store.commit(
        Changes(
            consent=(mine, theirs),
            outbox=(row(PHONE, "a"), row(PHONE, "b", "ho_b"), row(PHONE, "c", "ho_c")),
        )
    )
    stored = store.consent_records("default", PHONE)[0]
    proof = ConsentProof.of(stored, "hash-1")
    store.erase_address("default", PHONE, [proof], keep_handoffs=frozenset({"ho_b"}))
    assert [r.id for r in store.consent_records("default", PHONE)] == [theirs.id]
    assert store.consent_proofs("default", "hash-1") == [proof]
    assert [item.idempotency_key for item in store.outbox("default")] == ["b"]


def test_erase_consent_records_replaces_only_the_records_named(store: Store) -> None:
    """A person's records on an address somebody else holds go; the holder's records
    and the address's rows stay, in every store alike."""
    holders, persons = grant(PHONE), grant(PHONE).model_copy(update={"handoff_id": "ho_p"})
    store.commit(Changes(consent=(holders, persons), outbox=(row(PHONE, "a"),)))
    stored = store.consent_records("default", PHONE)[1]
    proof = ConsentProof.of(stored, "hash-1")
    store.erase_consent_records("other", PHONE, [])
    assert len(store.consent_records("default", PHONE)) == 2
    store.erase_consent_records("default", PHONE, [proof])
    assert [r.id for r in store.consent_records("default", PHONE)] == [holders.id]
    assert store.consent_proofs("default", "hash-1") == [proof]
    assert [item.idempotency_key for item in store.outbox("default")] == ["a"]
