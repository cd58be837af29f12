"""The authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

STAFF_ROLES = ("agent", "reviewer", "admin")


@dataclass(frozen=True)
class Principal:
    kind: Literal["staff", "customer"]
    role: str  # agent | reviewer | admin | customer
    actor: str  # "staff:<user id>", "admin:bootstrap" or "customer:<customer_ref>"
    user_id: str | None = None
    customer_ref: str | None = None

    def has_role(self, *roles: str) -> bool:
        """Staff roles; `admin` may do everything `agent` and `reviewer` may."""
        return self.kind == "staff" and (self.role == "admin" or self.role in roles)
