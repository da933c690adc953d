"""Kantara Consent Receipt v1.1 for a consent record (GDPR Art. 7(1): demonstrate consent).

``consent_receipt(record, controller=...)`` gives the receipt as a JSON-ready dict
with the specification's field names; ``ConsentReceipt.parse`` reads one back and
refuses a malformed one with ``InvalidConsentReceipt``. A revoke gets a receipt
too: its purposes carry ``termination`` naming when and how consent ended.
"""

from __future__ import annotations

import json
from typing import Any, Literal

from pydantic import ConfigDict, Field, ValidationError, field_validator, model_validator

from escalate._exceptions import InvalidConsentReceipt, InvalidInput
from escalate._model import Model
from escalate.consent._records import ConsentAction, ConsentRecord, Purpose

__all__ = ["ConsentReceipt", "ReceiptAddress", "ReceiptController", "consent_receipt"]

RECEIPT_VERSION = "KI-CR-v1.1.0"


class _Strict(Model):
    model_config = ConfigDict(frozen=True, extra="forbid", populate_by_name=True)


class ReceiptAddress(_Strict):
    """The controller's postal address: v1.1 makes it an object (schema.org
    ``PostalAddress``), where v1.0 had a string."""

    street_address: str | None = Field(default=None, alias="streetAddress", min_length=1)
    post_office_box_number: str | None = Field(
        default=None, alias="postOfficeBoxNumber", min_length=1
    )
    address_locality: str | None = Field(default=None, alias="addressLocality", min_length=1)
    address_region: str | None = Field(default=None, alias="addressRegion", min_length=1)
    postal_code: str | None = Field(default=None, alias="postalCode", min_length=1)
    address_country: str | None = Field(default=None, alias="addressCountry", min_length=1)

    @model_validator(mode="after")
    def _not_empty(self) -> ReceiptAddress:
        if not any(self.model_dump().values()):
            raise ValueError("an address needs at least one part")
        return self


class ReceiptController(_Strict):
    """The brand that holds the consent (the PII controller).

    ``address`` is a ``ReceiptAddress`` (or its JSON object); a string is read
    as its ``streetAddress``.
    """

    pii_controller: str = Field(alias="piiController", min_length=1)
    contact: str = Field(min_length=1)
    address: ReceiptAddress
    email: str = Field(min_length=3)
    phone: str = Field(min_length=3)
    pii_controller_url: str | None = Field(default=None, alias="piiControllerUrl")
    on_behalf: bool = Field(default=False, alias="onBehalf")

    @field_validator("address", mode="before")
    @classmethod
    def _street(cls, value: object) -> object:
        # The string form this class took before v1.1's object, and that a
        # receipt written then still holds.
        return {"streetAddress": value} if isinstance(value, str) else value


class ReceiptPurpose(_Strict):
    purpose: str = Field(min_length=1)
    purpose_category: list[str] = Field(alias="purposeCategory", min_length=1)
    consent_type: Literal["EXPLICIT", "IMPLICIT"] = Field(alias="consentType")
    pii_category: list[str] = Field(alias="piiCategory", min_length=1)
    primary_purpose: bool = Field(alias="primaryPurpose")
    termination: str = Field(min_length=1)
    third_party_disclosure: bool = Field(alias="thirdPartyDisclosure")
    third_party_name: str | None = Field(default=None, alias="thirdPartyName")


class ReceiptService(_Strict):
    service: str = Field(min_length=1)
    purposes: list[ReceiptPurpose] = Field(min_length=1)


