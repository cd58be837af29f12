"""Response bodies of the audit routes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field


class AuditEventPublic(BaseModel):
    """One audit row. Ids and pseudonyms only: never a raw customer id or free text."""

    seq: int
    at: datetime
    action: str
    actor: str
    role: str
    customer_ref: str | None = Field(description="Keyed pseudonym of the customer")
    object_ids: dict[str, Any] = Field(description="Ids (and enums) of the objects concerned")
    model_name: str | None = None
    model_version: str | None = None
    prev_hash: str
    hash: str


class AuditEventPage(BaseModel):
    items: list[AuditEventPublic] = Field(description="Newest first")
    next_before_seq: int | None = Field(
        default=None, description="Pass as ?before_seq= for older events; null at the start"
    )


class AuditVerification(BaseModel):
    """The chain recomputed from the first row: where it breaks, if it does."""

    ok: bool
    checked: int = Field(description="Rows checked")
    head_seq: int = Field(description="Sequence number of the last row")
    head_hash: str
    first_broken: int | None = Field(
        default=None, description="Sequence number of the first row whose link is broken"
    )
    detail: str | None = None
