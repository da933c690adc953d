"""A person's known time zone survives merges, so quiet hours keep using it."""

from __future__ import annotations

from datetime import UTC, datetime

from escalate import Escalator, Identity
from escalate.testing import FakeClock, MemoryTransport
from tests.conftest import WEB_FORM_CONSENT, make_thread

#: A Los Angeles mobile number kept by someone who moved to New York.
PHONE = Identity.phone("+14155550100")
#: Tuesday 04:30 UTC: 20:30 in Los Angeles (texts allowed), 23:30 in New York (quiet).
LATE_IN_NEW_YORK = datetime(2026, 1, 6, 4, 30, tzinfo=UTC)


def _two_contacts_of_one_person(esc: Escalator, clock: FakeClock) -> tuple[str, str, str]:
    """An older contact, and a newer one whose zone an agent set; returns their ids and a case."""
    esc.open(make_thread(clock, thread_id="1", user_id="100"))
    clock.advance(minutes=1)
    handoff = esc.open(make_thread(clock, thread_id="2", user_id="200"))
    older = esc.contacts.resolve(Identity.social("x", "100"))
    newer = esc.contacts.resolve(Identity.social("x", "200"))
    assert older is not None
    assert newer is not None
    esc.contacts.set_time_zone(newer.id, "America/New_York")
    return older.id, newer.id, handoff.id


def test_a_known_zone_survives_a_merge_into_a_contact_without_one(
    esc: Escalator, clock: FakeClock, sms: MemoryTransport
) -> None:
    """Merged into an older contact with no zone, the person is still not texted at 23:30."""
    clock.set(LATE_IN_NEW_YORK)
    older, newer, handoff_id = _two_contacts_of_one_person(esc, clock)
    survivor = esc.contacts.merge(older, newer, reason="same person")
    esc.contact_provided(handoff_id, PHONE, consent=WEB_FORM_CONSENT)
    assert sms.sent == []
    assert esc.consent.decide(PHONE, "transactional").zone_source == "contact"
    assert (survivor.id, survivor.time_zone) == (older, "America/New_York")


def test_the_survivors_own_zone_wins_and_an_unmerge_gives_each_its_own_back(
    esc: Escalator, clock: FakeClock
) -> None:
    """Two known zones: the survivor keeps its own; an unmerge undoes what it inherited."""
    older, newer, _ = _two_contacts_of_one_person(esc, clock)
    survivor, record = esc.contacts.merge_with_record(older, newer, reason="same person")
    esc.contacts.unmerge(record.id)
    assert [esc.contacts.live(c).time_zone for c in (older, newer)] == [None, "America/New_York"]
    esc.contacts.set_time_zone(older, "Europe/Lisbon")
    survivor = esc.contacts.merge(older, newer, reason="same person")
    assert survivor.time_zone == "Europe/Lisbon"


def test_setting_the_zone_under_a_merged_contacts_id_reaches_the_person(
    esc: Escalator, clock: FakeClock
) -> None:
    """An agent with the absorbed contact's id sets the zone quiet hours read, not a tombstone's."""
    older, newer, _ = _two_contacts_of_one_person(esc, clock)
    esc.contacts.merge(older, newer, reason="same person")
    updated = esc.contacts.set_time_zone(newer, "America/Chicago")
    assert updated.id == older
    assert esc.contacts.live(older).time_zone == "America/Chicago"
