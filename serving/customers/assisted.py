"""Assisted actions (issue 15): a customer phones and an agent files a dispute or an
objection for them. The customer-side rules apply, the action is recorded under the
agent's own name (`assisted`), visible to the customer and in the audit log. Withdrawing
an objection is never assisted: it needs the customer's own session."""

from __future__ import annotations

from sqlalchemy.orm import Session

from serving.auth.principal import Principal
from serving.config import Settings
from serving.customers.service import find
from serving.disputes import service as disputes
from serving.disputes.schemas import DisputeCreate
from serving.objections import service as objections
from serving.objections.schemas import ObjectionPublic
from serving.specs import SpecCache


def dispute(session: Session, settings: Settings, specs: SpecCache, customer_id: str,
            body: DisputeCreate, agent: Principal, lang: str = "en") -> disputes.DisputeOpened:
    ref = find(session, settings, customer_id).customer_ref
    return disputes.open_dispute(session, agent.assisting(ref), body, None, specs=specs,
                                 lang=lang)


def objection(session: Session, settings: Settings, customer_id: str,
              agent: Principal) -> tuple[ObjectionPublic, bool]:
    ref = find(session, settings, customer_id).customer_ref
    return objections.object_to_profiling(session, agent.assisting(ref), settings=settings)
