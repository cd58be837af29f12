from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, Field
from pydantic_core import PydanticCustomError

from serving.customers import contacts
from serving.disputes.schemas import DisputePublic
from serving.objections.schemas import ObjectionPublic
from serving.scoring.schemas import PredictionPublic


class AccessLinkPublic(BaseModel):
    """A self-service link scoped to one customer; send `url` to them."""

    url: str = Field(description="The customer's page (the link opens it once)")
    token: str = Field(description="The link's token: exchanged once for a session "
                                   "(POST /v1/sessions)")
    expires_at: datetime


class LinkSentPublic(BaseModel):
    """A link queued to the customer's contact address: neither the link nor the address
    is shown to the sender."""

    message_id: str
    status: Literal["queued"]
    expires_at: datetime


ADDRESS_INVALID = "address_invalid"  # the `problem` of a refused address


def _one_mailbox(value: str) -> str:
    """The address in its stored form (`contacts.check`), or a 422 saying in words what
    is expected, what is wrong with what came, and the fix."""
    try:
        return contacts.check(value).normalized
    except contacts.AddressRefused as exc:
        raise PydanticCustomError(
            ADDRESS_INVALID, "{expected}; what came: {why}; fix: {fix}",
            {"expected": contacts.ADDRESS_EXPECTED, "why": exc.why,
             "fix": contacts.ADDRESS_FIX},
        ) from None


ContactAddress = Annotated[str, Field(
    description=f"The customer's e-mail address: {contacts.ADDRESS_EXPECTED}. Stored in "
    "its normal form (the domain lower-cased, an internationalised domain in Unicode); "
    "messages go to it alone",
    json_schema_extra={"minLength": contacts.ADDRESS_MIN, "maxLength": contacts.ADDRESS_MAX,
                       "examples": ["lea.martin+news@example.org"]}),
    AfterValidator(_one_mailbox)]


class ContactSet(BaseModel):
    """The customer's contact address and language (integration role)."""

    address: ContactAddress
    lang: Literal["en", "fr"] = "en"


class ContactPublic(ContactSet):
    customer_ref: str


class SessionOpen(BaseModel):
    """Exchange an access link (once) for a customer session."""

    link: str = Field(min_length=1, max_length=200, description="The link's token (cl_...)")


class SessionPublic(BaseModel):
    token: str = Field(description="Bearer token of the customer session (cs_...)")
    expires_at: datetime


class SignedOut(BaseModel):
    signed_out: bool


class CustomerSelfPublic(BaseModel):
    """What a customer token opens: their own record's status."""

    customer_ref: str
    restricted: bool
    objected: bool
    latest_prediction_id: str | None = None


class CustomerRecordPublic(CustomerSelfPublic):
    """A customer's record as staff see it: with the raw id (null once erased)."""

    external_id: str | None = None


class DataUsedPublic(BaseModel):
    """One piece of data the prediction used, and why the model needs it."""

    feature: str
    label: str
    value: Any = Field(description="The value as stored (null when not known)")
    shown: str = Field(description="The value in plain words")
    description: str | None = None
    purpose: str | None = None


class RightPublic(BaseModel):
    right: Literal["access", "rectification", "restriction", "objection", "human_review",
                   "erasure"]
    text: str
    how: str


class MyPredictionPublic(BaseModel):
    """The customer's latest prediction in plain words, the data it used, what it is for,
    and their rights (customer token)."""

    customer_ref: str
    restricted: bool = Field(description="A dispute is open: the record is not used")
    objected: bool = Field(description="You objected to profiling: you are not scored")
    prediction: PredictionPublic | None = Field(
        description="The latest prediction still in use, with its explanation (null: none)")
    summary: str = Field(description="The prediction in plain words")
    data_used: list[DataUsedPublic]
    purpose: str
    rights: list[RightPublic]
    disputes: list[DisputePublic] = Field(description="Your disputes, newest first")
    objection: ObjectionPublic | None = Field(
        default=None, description="Your objection to profiling, if any, and who recorded it")


class ErasurePublic(BaseModel):
    """What an erasure removed. The audit log keeps only the pseudonym and the fact."""

    customer_ref: str
    erased: dict[str, int] = Field(description="Rows deleted, by kind")
    audit_seq: int = Field(description="The audit event recording the erasure")
