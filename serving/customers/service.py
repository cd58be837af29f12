"""Access links and the customer's own view."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from models import pseudonymise
from serving.auth.principal import Principal
from serving.auth.tokens import issue_link
from serving.config import Settings
from serving.customers.schemas import AccessLinkPublic, CustomerSelfPublic
from serving.errors import NotFound
from serving.storage.tables import Customer


def find(session: Session, settings: Settings, customer_id: str) -> Customer:
    ref = pseudonymise(customer_id, settings.pseudonym_secret)
    customer = session.get(Customer, ref)
    if customer is None:
        raise NotFound("no such customer (customers appear once they are scored)")
    return customer


def access_link(session: Session, settings: Settings, customer_id: str,
                principal: Principal) -> AccessLinkPublic:
    """Issue a signed, expiring link for one customer. Nothing is written: the link
    carries its own scope (the pseudonym) and expiry. Issue 4 audits the issue."""
    customer = find(session, settings, customer_id)
    link = issue_link(customer.customer_ref, settings.link_signing_secret,
                      timedelta(hours=settings.link_ttl_hours))
    return AccessLinkPublic(
        url=f"{settings.public_base_url}/me#token={link.token}",
        token=link.token,
        expires_at=link.expires_at,
    )


def me(session: Session, principal: Principal) -> CustomerSelfPublic:
    customer = session.scalar(
        select(Customer).where(Customer.customer_ref == principal.customer_ref)
    )
    if customer is None:
        raise NotFound("no record is kept about you")
    return CustomerSelfPublic(
        customer_ref=customer.customer_ref, restricted=customer.restricted,
        objected=customer.objected, latest_prediction_id=customer.latest_prediction_id,
    )
