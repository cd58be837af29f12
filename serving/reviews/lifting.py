"""Art. 18(3): the customer is told *before* their restriction is lifted.

A decision that ends the customer's last open dispute lifts their restriction. When a
contact address is known, the decision leaves the record restricted and queues the
decision notice marked `lifts_restriction`; the delivery worker calls `lift_after_notice`
in the very transaction that records the notice sent, so the lift can never precede the
delivery (a worker killed in between leaves both undone, to be done together). Until
then nothing about the customer is used: not on the risk list, no retention task, no
batch score, no training.

Without a contact address no notice can be sent: the decision lifts the restriction at
once and its audit event says so (`restriction: lifted_no_contact`). A notice that fails
for good (every attempt) does not lift it: the restriction is *held*
(`restriction.lift_held`), and a new contact address set for the customer queues the
notice again (`requeue_held`).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from serving.audit import service as audit
from serving.storage import outbox
from serving.storage.receipts import Receipts, TaskRow
from serving.storage.tables import Customer, Dispute, Prediction, new_id

WORKER = "delivery"  # the audit actor of what the worker does


def lift_after_notice(session: Session, customer_ref: str | None, message_id: str,
                      due_days: int) -> bool:
    """The notice `message_id` was delivered: lift the customer's restriction, in the
    caller's transaction, unless another dispute of theirs was opened meanwhile (its own
    decision will tell them). A task their latest prediction asked for opens now, as it
    would have at the decision (due `due_days` later: Settings.task_due_days). True when
    lifted."""
    if not customer_ref:
        return False
    # lock the customer row first (a dispute being opened waits, or is seen)
    locked = session.execute(update(Customer).where(Customer.customer_ref == customer_ref)
                             .values(restricted=Customer.restricted)
                             .execution_options(synchronize_session=False)).rowcount
    customer = session.get(Customer, customer_ref, populate_existing=True) if locked else None
    if customer is None or not customer.restricted:
        return False
    still_open = session.scalar(select(Dispute.id).where(
        Dispute.customer_ref == customer_ref, Dispute.status == "open").limit(1))
    if still_open is not None:
        return False
    session.execute(update(Customer).where(Customer.customer_ref == customer_ref)
                    .values(restricted=False).execution_options(synchronize_session=False))
    task_id = None
    pred = (session.get(Prediction, customer.latest_prediction_id)
            if customer.latest_prediction_id else None)
    if (pred is not None and not customer.objected and not pred.withdrawn
            and pred.route_action == "human_contact"):
        db = Receipts(session)
        db.open_tasks([TaskRow(new_id(), customer_ref, pred.id, pred.score, pred.route_reason,
                               db.db_time(datetime.now(UTC)),
                               expected_value=pred.expected_value)], due_days)
        task_id = db.open_task_ids([customer_ref]).get(customer_ref)
    audit.append(session, WORKER, audit.RESTRICTION_LIFTED, customer_ref=customer_ref,
                 objects={"message_id": message_id, "notice": "delivered",
                          "task_id": task_id})
    return True


def hold(session: Session, customer_ref: str | None, message_id: str, attempts: int) -> None:
    """The notice could not be delivered, for good: the restriction stays (audited)."""
    audit.append(session, WORKER, audit.RESTRICTION_LIFT_HELD, customer_ref=customer_ref,
                 objects={"message_id": message_id, "attempts": attempts,
                          "why": "the notice could not be delivered; the restriction stays "
                                 "until it is (a new contact address sends it again)"})


def requeue_held(session: Session, customer_ref: str, address: str) -> list[str]:
    """A new contact address: the held notices (failed, lifting a restriction) are queued
    again to it, in the caller's transaction; their ids."""
    return outbox.requeue_failed_lifts(session, customer_ref, address)
