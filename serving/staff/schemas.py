from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

Role = Literal["agent", "reviewer", "admin", "integration", "auditor"]


class StaffUserPublic(BaseModel):
    user_id: str
    name: str
    role: str
    active: bool
    created_at: datetime


class StaffUserList(BaseModel):
    items: list[StaffUserPublic]


class StaffTokenPublic(StaffUserPublic):
    token: str = Field(description="The user's new token, shown only this once")


class RoleChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    role: Role
