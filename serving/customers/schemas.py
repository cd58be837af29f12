from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, Field


class AccessLinkPublic(BaseModel):
    """A self-service link scoped to one customer; send `url` to them."""

    url: str = Field(description="The customer's page; the token travels in the URL fragment")
    token: str = Field(description="Bearer token for the customer JSON API")
    expires_at: datetime


class CustomerSelfPublic(BaseModel):
    """What a customer token opens: their own record's status."""

    customer_ref: str
    restricted: bool
    objected: bool
    latest_prediction_id: str | None = None
