"""Rights requests and the customer's own copy, as the API shows them."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from serving.disputes.schemas import DisputePublic
from serving.freetext import PersonText
from serving.scoring.schemas import PredictionPublic

Kind = Literal["access", "erasure", "rectification", "restriction", "objection"]
Status = Literal["open", "extended", "done", "refused", "cancelled"]


class RightsRequestCreate(BaseModel):
    """A data-protection request: what the customer asks for, in their words."""

    model_config = ConfigDict(extra="forbid", json_schema_extra={"example": {
        "kind": "rectification", "details": "My address changed in March."}})

    kind: Kind = Field(description="access (Art. 15), erasure (Art. 17), rectification "
                       "outside a dispute (Art. 16), restriction (Art. 18), objection "
                       "(Art. 21)")
    details: str = Field(default="", max_length=4000,
                         description="What the customer asks, in their words (never written "
                                     "to the audit log; dropped at an erasure)")


class RightsExtend(BaseModel):
    """Extend a request by two further months (Art. 12(3)); the customer is told why."""

    model_config = ConfigDict(extra="forbid")
    reason: PersonText = Field(min_length=10, max_length=2000,
                               description="Why more time is needed, as the customer will "
                                           "read it (at least 10 characters, not counting "
                                           "the spaces around it)")


class RightsClose(BaseModel):
    """Answer a request: done (carried out) or refused (with the reason told)."""

    model_config = ConfigDict(extra="forbid")
    status: Literal["done", "refused"]
    outcome: PersonText = Field(min_length=3, max_length=4000,
                                description="What was done, or why it is refused, as the "
                                            "customer will read it (at least 3 characters, "
                                            "not counting the spaces around it)")


class RightsRequestPublic(BaseModel):
    """A request as a case: its deadline (extended or not), status, handler, outcome."""

    request_id: str
    customer_ref: str
    kind: Kind
    status: Status
    opened_at: datetime
    opened_via: Literal["customer", "assisted"]
    due_at: datetime = Field(description="One month after it was received")
    extended_due_at: datetime | None = Field(
        default=None, description="Two further months, when extended (Art. 12(3))")
    extension_reason: str | None = None
    deadline: datetime = Field(description="The deadline that applies now")
    days_left: int = Field(description="Whole days until the deadline (negative: overdue)")
    overdue: bool
    handler: str | None = Field(default=None, description="Who handles it (staff name)")
    closed_at: datetime | None = None
    outcome: str | None = None
    details: str = ""
    carry_out_at: datetime | None = Field(
        default=None, description="Erasure: carried out automatically at this time unless "
                                  "a person did it before or the customer cancelled")
    related_id: str | None = Field(
        default=None, description="The objection or dispute it was carried out through")
    answered_in_time: bool | None = Field(
        default=None, description="Closed: whether it was answered by its deadline")


class RightsRequestList(BaseModel):
    items: list[RightsRequestPublic]
    overdue: int = Field(description="Open requests past their deadline")


class DueRun(BaseModel):
    """What `rights-due` did: erasures carried out after their waiting period."""

    carried_out: list[str] = Field(description="Ids of the requests carried out")
    failed: list[str] = Field(default_factory=list)
    overdue: int


# -- the customer's own copy (Art. 15) ------------------------------------------------------
class Contact(BaseModel):
    name: str
    url: str | None = None
    text: str


class FeatureUsed(BaseModel):
    feature: str
    label: str
    description: str | None = None
    description_lang: str = Field(default="en", description=(
        "The language the description is written in (the copy's, unless the model's "
        "schema gave it in English only)"))
    purpose: str | None = None
    purpose_lang: str = Field(default="en", description="The language of the purpose")


class ModelUsed(BaseModel):
    """A model version that scored the customer, and how it decides."""

    name: str
    version: str
    dataset: str
    trained_at: str
    training_rows: int
    features: list[FeatureUsed]
    high_threshold: float
    medium_threshold: float
    contact_fraction: float
    calibration: str


class Procedure(BaseModel):
    """The procedure and principles actually applied (Art. 15(1)(h), CJEU C-203/22)."""

    purpose: str
    how_it_decides: list[str]
    what_it_cannot_do: list[str]
    models: list[ModelUsed]


class DataUsed(BaseModel):
    label: str
    shown: str
    value: Any = None


class PredictionHeld(BaseModel):
    """A prediction with its explanation, model version and the data it used."""

    prediction: PredictionPublic
    source: str
    withdrawn: bool
    data_used: list[DataUsed]


class ObjectionHeld(BaseModel):
    objected_at: datetime
    by_phone: bool
    withdrawn_at: datetime | None = None


class TaskHeld(BaseModel):
    """A request for a person of the retention team to get in touch with you."""

    task_id: str
    prediction_id: str = Field(description="The prediction that opened it")
    status: str = Field(description="open, claimed, done or cancelled")
    created_at: datetime
    claimed_at: datetime | None = Field(default=None,
                                        description="When a person took it on")
    completed_at: datetime | None = Field(default=None, description="When it was closed")
    outcome: str | None = Field(default=None, description="What came of the contact")
    note: str | None = Field(default=None, description="The note the person wrote")


class MessageHeld(BaseModel):
    """A message written to you (a notice, a decision, a link)."""

    message_id: str
    kind: str = Field(description="What the message is about")
    subject: str
    address: str | None = Field(default=None, description=(
        "Where it was sent (none once the address is removed)"))
    status: str = Field(description="pending, sending, sent or failed")
    created_at: datetime
    sent_at: datetime | None = Field(default=None, description="When it left")


class LinkHeld(BaseModel):
    """A single-use link that opened your page (only its dates: never the
    link itself)."""

    channel: str = Field(description=(
        "How it came: through the company's customer portal (portal) or sent to your "
        "address (delivered)"))
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None = Field(default=None, description="When it was opened")
    revoked_at: datetime | None = Field(default=None, description=(
        "When it was cancelled before use"))


class SessionHeld(BaseModel):
    """A signed-in visit to your page (only its dates)."""

    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None = Field(default=None, description=(
        "When it was ended (signing out, a new link, an erasure)"))


class EventHeld(BaseModel):
    seq: int
    at: datetime
    action: str = Field(description="The action's code in the audit log")
    by: Literal["you", "staff", "system"]
    what: str = Field(description="The action in words, in the copy's language")


class Recourse(BaseModel):
    available: bool
    text: str
    options: list[Any] = Field(default_factory=list)


class AccessCopy(BaseModel):
    """Everything held about the customer, and how it is used, in their language."""

    generated_at: datetime
    lang: Literal["en", "fr"]
    customer_ref: str = Field(description="The pseudonym that stands for you in our records")
    customer_id: str | None = Field(description="Your customer number")
    restricted: bool
    objected: bool
    first_seen_at: datetime | None
    contact_address: str | None
    contact_lang: str | None
    dpo: Contact
    authority: Contact
    procedure: Procedure
    recourse: Recourse
    predictions: list[PredictionHeld]
    disputes: list[DisputePublic]
    objections: list[ObjectionHeld]
    tasks: list[TaskHeld]
    messages: list[MessageHeld]
    rights_requests: list[RightsRequestPublic]
    access_links: list[LinkHeld]
    sessions: list[SessionHeld]
    idempotency_keys: list[str]
    history: list[EventHeld]
