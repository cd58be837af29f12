"""Object to profiling and withdraw the objection: flag, history row, tasks, audit in one
transaction. Scoring (`POST /v1/predictions`) answers 409 `suppressed` while it stands;
the risk list, the task queue and batch scoring leave the customer out."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.auth.principal import Principal
from serving.auth.users import display_names
from serving.config import Settings
from serving.customers import access
from serving.delivery import notices
from serving.errors import Conflict, Forbidden, must_find
from serving.objections.schemas import ObjectionPublic
from serving.retention.tasks import cancel_for_objection
from serving.storage.db import write_lock
from serving.storage.tables import Customer, Objection, new_id


def _ref(principal: Principal) -> str:
    if principal.kind != "customer" or not principal.customer_ref:
        raise Forbidden("an objection is made by the customer, through their access link")
    return principal.customer_ref


def _customer(session: Session, ref: str) -> Customer:
    return must_find(session.get(Customer, ref, populate_existing=True),
                     "no record is kept about you")


def _latest(session: Session, ref: str) -> Objection | None:
    return session.scalars(select(Objection).where(Objection.customer_ref == ref)
                           .order_by(Objection.objected_at.desc()).limit(1)).first()


def status(session: Session, principal: Principal) -> ObjectionPublic:
    ref = _ref(principal)
    customer = _customer(session, ref)
    last = _latest(session, ref)
    by = last.objected_by if last else None
    assisted = bool(by and not by.startswith("customer:"))
    return ObjectionPublic(customer_ref=ref, objected=customer.objected,
                           objected_at=last.objected_at if last else None,
                           withdrawn_at=last.withdrawn_at if last else None,
                           assisted=assisted,
                           assisted_by=(display_names(session, [by]).get(by or "", "staff")
                                        if assisted else None))


def object_to_profiling(session: Session, principal: Principal, *,
                        settings: Settings | None = None) -> tuple[ObjectionPublic, bool]:
    """Record the objection (a repeat changes nothing); returns it and whether it is new."""
    ref = _ref(principal)
    _customer(session, ref)
    now = datetime.now(UTC)
    try:
        with write_lock(session):
            customer = _customer(session, ref)
            if customer.objected:
                session.rollback()
                return status(session, principal), False
            oid = new_id()
            session.add(Objection(id=oid, customer_ref=ref, objected_at=now,
                                  objected_by=principal.actor))
            session.flush()
            session.execute(update(Customer).where(Customer.customer_ref == ref)
                            .values(objected=True)
                            .execution_options(synchronize_session=False))
            cancelled = cancel_for_objection(session, ref, now)
            if settings is not None:  # the customer is told, with a link to withdraw
                notices.notify(session, settings, ref, "objection", principal, with_link=True,
                               by=("by_phone",) if principal.assisted_by else ("",))
            audit.append(session, principal, audit.OBJECTION_RECORDED, customer_ref=ref,
                         objects={"objection_id": oid, "cancelled_task_ids": cancelled,
                                  "assisted": principal.assisted_by is not None,
                                  **access.origin(session, principal)})
            session.commit()
    except IntegrityError:  # a concurrent objection won
        session.rollback()
        return status(session, principal), False
    out = status(session, principal)
    out.cancelled_task_ids = cancelled
    return out, True


def withdraw(session: Session, principal: Principal) -> ObjectionPublic:
    """Withdraw the objection: the customer may be scored again (from the next score).
    Only in the customer's own session: never an assisted action (issue 15)."""
    ref = _ref(principal)
    if principal.assisted_by is not None or not principal.session_id:
        raise Forbidden("withdrawing an objection needs the customer's own session (their "
                        "link); staff cannot withdraw it for them")
    now = datetime.now(UTC)
    with write_lock(session):
        _customer(session, ref)
        ids = list(session.scalars(select(Objection.id).where(
            Objection.customer_ref == ref, Objection.withdrawn_at.is_(None))))
        done = session.execute(
            update(Customer).where(Customer.customer_ref == ref, Customer.objected)
            .values(objected=False).execution_options(synchronize_session=False)).rowcount
        if not done:
            session.rollback()
            raise Conflict("there is no objection to withdraw")
        session.execute(update(Objection).where(Objection.id.in_(ids))
                        .values(withdrawn_at=now, withdrawn_by=principal.actor)
                        .execution_options(synchronize_session=False))
        audit.append(session, principal, audit.OBJECTION_WITHDRAWN, customer_ref=ref,
                     objects={"objection_ids": ids, **access.origin(session, principal)})
        session.commit()
    return status(session, principal)
