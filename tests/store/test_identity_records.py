"""Store contract for identity records: merges, proposals, verifications (every store)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from escalate import ConcurrentUpdate, Contact, Identity, Link, LinkSource, RateLimited
from escalate.identity import (
    MergeProposal,
    MergeRecord,
    ProposalStatus,
    Unlinked,
    VerificationRecord,
)
from escalate.store import Changes, IssueLimit, Store

AT = datetime(2026, 1, 5, 15, 0, tzinfo=UTC)
PHONE = Identity.phone("+14155550100")


def _contact(cid: str, tenant: str = "default") -> Contact:
    link = Link(identity=PHONE, source=LinkSource.CRM_IMPORT, at=AT)
    return Contact(id=cid, tenant=tenant, links=(link,), created_at=AT)


def test_merge_records_round_trip_and_filter_active(store: Store) -> None:
    """A merge record reads back equal; active_merges_into lists only active ones, per tenant."""
    before = _contact("ct_a")
    record = MergeRecord(
        id="mg_1",
        survivor_id="ct_s",
        absorbed_id="ct_a",
        reason="r",
        at=AT,
        survivor_before=_contact("ct_s"),
        absorbed_before=before,
    )
    store.commit(Changes(merges=(record,)))
    assert store.get_merge("default", "mg_1") == record
    assert store.get_merge("other", "mg_1") is None
    assert store.active_merges_into("default", "ct_s") == [record]
    assert store.active_merges_into("other", "ct_s") == []
    undone = record.model_copy(update={"undone_at": AT, "undone_by": "x"})
    store.commit(Changes(merges=(undone,)))
    assert store.active_merges_into("default", "ct_s") == []
    assert store.get_merge("default", "mg_1") == undone


def test_a_contacts_unlinked_addresses_round_trip(store: Store) -> None:
    """What unlink (or an unmerge) recorded on a contact reads back equal, by id and through
    a held identity."""
    email = Identity.email("jane@example.com")
    gone = Unlinked(identity=email, at=AT, actor="agent:7", origin="ct_old")
    parted = Unlinked(identity=Identity.phone("+14155550111"), at=AT, merge_id="mg_1")
    contact = _contact("ct_u").model_copy(update={"unlinked": (gone, parted)})
    store.commit(Changes(contacts=(contact,)))
    assert store.get_contact("default", "ct_u") == contact
    assert store.resolve_identity("default", PHONE) == contact
    assert store.resolve_identity("default", email) is None


def test_a_merge_snapshot_reads_back_the_contacts_unlinked_records_equal(store: Store) -> None:
    """An unmerge tells what a contact recorded since a merge by comparing its records with
    the merge's snapshot of it: read back, the same record is equal (and hashes equal) from
    both, to the microsecond and whatever the offset it was made with."""
    at = datetime(2026, 1, 5, 7, 0, 0, 123456, tzinfo=timezone(timedelta(hours=-8)))
    gone = Unlinked(identity=PHONE, at=at, actor="agent:7", origin="ct_old", merge_id="mg_0")
    survivor = Contact(id="ct_s", created_at=AT, unlinked=(gone,))
    record = MergeRecord(
        id="mg_1",
        survivor_id="ct_s",
        absorbed_id="ct_a",
        reason="r",
        at=AT,
        survivor_before=survivor,
        absorbed_before=_contact("ct_a"),
    )
    store.commit(Changes(contacts=(survivor,), merges=(record,)))
    stored = store.get_contact("default", "ct_s")
    merge = store.get_merge("default", "mg_1")
    assert stored is not None
    assert merge is not None
    assert set(stored.unlinked) == set(merge.survivor_before.unlinked) == {gone}


def test_contacts_unlinked_from_finds_every_record_dormant_ones_too(store: Store) -> None:
    """Every contact keeping the address in ``unlinked`` is found, per tenant: one that
    holds the address again (a merge brought it back, the record dormant) too, since
    erasure must remove the address from all of them."""
    gone = Unlinked(identity=PHONE, at=AT)
    dormant = _contact("ct_holds").model_copy(update={"unlinked": (gone,)})
    plain = Contact(id="ct_lost", tenant="default", created_at=AT, unlinked=(gone,))
    elsewhere = Contact(id="ct_lost", tenant="other", created_at=AT, unlinked=(gone,))
    store.commit(Changes(contacts=(dormant, plain)))
    store.commit(Changes(contacts=(elsewhere,)))
    found = store.contacts_unlinked_from("default", PHONE)
    assert sorted(found, key=lambda contact: contact.id) == [dormant, plain]
    assert store.contacts_unlinked_from("default", Identity.phone("+14155550111")) == []


def test_proposals_filter_by_status(store: Store) -> None:
    """Proposals read back by id and by status, oldest first, never across tenants."""
    first = MergeProposal(
        id="mp_1", contact_ids=("a", "b"), identity=PHONE, reason="r", created_at=AT
    )
    second = first.model_copy(update={"id": "mp_2", "created_at": AT + timedelta(seconds=1)})
    store.commit(Changes(merge_proposals=(second, first)))
    assert store.merge_proposals("default", status="open") == [first, second]
    decided = first.model_copy(update={"status": ProposalStatus.REJECTED})
    store.commit(Changes(merge_proposals=(decided,)))
    assert store.merge_proposals("default", status="open") == [second]
    assert store.merge_proposals("default") == [decided, second]
    assert store.get_merge_proposal("default", "mp_1") == decided
    assert store.merge_proposals("other") == []


def test_verifications_are_versioned_and_counted(store: Store) -> None:
    """A challenge update must carry version + 1; counts are per address and time."""
    record = VerificationRecord(
        id="vc_1",
        contact_id="ct",
        identity=PHONE,
        salt="00",
        code_hash="ab",
        created_at=AT,
        expires_at=AT + timedelta(minutes=10),
    )
    store.commit(Changes(verifications=(record,)))
    assert store.get_verification("default", "vc_1") == record
    assert store.count_verifications("default", PHONE, AT) == 1
    assert store.count_verifications("default", PHONE, AT + timedelta(seconds=1)) == 0
    assert store.count_verifications("other", PHONE, AT) == 0
    used = record.model_copy(update={"used_at": AT, "version": 2})
    store.commit(Changes(verifications=(used,)))
    with pytest.raises(ConcurrentUpdate):
        store.commit(Changes(verifications=(used,)))  # a second use of version 1 -> 2
    assert store.get_verification("default", "vc_1") == used
    assert store.count_verifications("default", PHONE, AT) == 1


def test_a_new_challenge_past_its_issue_limit_is_refused(store: Store) -> None:
    """The cap is counted inside the commit; a refused challenge writes nothing."""

    def challenge(n: int) -> VerificationRecord:
        return VerificationRecord(
            id=f"vc_{n}",
            contact_id="ct",
            identity=PHONE,
            salt="00",
            code_hash="ab",
            created_at=AT + timedelta(seconds=n),
            expires_at=AT + timedelta(minutes=10),
        )

    limit = IssueLimit(count=2, since=AT, retry_after=3600.0)
    store.commit(Changes(verifications=(challenge(1),), issue_limit=limit))
    store.commit(Changes(verifications=(challenge(2),), issue_limit=limit))
    with pytest.raises(RateLimited) as refused:
        store.commit(Changes(verifications=(challenge(3),), issue_limit=limit))
    assert refused.value.retry_after == 3600.0
    assert store.get_verification("default", "vc_3") is None
    assert store.count_verifications("default", PHONE, AT) == 2
    later = IssueLimit(count=2, since=AT + timedelta(seconds=2), retry_after=1.0)
    store.commit(Changes(verifications=(challenge(3),), issue_limit=later))  # one since then
    used = challenge(1).model_copy(update={"used_at": AT, "version": 2})
    store.commit(Changes(verifications=(used,), issue_limit=limit))  # updates are not new


def test_a_refused_commit_writes_no_identity_records(store: Store) -> None:
    """A commit refused on a contact version writes none of its merges or proposals."""
    store.commit(Changes(contacts=(_contact("ct_a"),)))
    proposal = MergeProposal(
        id="mp_1", contact_ids=("a", "b"), identity=PHONE, reason="r", created_at=AT
    )
    with pytest.raises(ConcurrentUpdate):
        store.commit(Changes(contacts=(_contact("ct_a"),), merge_proposals=(proposal,)))
    assert store.merge_proposals("default") == []


def test_merges_holding_an_address_in_either_snapshot(store: Store) -> None:
    """Erasure's lookup: a merge whose snapshot links the address or keeps it unlinked,
    active or undone, oldest first; never another tenant's, never by another address."""
    email = Identity.email("jane@example.com")
    gone = Unlinked(identity=email, at=AT)
    bare = Contact(id="ct_b", created_at=AT)
    linked = MergeRecord(id="mg_2", survivor_id="ct_a", absorbed_id="ct_b", reason="r",
                         at=AT + timedelta(seconds=1), survivor_before=_contact("ct_a"),
                         absorbed_before=bare)  # fmt: skip
    unlinked = linked.model_copy(
        update={
            "id": "mg_1",
            "at": AT,
            "survivor_before": bare,
            "absorbed_before": bare.model_copy(update={"id": "ct_c", "unlinked": (gone,)}),
            "undone_at": AT,
        }
    )
    elsewhere = linked.model_copy(update={"tenant": "other"})
    store.commit(Changes(merges=(linked, unlinked)))
    store.commit(Changes(merges=(elsewhere,)))
    assert store.merges_holding("default", PHONE) == [linked]
    assert store.merges_holding("default", email) == [unlinked]
    assert store.merges_holding("default", Identity.phone("+14155550111")) == []
    assert store.merges_holding("other", PHONE) == [elsewhere]


