"""The authenticated caller."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

STAFF_ROLES = ("agent", "reviewer", "admin", "integration", "auditor")
# integration: the business's CRM or customer portal (a service account), issue 15
# auditor: a third party (a DPO's auditor, a regulator's inspector), issue 18: reads only
# aggregate, non-identifying material (contest analytics, the compliance report, the audit
# chain's verification, the served model) and never writes
AUDITOR = "auditor"
INTEGRATION = "integration"
# the bootstrap admin: whoever holds CHURN_ADMIN_TOKEN, set in the service's environment by
# the operator who deploys it
BOOTSTRAP_ACTOR = "admin:bootstrap"
# roles that hold only what names them: admin's "everything" does not make an admin one of
# them, and they are never implied by another role
NAMED_ONLY = (INTEGRATION, AUDITOR)


@dataclass(frozen=True)
class Principal:
    kind: Literal["staff", "customer"]
    role: str  # agent | reviewer | admin | integration | auditor | customer
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

    @property
    def outside(self) -> bool:
        """A third party (an auditor): reads aggregates only over fixed, ended periods."""
        return self.kind == "staff" and self.role == AUDITOR

    def has_role(self, *roles: str) -> bool:
        """Staff roles; `admin` may do everything `agent` and `reviewer` may. The
        integration (a service account) and the auditor (a third party) may do only what
        names them."""
        if self.kind != "staff":
            return False
        if self.role in NAMED_ONLY:
            return self.role in roles
        return self.role == "admin" or self.role in roles
