"""The training export: what the next retraining may learn from.

One row per customer: their latest prediction still in use (the values as the model read
them; after a rectification, the corrected values, source `review`) and the outcome of
their latest finished retention contact, if any. Left out: customers whose record is
restricted (an open dispute), who objected to profiling, and withdrawn (overturned)
predictions. Pseudonymised: the customer appears only as `customer_ref`.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from serving.storage.tables import Customer, Prediction, RetentionTask


def training_rows(session: Session, batch: int = 5000) -> Iterator[dict[str, Any]]:
    q = (
        select(Customer.customer_ref, Prediction)
        .join(Prediction, Prediction.id == Customer.latest_prediction_id)
        .where(~Customer.restricted, ~Customer.objected, ~Prediction.withdrawn)
        .order_by(Customer.customer_ref)
        .execution_options(yield_per=batch)
    )
    for ref, p in session.execute(q):
        outcome = session.scalar(
            select(RetentionTask.outcome).where(RetentionTask.customer_ref == ref,
                                                RetentionTask.status == "done")
            .order_by(RetentionTask.completed_at.desc()).limit(1))
        yield {"customer_ref": ref, "prediction_id": p.id, "model_name": p.model_name,
               "model_version": p.model_version, "source": p.source,
               "scored_at": p.created_at.isoformat(), "features": json.loads(p.features),
               "outcome": outcome}


def write_jsonl(session: Session, path: str) -> int:
    n = 0
    with open(path, "w", encoding="utf-8") as out:
        for row in training_rows(session):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            n += 1
    return n