class ConsentReceipt(_Strict):
    """A Kantara Consent Receipt v1.1, field for field."""

    version: Literal["KI-CR-v1.1.0"]
    jurisdiction: str = Field(min_length=1)
    consent_timestamp: int = Field(alias="consentTimestamp", ge=0)
    collection_method: str = Field(alias="collectionMethod", min_length=1)
    consent_receipt_id: str = Field(alias="consentReceiptID", min_length=1)
    public_key: str | None = Field(default=None, alias="publicKey")
    language: str | None = None
    pii_principal_id: str = Field(alias="piiPrincipalId", min_length=1)
    pii_controllers: list[ReceiptController] = Field(alias="piiControllers", min_length=1)
    policy_url: str = Field(alias="policyUrl", min_length=1)
    services: list[ReceiptService] = Field(min_length=1)
    sensitive: bool
    spi_cat: list[str] = Field(alias="spiCat")

    @classmethod
    def parse(cls, data: str | bytes | dict[str, Any]) -> ConsentReceipt:
        """Read a receipt from JSON text or a dict.

        Raises:
            InvalidConsentReceipt: not JSON, a missing or mistyped field, an unknown field.
        """
        try:
            if isinstance(data, str | bytes):
                return cls.model_validate_json(data)
            if not isinstance(data, dict):
                raise InvalidConsentReceipt("a consent receipt is a JSON object")
            return cls.model_validate(data)
        except ValidationError as exc:
            fields = sorted({".".join(map(str, error["loc"])) for error in exc.errors()})
            raise InvalidConsentReceipt(f"malformed consent receipt: {fields}") from None

    def to_json(self) -> dict[str, Any]:
        """The receipt with the specification's field names."""
        return self.model_dump(by_alias=True, exclude_none=True)


_PURPOSE_TEXT = {
    Purpose.TRANSACTIONAL: "Messages about the customer's own support case",
    Purpose.MARKETING: "Marketing messages",
}
_PURPOSE_CATEGORY = {
    Purpose.TRANSACTIONAL: "Customer service",
    Purpose.MARKETING: "Marketing",
}


def consent_receipt(
    record: ConsentRecord,
    *,
    controller: ReceiptController,
    policy_url: str,
    jurisdiction: str = "US",
    language: str = "en",
    service: str = "Customer support messaging",
) -> dict[str, Any]:
    """The Kantara v1.1 receipt of one record, as a JSON-ready dict.

    Raises:
        InvalidInput: ``record`` is not a ConsentRecord.
    """
    if not isinstance(record, ConsentRecord):
        raise InvalidInput("consent_receipt() takes a ConsentRecord")
    purposes = [Purpose.MARKETING, Purpose.TRANSACTIONAL] if record.all_purposes else []
    purposes = purposes or [record.purpose]
    if record.action is ConsentAction.GRANT:
        termination = "Until revoked: reply STOP, or use the unsubscribe link"
    else:
        done = {ConsentAction.REVOKE: "Revoked", ConsentAction.SUPPRESS: "Suppressed"}
        termination = f"{done[record.action]} {record.at.isoformat()} via {record.source.value}"
    channel_pii = "Phone number" if record.address.kind.value == "phone" else "Email address"
    if not isinstance(controller, ReceiptController):
        raise InvalidInput("controller must be a ReceiptController")
    if not isinstance(policy_url, str) or not policy_url.strip():
        raise InvalidInput("policy_url must be the address of your privacy policy")
    receipt = ConsentReceipt.model_validate(
        {
            "version": RECEIPT_VERSION,
            "jurisdiction": jurisdiction,
            "consentTimestamp": int(record.at.timestamp()),
            "collectionMethod": record.source.value
            + (
                f" (wording {record.evidence.text_version})" if record.evidence.text_version else ""
            ),
            "consentReceiptID": record.id,
            "language": language,
            "piiPrincipalId": record.address.value,
            "piiControllers": [controller.model_dump(by_alias=True, exclude_none=True)],
            "policyUrl": policy_url,
            "services": [
                {
                    "service": service,
                    "purposes": [
                        {
                            "purpose": _PURPOSE_TEXT[purpose],
                            "purposeCategory": [_PURPOSE_CATEGORY[purpose]],
                            "consentType": "EXPLICIT" if record.explicit else "IMPLICIT",
                            "piiCategory": [channel_pii, "Message content"],
                            "primaryPurpose": purpose is Purpose.TRANSACTIONAL,
                            "termination": termination,
                            "thirdPartyDisclosure": False,
                        }
                        for purpose in purposes
                    ],
                }
            ],
            "sensitive": False,
            "spiCat": [],
        }
    )
    return json.loads(json.dumps(receipt.to_json()))  # type: ignore[no-any-return]
