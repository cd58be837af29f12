"""Uplift targeting (issue 17): with `CHURN_TARGETING=uplift` and a promoted uplift model
(`CHURN_UPLIFT_MODEL_URI`, default `models:/churn-uplift@champion`), a receipt that would
open a retention task opens one only when contact is worth it:

    expected retained value = uplift x CHURN_CUSTOMER_VALUE - CHURN_CONTACT_COST  > 0

where uplift is the estimated churn reduction a contact brings (`models.uplift`). A
customer whom contact is estimated to push away (negative uplift), or to help too little
to pay for the call, is not queued: the receipt is routed nowhere with a reason saying so.
Every receipt drawn into an arm records the rule (`targeting="uplift"`) and its uplift
(control ones too, so the model can be evaluated on the randomised group).

Without a promoted uplift model the rule stays `risk` (logged, and recorded as `risk` on
the receipts: a receipt never claims a rule that was not applied).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from models.uplift import UpliftModel
from serving.routing import Route
from serving.storage.receipts import PredictionRow, TaskRow

log = logging.getLogger(__name__)

NOT_WORTH = Route(
    "none",
    "Contact is estimated not to help this customer stay (expected retained value at or "
    "below zero): no retention contact is proposed.",
)


@dataclass(frozen=True)
class UpliftPlan:
    """The uplift model in force and the value rule's two amounts."""

    model: UpliftModel
    uri: str
    customer_value: float
    contact_cost: float

    def value(self, uplift: np.ndarray) -> np.ndarray:
        """Expected retained value of contacting each customer."""
        return uplift * self.customer_value - self.contact_cost


def load_plan(settings) -> UpliftPlan | None:  # noqa: ANN001
    """The uplift plan when `CHURN_TARGETING=uplift` and the model loads, else None."""
    if settings.targeting != "uplift":
        return None
    import mlflow

    try:
        mlflow.set_tracking_uri(settings.tracking_uri)
        model = mlflow.pyfunc.load_model(settings.uplift_model_uri).unwrap_python_model()
    except Exception as exc:  # noqa: BLE001 - any failure to load means: no uplift model
        log.warning("CHURN_TARGETING=uplift but no uplift model could be loaded from %s "
                    "(%s): the queue stays ranked by risk. Train and promote one with "
                    "`make train-uplift`.", settings.uplift_model_uri,
                    str(exc).splitlines()[0][:200])
        return None
    if not isinstance(model, UpliftModel):
        log.warning("%s is not an uplift model: the queue stays ranked by risk",
                    settings.uplift_model_uri)
        return None
    return UpliftPlan(model=model, uri=settings.uplift_model_uri,
                      customer_value=settings.customer_value,
                      contact_cost=settings.contact_cost)


def apply(plan: UpliftPlan | None, rows: Sequence[PredictionRow], tasks: Sequence[TaskRow]
          ) -> tuple[list[PredictionRow], list[TaskRow]]:
    """Record each drawn receipt's uplift and drop the tasks not worth a contact.

    `plan` None: nothing estimated, and any receipt marked `uplift` by the settings is
    recorded as `risk`, the rule actually applied."""
    rows = list(rows)
    if plan is None:
        return ([r._replace(targeting="risk") if r.targeting == "uplift" else r for r in rows],
                list(tasks))
    drawn = [i for i, r in enumerate(rows) if r.arm in ("contact", "control")]
    if not drawn:
        return rows, list(tasks)
    frame = pd.DataFrame([json.loads(rows[i].features) for i in drawn])
    missing = [f for f in plan.model.spec.feature_names if f not in frame]
    if missing:
        log.warning("the uplift model reads %s, which the churn model's receipts lack: "
                    "the queue stays ranked by risk", missing)
        return apply(None, rows, tasks)
    uplift = plan.model.uplift(frame)
    value = plan.value(uplift)
    dropped = set()
    for i, u, v in zip(drawn, uplift.tolist(), value.tolist(), strict=True):
        row = rows[i]._replace(targeting="uplift", uplift=float(u))
        if row.arm == "contact" and row.route_action == "human_contact" and v <= 0:
            row = row._replace(route_action=NOT_WORTH.action, route_reason=NOT_WORTH.reason)
            dropped.add(row.id)
        rows[i] = row
    return rows, [t for t in tasks if t.prediction_id not in dropped]
