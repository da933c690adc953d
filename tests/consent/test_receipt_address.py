"""Kantara v1.1 makes a controller's ``address`` a postal address object.

``consent_receipt`` wrote it as v1.0's string, and ``ConsentReceipt.parse``
refused any v1.1 receipt that held the object (the specification's own example
among them) as malformed.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from escalate import Channel, ConsentEvidence, ConsentSource, Identity, InvalidConsentReceipt
from escalate.consent import (
    ConsentAction,
    ConsentReceipt,
    ConsentRecord,
    Purpose,
    ReceiptController,
    consent_receipt,
)

RECORD = ConsentRecord(
    id="cr_1",
    address=Identity.phone("+14155550100"),
    channel=Channel.SMS,
    purpose=Purpose.TRANSACTIONAL,
    action=ConsentAction.GRANT,
    evidence=ConsentEvidence(source=ConsentSource.WEB_FORM, text="Text me."),
    at=datetime(2026, 1, 5, 18, 0, tzinfo=UTC),
)


def _v1_1_receipt() -> dict[str, Any]:
    """A receipt shaped as the v1.1 specification's example is."""
    return {
        "version": "KI-CR-v1.1.0",
        "jurisdiction": "GB",
        "consentTimestamp": 1767636000,
        "collectionMethod": "Sign-up form",
        "consentReceiptID": "9a1c0f2e-7b7e-4d55-9b1a-1f2e3d4c5b6a",
        "language": "en",
        "piiPrincipalId": "someone@example.org",
        "piiControllers": [
            {
                "piiController": "Example Ltd",
                "contact": "Data Protection Officer",
                "address": {"streetAddress": "1 High Street", "addressCountry": "GB"},
                "email": "dpo@example.org",
                "phone": "+44 20 7946 0000",
                "onBehalf": False,
            }
        ],
        "policyUrl": "https://example.org/privacy",
        "services": [
            {
                "service": "Newsletter",
                "purposes": [
                    {
                        "purpose": "Send the newsletter",
                        "purposeCategory": ["Marketing"],
                        "consentType": "EXPLICIT",
                        "piiCategory": ["Contact"],
                        "primaryPurpose": True,
                        "termination": "Until unsubscribed",
                        "thirdPartyDisclosure": False,
                    }
                ],
            }
        ],
        "sensitive": False,
        "spiCat": [],
    }


def test_a_v1_1_receipt_with_a_postal_address_object_reads_back() -> None:
    receipt = _v1_1_receipt()
    parsed = ConsentReceipt.parse(json.dumps(receipt))
    assert parsed.pii_controllers[0].address.address_country == "GB"
    assert parsed.to_json() == receipt


def test_a_receipt_gives_the_controllers_address_as_an_object() -> None:
    controller = ReceiptController(
        piiController="Acme Inc.",
        contact="Privacy team",
        address="1 Main St, Springfield",
        email="privacy@acme.example",
        phone="+1 415 555 0199",
    )
    receipt = consent_receipt(RECORD, controller=controller, policy_url="https://acme.example/p")
    assert receipt["piiControllers"][0]["address"] == {"streetAddress": "1 Main St, Springfield"}
    from escalate.consent import ReceiptAddress

    full = controller.model_copy(
        update={"address": ReceiptAddress(streetAddress="1 Main St", addressCountry="US")}
    )
    receipt = consent_receipt(RECORD, controller=full, policy_url="https://acme.example/p")
    assert receipt["piiControllers"][0]["address"] == {
        "streetAddress": "1 Main St",
        "addressCountry": "US",
    }
    assert ConsentReceipt.parse(receipt).to_json() == receipt


def test_a_receipt_with_the_older_string_address_still_reads() -> None:
    """A receipt written before this fix held the string: it reads as the street."""
    receipt = _v1_1_receipt()
    receipt["piiControllers"][0]["address"] = "1 High Street, London"
    parsed = ConsentReceipt.parse(receipt)
    assert parsed.pii_controllers[0].address.street_address == "1 High Street, London"


@pytest.mark.parametrize("address", [{}, {"streetAddress": ""}, {"street": "1 High St"}, 7])
def test_a_malformed_address_is_refused(address: object) -> None:
    receipt = _v1_1_receipt()
    receipt["piiControllers"][0]["address"] = address
    with pytest.raises(InvalidConsentReceipt):
        ConsentReceipt.parse(receipt)