def test_an_erased_challenge_leaves_its_address(store: Store) -> None:
    """verifications_of lists an address's challenges; one rewritten without its address
    (erasure) is listed and counted for it no more."""
    record = VerificationRecord(id="vc_1", contact_id="ct", identity=PHONE, salt="00",
                                code_hash="ab", created_at=AT,
                                expires_at=AT + timedelta(minutes=10))  # fmt: skip
    later = record.model_copy(update={"id": "vc_2", "created_at": AT + timedelta(seconds=1)})
    store.commit(Changes(verifications=(later, record)))
    assert store.verifications_of("default", PHONE) == [record, later]
    assert store.verifications_of("other", PHONE) == []
    erased = record.model_copy(update={"identity": None, "version": 2})
    store.commit(Changes(verifications=(erased,)))
    assert store.get_verification("default", "vc_1") == erased
    assert store.verifications_of("default", PHONE) == [later]
    assert store.count_verifications("default", PHONE, AT) == 1


def test_merges_of_lists_every_merge_naming_the_contacts_on_either_side(store: Store) -> None:
    """The export's lookup: merges whose survivor or absorbed contact is one of the ids,
    active or undone, oldest first; never another tenant's, never another contact's."""
    first = MergeRecord(id="mg_2", survivor_id="ct_a", absorbed_id="ct_b", reason="r",
                        at=AT + timedelta(seconds=1), survivor_before=_contact("ct_a"),
                        absorbed_before=_contact("ct_b"))  # fmt: skip
    undone = first.model_copy(
        update={"id": "mg_1", "at": AT, "survivor_id": "ct_c", "absorbed_id": "ct_a",
                "undone_at": AT}
    )  # fmt: skip
    others = first.model_copy(update={"id": "mg_3", "survivor_id": "ct_x", "absorbed_id": "ct_y"})
    elsewhere = first.model_copy(update={"tenant": "other"})
    store.commit(Changes(merges=(first, undone, others)))
    store.commit(Changes(merges=(elsewhere,)))
    assert store.merges_of("default", ["ct_a"]) == [undone, first]
    assert store.merges_of("default", ["ct_b"]) == [first]
    assert store.merges_of("default", ["ct_c", "ct_y"]) == [undone, others]
    assert store.merges_of("default", ["ct_z"]) == []
    assert store.merges_of("default", []) == []
    assert store.merges_of("other", ["ct_a"]) == [elsewhere]


