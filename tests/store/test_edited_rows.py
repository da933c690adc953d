"""A row edited outside escalate reads as ``CorruptRecord`` naming it, never quoting it.

pydantic's and json's own errors quote the text they could not read, and an
edited row may hold anything (a phone number, a message body): the error names
the record by its id, which is all an operator needs to restore it.
"""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

import pytest

from escalate import CorruptRecord
from escalate.consent import ConsentAction, ConsentEvidence, ConsentProof, ConsentSource, Purpose
from escalate.consent._making import make_consent_record
from escalate.store import Changes, OutboxStatus, SQLiteStore
from tests.store._records import PHONE, T0, contact, handoff, outbox

SECRET = "+14155550177"


def _edit(path: Path, sql: str, *params: object) -> None:
    with sqlite3.connect(path) as conn:
        assert conn.execute(sql, params).rowcount == 1
    conn.close()


def test_an_edited_handoff_reads_as_corrupt_record_naming_it(tmp_path: Path) -> None:
    """Every handoff read of an edited row raises CorruptRecord with its id, not its text."""
    path = tmp_path / "e.db"
    SQLiteStore(path).close()  # a fresh process: nothing decoded is remembered
    store = SQLiteStore(path)
    store.commit(Changes(handoffs=(handoff(),)))
    store.close()
    _edit(path, "UPDATE handoffs SET data = ? WHERE id = 'ho_1'", f'{{"phone": "{SECRET}"}}')
    store = SQLiteStore(path)
    reads = [
        lambda: store.get_handoff("default", "ho_1"),
        lambda: store.get_handoffs("default", ["ho_1"]),
        lambda: store.find_open_handoff("default", "x", "t1"),
        lambda: store.handoffs_opened("default"),
    ]
    for read in reads:
        with pytest.raises(CorruptRecord) as caught:
            read()
        assert caught.value.record == "handoff"
        assert caught.value.record_id == caught.value.handoff_id == "ho_1"
        assert caught.value.seq is None
        assert isinstance(caught.value, ValueError)  # as pydantic's error it stands for was
        assert caught.value.detail is not None
        assert "id: Field required" in caught.value.detail
        assert SECRET not in str(caught.value)
        assert caught.value.__cause__ is None
        assert caught.value.__suppress_context__
    store.close()


def test_an_edited_contact_reads_as_corrupt_record_naming_it(tmp_path: Path) -> None:
    """A contact row that is no longer JSON raises CorruptRecord with the contact's id."""
    path = tmp_path / "e.db"
    store = SQLiteStore(path)
    store.commit(Changes(contacts=(contact("ct_1"),)))
    store.close()
    _edit(path, "UPDATE contacts SET data = ? WHERE id = 'ct_1'", f"not json {SECRET}")
    store = SQLiteStore(path)
    with pytest.raises(CorruptRecord, match="contact 'ct_1'") as caught:
        store.get_contact("default", "ct_1")
    assert SECRET not in str(caught.value)
    store.close()


def test_an_edited_outbox_row_is_held_by_a_claim_which_takes_the_next_instead(
    tmp_path: Path,
) -> None:
    """A claim meeting an unreadable row holds it and claims the next due row in its place."""
    path = tmp_path / "e.db"
    store = SQLiteStore(path)
    store.commit(
        Changes(
            handoffs=(handoff(),),
            outbox=(outbox("ob_1", key="k1"), outbox("ob_2", key="k2")),
        )
    )
    _edit(path, "UPDATE outbox SET command = ? WHERE id = 'ob_1'", f'{{"to": "{SECRET}"')
    with pytest.raises(CorruptRecord, match="outbox row 'ob_1'") as caught:
        store.outbox("default")
    assert SECRET not in str(caught.value)
    claimed = store.claim_outbox(T0, worker="w", lease=timedelta(minutes=2), limit=1)
    assert [item.id for item in claimed] == ["ob_2"]
    with sqlite3.connect(path) as conn:
        status = conn.execute("SELECT status FROM outbox WHERE id = 'ob_1'").fetchone()[0]
    conn.close()
    assert status == OutboxStatus.HELD
    assert store.claim_outbox(T0, worker="w", lease=timedelta(minutes=2)) == []
    store.close()


def test_an_edited_consent_proof_reads_as_corrupt_record_naming_it(tmp_path: Path) -> None:
    """An erasure's proof, read on every consent check, names its id when edited, not its text."""
    path = tmp_path / "e.db"
    store = SQLiteStore(path)
    record = make_consent_record(
        tenant="default", address=PHONE, purpose=Purpose.TRANSACTIONAL,
        action=ConsentAction.REVOKE, at=T0, evidence=ConsentEvidence(source=ConsentSource.API),
    )  # fmt: skip
    store.commit(Changes(consent=(record,)))
    proof = ConsentProof.of(store.consent_records("default", PHONE)[0], "hash-1")
    store.erase_address("default", PHONE, [proof])
    _edit(path, "UPDATE consent_proofs SET data = ? WHERE id = ?", f"{{{SECRET}", proof.id)
    for read in (
        lambda: store.consent_proofs("default", "hash-1"),
        lambda: store.consent_history("default", PHONE, "hash-1"),
    ):
        with pytest.raises(CorruptRecord, match=f"consent proof '{proof.id}'") as caught:
            read()
        assert caught.value.record_id == proof.id
        assert SECRET not in str(caught.value)
        assert caught.value.__cause__ is None
    store.close()
