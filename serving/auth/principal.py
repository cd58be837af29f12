"""The authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

STAFF_ROLES = ("agent", "reviewer", "admin", "integration")
# integration: the business's CRM or customer portal (a service account), issue 15


@dataclass(frozen=True)
class Principal:
    kind: Literal["staff", "customer"]
    role: str  # agent | reviewer | admin | customer
    actor: str  # "staff:<user id>", "admin:bootstrap" or "customer:<customer_ref>"
    user_id: str | None = None
    customer_ref: str | None = None
    session_id: str | None = None  # the server-side session a customer acts through
    link_id: str | None = None  # the access link that opened that session
    # an assisted action: staff acting for a customer who phoned (their actor), issue 15
    assisted_by: str | None = None

    def assisting(self, customer_ref: str) -> Principal:
        """This staff member acting for a customer who phoned: customer-side rules,
        recorded under the staff member's own name."""
        return Principal(kind="customer", role=self.role, actor=self.actor,
                         user_id=self.user_id, customer_ref=customer_ref,
                         assisted_by=self.actor)

    def has_role(self, *roles: str) -> bool:
        """Staff roles; `admin` may do everything `agent` and `reviewer` may."""
        if self.kind != "staff":
            return False
        if self.role == "integration":  # a service account: only what names it
            return "integration" in roles
        return self.role == "admin" or self.role in roles