def test_verifications_by_lists_the_challenges_started_for_the_contacts(store: Store) -> None:
    """Erasure's and the export's lookup: the challenges whose contact is one of the ids,
    whatever their address, erased ones too, oldest first; never another tenant's."""
    first = VerificationRecord(id="vc_2", contact_id="ct_a", identity=PHONE, salt="00",
                               code_hash="ab", created_at=AT,
                               expires_at=AT + timedelta(minutes=10))  # fmt: skip
    later = first.model_copy(
        update={"id": "vc_1", "identity": Identity.email("a@example.com"),
                "created_at": AT + timedelta(seconds=1)}
    )  # fmt: skip
    others = first.model_copy(update={"id": "vc_3", "contact_id": "ct_b"})
    elsewhere = first.model_copy(update={"tenant": "other"})
    store.commit(Changes(verifications=(later, first, others)))
    store.commit(Changes(verifications=(elsewhere,)))
    assert store.verifications_by("default", ["ct_a"]) == [first, later]
    assert store.verifications_by("default", ["ct_a", "ct_b"]) == [first, others, later]
    assert store.verifications_by("default", ["ct_z"]) == []
    assert store.verifications_by("default", []) == []
    assert store.verifications_by("other", ["ct_a"]) == [elsewhere]
    erased = first.model_copy(update={"identity": None, "version": 2})
    store.commit(Changes(verifications=(erased,)))
    assert store.verifications_by("default", ["ct_a"]) == [erased, later]
